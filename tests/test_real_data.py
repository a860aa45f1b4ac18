"""The real-data country-year cube (configs/real-countries.toml): shapes, codes, units,
features from all four domains, values traced back to the source files, gaps kept NaN,
and the HadCRUT4 grid's country means checked against a hand computation."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from shapely.geometry import Point, shape

from features.catalogue import CATALOGUE, DOMAINS
from riskmodel.datasets import dataset_path
from riskmodel.sources import Notices, build_country_cube
from riskmodel.sources.codes import is_country_code

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "real-countries.toml"


@pytest.fixture(scope="module")
def built() -> tuple[xr.Dataset, Notices]:
    notices = Notices()
    return build_country_cube(CONFIG, notices), notices


@pytest.fixture(scope="module")
def cube(built: tuple[xr.Dataset, Notices]) -> xr.Dataset:
    return built[0]


def _rows(relative: str) -> list[dict[str, str]]:
    with open(dataset_path(relative), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_shape_codes_and_units(cube: xr.Dataset) -> None:
    assert list(cube["year"].values) == list(range(1995, 2023))
    codes = [str(c) for c in cube["country"].values]
    assert codes == sorted(set(codes)) and all(is_country_code(c) for c in codes)
    assert {"USA", "FRA", "NOR", "KEN", "BRA", "XKX", "AFG"} <= set(codes)
    assert "CHI" not in codes and "-99" not in codes
    assert len(cube.data_vars) >= 25
    for name, da in cube.data_vars.items():
        assert da.dims == ("year", "country"), name
        assert da.dtype == np.float32, name
        assert da.attrs["units"] == CATALOGUE[name].units, name
        assert da.attrs["long_name"] == CATALOGUE[name].meaning, name
    domains = {da.attrs["domain"] for da in cube.data_vars.values()}
    assert domains == set(DOMAINS)
    assert cube.attrs["synthetic"] == 0 and cube.attrs["mode"] == "region"
    sources = json.loads(cube.attrs["sources"])
    assert set(sources) == {"natural_earth", "hadcrut4", "wdi", "era5", "tip", "ilab"}
    assert all(s["path"].startswith("dataset:") and len(s["sha256"]) == 64
               for s in sources.values())


def test_notices_name_skips_and_gaps(built: tuple[xr.Dataset, Notices]) -> None:
    cube, notices = built
    text = "\n".join(notices.lines)
    assert "CHI" in text and "Somaliland" in text
    assert "poverty_rate" in text and "gaps (kept NaN)" in text
    skipped = json.loads(cube.attrs["skipped_features"])
    assert skipped["drought_spatial_lag"] == "grid-only feature skipped in region mode"
    assert skipped["years_since_C138"] == "excluded by sources.exclude_features"


def test_values_trace_to_the_sources_and_gaps_stay_nan(cube: xr.Dataset) -> None:
    # WDI is read with a one-year publication lag: the cube's year Y holds WDI's Y - 1.
    poverty = cube["poverty_rate"].to_series().to_dict()  # (year, country) -> value
    checked = empty = 0
    for r in _rows("wdi_covariates/covariates.csv"):
        year = int(r["year"]) + 1
        if r["iso3"] == "CHI" or not 1995 <= year <= 2022:
            continue
        got = float(poverty[year, r["iso3"]])
        raw = r["poverty_headcount_3usd_2021ppp_pct"]
        if raw == "":
            assert np.isnan(got), (r["iso3"], year)
            empty += 1
        else:
            assert got == pytest.approx(float(raw) / 100, rel=1e-6)
            checked += 1
    assert checked > 1000 and empty > 1000
    # The TIP series ends with the 2015 report (no lag): later years are gaps, not Tier 0.
    assert cube["tip_tier"].sel(year=slice(2016, None)).isnull().all()
    tip = {(r["iso3"], int(r["report_year"])): r["tier_rank"]
           for r in _rows("usdos_tip_tiers/tip_tiers_2001_2015.csv")}
    assert float(cube["tip_tier"].sel(country="THA", year=2014)) == 4 == int(tip["THA", 2014])
    assert float(cube["tip_watchlist"].sel(country="MYS", year=2015)) == 1
    assert np.isnan(cube["tip_tier"].sel(country="AFG", year=2001))  # unranked that year
    # OWID's own check value (SOURCE.md): Afghanistan 2021 = 1.4529 degC.
    assert float(cube["temp_anomaly_degc"].sel(country="AFG", year=2021)) == pytest.approx(
        1.4529, abs=1e-4)
    # ILAB's 2016 findings ("Moderate Advancement" for AFG) appear in 2017.
    assert np.isnan(cube["cl_advancement"].sel(country="AFG", year=2016))
    assert float(cube["cl_advancement"].sel(country="AFG", year=2017)) == 2
    # Growth is a year-on-year log change of the (lagged) WDI series.
    wdi = {(r["iso3"], r["year"]): r["gdp_pc_current_usd"]
           for r in _rows("wdi_covariates/covariates.csv")}
    expected = np.log(float(wdi["USA", "2009"]) / float(wdi["USA", "2008"]))
    usa = cube["gdp_growth"].sel(country="USA", year=2010)
    assert float(usa) == pytest.approx(expected, abs=1e-5)


def _hand_country_mean(code: str) -> float:
    """cos(lat)-weighted mean over the HadCRUT4 cells whose centre lies in the country."""
    geo = json.loads(dataset_path("natural_earth_110m/ne_110m_admin_0_countries.geojson")
                     .read_text())
    (geom,) = [shape(f["geometry"]) for f in geo["features"]
               if f["properties"]["ISO_A3_EH"] == code]
    with xr.open_dataset(dataset_path("hadcrut4_ltm_grid/hadcrut4_air_mon_ltm.nc"),
                         decode_times=False) as ds:
        air = ds["air"].values.astype(np.float64)
        lat, lon = ds["lat"].values.astype(float), ds["lon"].values.astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        annual = np.nanmean(air, axis=0)
    num = den = 0.0
    for i, la in enumerate(lat):
        for j, lo in enumerate(lon):
            if np.isfinite(annual[i, j]) and geom.contains(Point(lo, la)):
                w = np.cos(np.deg2rad(la))
                num += w * annual[i, j]
                den += w
    return num / den if den else float("nan")


@pytest.mark.parametrize("code", ["AUS", "BRA", "CAN", "KAZ", "COD"])
def test_hadcrut_country_mean_matches_hand_computation(cube: xr.Dataset, code: str) -> None:
    expected = _hand_country_mean(code)
    assert np.isfinite(expected)
    got = cube["recent_warming"].sel(country=code)
    assert (got == got.isel(year=0)).all()  # a climatology: the same every year
    assert float(got.isel(year=0)) == pytest.approx(expected, rel=1e-5)


def test_small_countries_without_a_cell_stay_nan(cube: xr.Dataset) -> None:
    # Luxembourg has no 5-degree cell centre inside it (and Singapore no polygon at 1:110m).
    assert np.isnan(_hand_country_mean("LUX"))
    assert cube["recent_warming"].sel(country="LUX").isnull().all()
    assert cube["recent_warming"].sel(country="SGP").isnull().all()


def test_docs_example_runs() -> None:
    page = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    (code,) = [block.split("```", 1)[0] for block in page.split("```python\n")[1:]]
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/features.md", "exec"), namespace)  # noqa: S102 - our own doc
    cube = namespace["cube"]
    assert isinstance(cube, xr.Dataset)
    assert float(cube["tip_tier"].sel(country="THA", year=2014)) == 4.0
