"""The yearly time axis as a first-class step: the same features as the monthly axis at
each December where the definitions agree, months turned into steps, monthly-only features
skipped; carried-forward and event tables; the end year from the data; fractional
(sub-cell) reduction of grids to regions; the population-weighted roll-up."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import features
from features._apply import MONTHS_PER_STEP, steps
from riskmodel.config import load_config
from riskmodel.contract import FREQUENCIES, period_starts
from riskmodel.regions import rollup_to_countries
from riskmodel.sources import build_country_cube, load_inputs
from riskmodel.sources.zonal import Supersampled


def _tables(tmp_path: Path) -> None:
    rows = ["iso3,year,gdp,temp"]
    rows += [f"{c},{y},{g * 1.1 ** (y - 2000)},{0.1 * (y - 2000) + k}"
             for k, (c, g) in enumerate((("KEN", 100.0), ("BRA", 300.0)))
             for y in range(2000, 2011)]
    (tmp_path / "country.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "events.csv").write_text("iso3,year,n\nKEN,2003,2\nKEN,2004,1\n"
                                         "BRA,2008,1\n")
    (tmp_path / "stops.csv").write_text("iso3,year,tier\nKEN,2004,2\nBRA,2004,3\n"
                                        "KEN,2005,3\n")


def _config(tmp_path: Path, frequency: str, end: str = "end_year = 2010") -> str:
    text = f"""
name = "yearly"
[sources]
frequency = "{frequency}"
start_year = 2002
{end}
[sources.inputs.c]
reader = "csv"
path = "{tmp_path / 'country.csv'}"
lag_years = 1
[sources.inputs.c.variables]
gdp_per_capita = {{ column = "gdp", units = "USD" }}
temperature_anomaly = {{ column = "temp", units = "degC" }}
[sources.inputs.e]
reader = "csv"
path = "{tmp_path / 'events.csv'}"
absent_is_zero = true
[sources.inputs.e.variables]
conflict_count = {{ column = "n", units = "1" }}
[sources.inputs.t]
reader = "csv"
path = "{tmp_path / 'stops.csv'}"
carry_forward = "tip_age_years"
[sources.inputs.t.variables]
tip_tier = {{ column = "tier", units = "1" }}
"""
    path = tmp_path / f"{frequency}.toml"
    path.write_text(text)
    return str(path)


def test_frequency_tables_agree() -> None:
    assert FREQUENCIES == MONTHS_PER_STEP
    axis = period_starts(2000, 3, "yearly")
    assert [str(t)[:10] for t in axis] == ["2000-01-01", "2001-01-01", "2002-01-01"]
    with pytest.raises(ValueError, match="unknown frequency"):
        period_starts(2000, 3, "weekly")


def test_months_become_steps() -> None:
    yearly = xr.Dataset(attrs={"frequency": "yearly"})
    monthly = xr.Dataset()
    assert steps(yearly, 12) == 1 and steps(yearly, 36) == 3 and steps(yearly, 24.0) == 2.0
    assert steps(monthly, 12) == 12
    with pytest.raises(ValueError, match="6 months is not a whole number of yearly steps"):
        steps(yearly, 6)


def test_yearly_cube_equals_the_decembers_of_the_monthly_one(tmp_path: Path) -> None:
    _tables(tmp_path)
    yearly = build_country_cube(_config(tmp_path, "yearly"))
    monthly = build_country_cube(_config(tmp_path, "monthly"))
    assert yearly.attrs["frequency"] == "yearly"
    assert monthly.attrs["frequency"] == "yearly (December of each year)"
    assert list(yearly["year"].values) == list(range(2002, 2011))
    # Point-in-time and year-on-year features are the same on both axes.
    for name in ("gdp_growth", "log_gdp_per_capita", "temp_anomaly_degc", "tip_tier",
                 "conflict_active", "conflict_count"):
        np.testing.assert_allclose(yearly[name].values, monthly[name].values, rtol=1e-6,
                                   err_msg=name)
    # A 3-year window is three yearly values (not 36 months straddling four years).
    expected = np.mean([0.1 * (y - 1 - 2000) for y in (2008, 2009, 2010)])
    assert float(yearly["temp_anomaly_3y"].sel(country="KEN", year=2010)) == pytest.approx(
        expected, abs=1e-6)
    skipped = json.loads(yearly.attrs["skipped_features"])
    assert skipped["temp_mean_12m"] == "monthly-only feature skipped on a yearly axis"


def test_event_table_absent_rows_are_zero_within_its_years(tmp_path: Path) -> None:
    _tables(tmp_path)
    cube = build_country_cube(_config(tmp_path, "yearly"))
    n = cube["conflict_count"]
    assert float(n.sel(country="KEN", year=2003)) == 2.0
    assert float(n.sel(country="BRA", year=2003)) == 0.0  # no row: no event
    assert np.isnan(n.sel(country="BRA", year=2002))  # before the file's first year
    assert np.isnan(n.sel(country="KEN", year=2010))  # after its last (2008), no carry
    assert float(cube["years_since_conflict"].sel(country="KEN", year=2006)) == 2.0


def test_carried_source_and_its_age(tmp_path: Path) -> None:
    _tables(tmp_path)
    cube = build_country_cube(_config(tmp_path, "yearly"))
    tier = cube["tip_tier"].sel(country="KEN")
    assert list(tier.sel(year=[2004, 2005, 2006, 2010]).values) == [2, 3, 3, 3]
    # BRA has no 2005 row: its value is not carried from 2004 (only the last year is).
    assert np.isnan(cube["tip_tier"].sel(country="BRA", year=2006))
    age = cube["tip_age_years"].sel(country="KEN")
    assert list(age.sel(year=[2005, 2006, 2010]).values) == [0, 1, 5]


def test_end_year_from_the_data_and_its_lag(tmp_path: Path) -> None:
    _tables(tmp_path)
    cfg = load_config(_config(tmp_path, "yearly", end=""))
    inputs = load_inputs(cfg)
    # country.csv ends in 2010 with a one-year lag: 2011; the carried table does not count.
    years = inputs["time"].dt.year.values
    assert years[0] == 2002 and years[-1] == 2011
    assert float(inputs["gdp_per_capita"].sel(country="KEN").isel(time=-1)) == \
        pytest.approx(100 * 1.1 ** 10, rel=1e-6)
    assert inputs.attrs["frequency"] == "yearly"


def test_monthly_only_features_are_skipped_on_yearly_inputs(tmp_path: Path) -> None:
    _tables(tmp_path)
    inputs = load_inputs(load_config(_config(tmp_path, "yearly")))
    names, skipped = features.plan_features(inputs)
    assert "gdp_growth" in names
    assert all(not features.CATALOGUE[n].monthly_only for n in names)


def _square(x0: float, y0: float, size: float) -> dict:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_supersampled_sums_means_and_small_regions() -> None:
    lat = np.array([0.5, 1.5])
    lon = np.array([0.5, 1.5])
    counts = np.array([[100.0, 40.0], [np.nan, 10.0]])
    # Region 0: the west half of cell (0, 0); region 1: the rest of the two south cells;
    # region 2: a sliver smaller than a sub-cell in cell (1, 1).
    geoms = (_square(0.0, 0.0, 1.0) | {"coordinates": [[[0, 0], [0.5, 0], [0.5, 1],
                                                         [0, 1], [0, 0]]]},
             {"type": "Polygon", "coordinates": [[[0.5, 0], [2, 0], [2, 1], [0.5, 1],
                                                  [0.5, 0]]]},
             _square(1.56, 1.56, 0.03))
    zones = Supersampled(geoms, fine=0.1)
    sums, fallback, given = zones.sums(counts, lat, lon, 3)
    # Cell (0, 0) splits 50/50; cell (0, 1) goes to region 1 whole; cell (1, 1) only
    # touches the sliver, which takes its area share of the cell.
    assert sums[0] == pytest.approx(50.0, rel=1e-3)
    assert sums[1] == pytest.approx(90.0, rel=1e-3)
    assert list(fallback) == [2]
    assert sums[2] == pytest.approx(10.0 * 0.03 ** 2, rel=1e-6)
    assert given == pytest.approx(140.0 / 150.0, rel=1e-6)
    means, fallback = zones.means(counts, lat, lon, 3)
    assert means[0] == pytest.approx(100.0) and means[2] == pytest.approx(10.0)
    assert means[1] == pytest.approx((100.0 + 40.0 * 2) / 3, rel=2e-3)  # area-weighted
    # Countries: zones 0 and 1 together; zone 2 alone.
    sums_c, _, _ = zones.sums(counts, lat, lon, 2, np.array([0, 0, 1]))
    assert sums_c[0] == pytest.approx(140.0, rel=1e-6)


def test_rollup_weights_by_population_and_skips_gaps() -> None:
    values = xr.DataArray([[1.0, 3.0, np.nan, 5.0], [2.0, 2.0, 2.0, np.nan]],
                          dims=("year", "region"),
                          coords={"year": [2000, 2001], "region": ["a", "b", "c", "d"],
                                  "iso3": ("region", ["KEN", "KEN", "KEN", "BRA"])})
    population = xr.DataArray([100.0, 300.0, 50.0, 0.0], dims="region")
    out = rollup_to_countries(values, population)
    assert out.dims == ("year", "country") and list(out["country"].values) == ["BRA", "KEN"]
    assert float(out.sel(year=2000, country="KEN")) == pytest.approx((100 + 900) / 400)
    assert float(out.sel(year=2001, country="KEN")) == pytest.approx(2.0)
    assert np.isnan(out.sel(year=2000, country="BRA"))  # its only region has no people
    with pytest.raises(ValueError, match="no iso3 coordinate"):
        rollup_to_countries(values.drop_vars("iso3"), population)
