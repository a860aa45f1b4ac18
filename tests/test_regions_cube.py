"""The region-year and country-year cubes of configs/real.toml: layout and CF attributes,
identical features at both levels, values traced to the source files with their
publication lags, carried sources with their age, UCDP's absent rows as no conflict, GPW
totals conserved over the polygons, coverage facts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from features.catalogue import CATALOGUE
from riskmodel.datasets import dataset_path
from riskmodel.regions import (build_region_cube, coverage_facts, regions_without_features,
                               rollup_to_countries)
from riskmodel.sources import Notices

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "real.toml"


@pytest.fixture(scope="module")
def built() -> tuple[xr.Dataset, Notices]:
    notices = Notices()
    return build_region_cube(CONFIG, notices=notices), notices


@pytest.fixture(scope="module")
def cube(built: tuple[xr.Dataset, Notices]) -> xr.Dataset:
    return built[0]


@pytest.fixture(scope="module")
def countries() -> xr.Dataset:
    return build_region_cube(CONFIG, level="country")


def _rows(relative: str) -> list[dict[str, str]]:
    with open(dataset_path(relative), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_layout_and_attributes(cube: xr.Dataset, countries: xr.Dataset) -> None:
    assert cube.sizes == {"year": 32, "region": 1755}
    assert cube["year"].dtype == np.int32
    assert list(cube["year"].values) == list(range(1995, 2027))  # WDI 2025 + its lag
    codes = [str(c) for c in cube["region"].values]
    assert codes == sorted(codes)
    assert str(cube["iso3"].sel(region="KENr101").values) == "KEN"
    assert str(cube["region_name"].sel(region="KENr101").values) == "Nairobi"
    names = json.loads(cube.attrs["feature_names"])
    assert list(cube.data_vars) == [*names, "population"]
    assert len(names) >= 50
    for name in names:
        da = cube[name]
        assert da.dims == ("year", "region") and da.dtype == np.float32, name
        assert da.attrs["units"] == CATALOGUE[name].units, name
        assert da.attrs["long_name"] == CATALOGUE[name].meaning, name
    assert cube["population"].dtype == np.float32 and cube["population"].attrs["units"] == "1"
    assert cube.attrs["frequency"] == "yearly" and cube.attrs["level"] == "region"
    sources = json.loads(cube.attrs["sources"])
    assert {"gdl", "gdl_regions", "gpw", "wdi", "ucdp", "tip", "ilab", "era5",
            "hadcrut4"} <= set(sources)
    assert all(len(s["sha256"]) == 64 for s in sources.values())
    skipped = json.loads(cube.attrs["skipped_features"])
    assert skipped["spi_3"] == "monthly-only feature skipped on a yearly axis"
    assert skipped["years_since_C138"] == "excluded by sources.exclude_features"
    # The country cube has the same columns, per ISO alpha-3 country.
    assert list(countries.data_vars) == list(cube.data_vars)
    assert countries["hdi"].dims == ("year", "country")
    assert countries.sizes["country"] >= 200 and "XKX" in countries["country"].values


def test_gdl_values_with_lag_and_carried_with_age(cube: xr.Dataset,
                                                  countries: xr.Dataset) -> None:
    gdl = {(r["gdlcode"], int(r["year"])): r for r in
           _rows("gdl_subnational/gdl_indicators.csv")}
    # GDL is read with a one-year lag: the cube's year Y holds GDL's Y - 1.
    for year in (1995, 2005, 2020):
        row = gdl["KENr101", year - 1]
        got = cube.sel(region="KENr101", year=year)
        assert float(got["hdi"]) == pytest.approx(float(row["shdi"]), abs=1e-6)
        assert float(got["schooling_mean_years"]) == pytest.approx(float(row["msch"]),
                                                                   abs=1e-6)
        assert float(got["log_gni_per_capita"]) == pytest.approx(float(row["lgnic"]),
                                                                 abs=1e-5)
        nat = gdl["KENt", year - 1]
        assert float(countries["hdi"].sel(country="KEN", year=year)) == pytest.approx(
            float(nat["shdi"]), abs=1e-6)
    # 2019 is GDL's last year: held from 2020 on, with its age.
    later = cube.sel(region="KENr101", year=slice(2020, 2026))
    assert (later["hdi"] == later["hdi"].isel(year=0)).all()
    assert list(later["gdl_age_years"].values) == [0, 1, 2, 3, 4, 5, 6]
    assert float(cube["population"].sel(region="KENr101", year=2020)) == pytest.approx(
        float(gdl["KENr101", 2019]["pop"]) * 1000, rel=1e-6)
    # Past 2019 the population grows with Kenya's (WDI) population.
    wdi = {(r["iso3"], int(r["year"])): float(r["population"])
           for r in _rows("wdi_covariates/covariates.csv") if r["population"]}
    ratio = (float(cube["population"].sel(region="KENr101", year=2026))
             / float(cube["population"].sel(region="KENr101", year=2020)))
    assert ratio == pytest.approx(wdi["KEN", 2025] / wdi["KEN", 2019], rel=1e-5)


def test_country_tables_repeat_over_regions(cube: xr.Dataset, countries: xr.Dataset) -> None:
    kenya = cube.sel(region=cube["iso3"] == "KEN")
    assert kenya.sizes["region"] == 8  # GDL's Kenyan regions are the former provinces
    for name in ("gdp_growth", "tip_tier", "conflict_active", "refugee_share"):
        values = kenya[name].sel(year=2010).values
        assert np.all(values == values[0]), name
        assert values[0] == countries[name].sel(country="KEN", year=2010), name


def test_ucdp_absent_rows_are_no_conflict(cube: xr.Dataset, countries: xr.Dataset) -> None:
    ucdp = {(r["iso3"], int(r["year"])) for r in _rows("ucdp_armed_conflict/ucdp_country_year.csv")}
    assert ("CHE", 2009) not in ucdp and ("COL", 2009) in ucdp
    c = countries.sel(year=2010)  # UCDP's lag: 2010 holds 2009
    assert float(c["conflict_active"].sel(country="CHE")) == 0.0
    assert float(c["conflict_active"].sel(country="COL")) == 1.0
    assert float(c["conflict_count"].sel(country="CHE")) == 0.0
    # Switzerland: no conflict in UCDP's record, 1946 to 2009 (what 2010 reads): 64 years,
    # a lower bound.
    assert float(c["years_since_conflict"].sel(country="CHE")) == 2009 - 1946 + 1
    assert float(c["years_since_conflict"].sel(country="COL")) == 0.0
    assert not np.isnan(cube["conflict_active"].sel(year=2026)).any()
    assert list(countries["ucdp_age_years"].sel(country="COL", year=[2025, 2026]).values) == [0, 1]


def test_tip_without_lag_and_carried(countries: xr.Dataset) -> None:
    tip = {(r["iso3"], int(r["report_year"])): r["tier_rank"]
           for r in _rows("usdos_tip_tiers/tip_tiers_2001_2015.csv")}
    assert float(countries["tip_tier"].sel(country="THA", year=2014)) == float(tip["THA", 2014])
    assert float(countries["tip_tier"].sel(country="THA", year=2020)) == float(tip["THA", 2015])
    assert float(countries["tip_age_years"].sel(country="THA", year=2020)) == 5.0


def test_gpw_total_is_conserved_over_the_polygons(built: tuple[xr.Dataset, Notices]) -> None:
    cube, notices = built
    with xr.open_dataset(dataset_path("gpw_population_1deg/gpw_v4_population_count_rev11_"
                                      "2020_1_deg.nc")) as ds:
        total = float(np.nansum(ds["population_count"].values))
    text = "\n".join(notices.lines)
    assert "population_gpw: 99.88% of the grid's total lies in the region polygons" in text
    assert "4 region(s) contain no 0.1-degree sub-cell centre" in text
    assert "repaired 60 feature(s)" in text
    assert total == pytest.approx(7_969_444_595, rel=1e-9)  # SOURCE.md's check value


def test_gpw_density_and_population_agree(cube: xr.Dataset) -> None:
    year = cube.sel(year=2021)
    density = np.expm1(year["log_density_gpw2020"].values.astype(np.float64))
    assert np.isfinite(density).all()
    dens_gdl = np.expm1(year["log_density"].values.astype(np.float64))
    ok = np.isfinite(dens_gdl)
    # GDL's and GPW's densities are the same order of magnitude in most regions.
    ratio = np.log10((dens_gdl[ok] + 1) / (density[ok] + 1))
    assert np.median(np.abs(ratio)) < 0.3


def test_coverage_and_regions_without_features(cube: xr.Dataset) -> None:
    facts = coverage_facts(cube)
    assert facts["year"] == 2026 and facts["units"] == 1755
    assert facts["units_with_features"] == 1755 and facts["countries_with_features"] == 185
    assert facts["regions_without_features"] == []
    gdl = facts["unmatched_region_codes"]["gdl"]
    assert len(gdl["codes_without_polygon"]) == 62 and "FJIr101" in gdl["codes_without_polygon"]
    assert gdl["polygons_without_rows"] == ["CHNr132", "CHNr133", "GEOr112", "GRLt", "MLTt",
                                            "PRIr101", "PRIr102", "PRIr103", "PRIr104",
                                            "PRIr105", "PRIr106", "PRKt"]
    assert (cube["population"].notnull()).all()  # every region-year has its weight
    assert json.loads(cube.attrs["regions_without_features"]) == []
    blank = cube.copy(deep=True)
    names = json.loads(cube.attrs["feature_names"])
    for n in names:
        blank[n].loc[{"region": "KENr101", "year": 2026}] = np.nan
    (missing,) = regions_without_features(blank)
    assert missing["region"] == "KENr101" and missing["iso3"] == "KEN"
    assert "KEN" in missing["reason"]
    assert coverage_facts(blank)["units_with_features"] == 1754


def test_rollup_of_region_population_matches_the_country(cube: xr.Dataset) -> None:
    # The population-weighted mean of a country-wide value is that value.
    gdp = cube["gdp_growth"].sel(year=2012)
    rolled = rollup_to_countries(gdp, cube["population"].sel(year=2012))
    assert float(rolled.sel(country="KEN")) == pytest.approx(
        float(gdp.sel(region="KENr101")), rel=1e-6)
    hdi = rollup_to_countries(cube["hdi"], cube["population"])
    assert hdi.dims == ("year", "country")
    assert 0.5 < float(hdi.sel(country="KEN", year=2015)) < 0.65


def test_one_reading_of_the_polygons_serves_both_cubes(countries: xr.Dataset,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A night reads the polygons once and hands the `RegionSet` to both cube builds:
    the cube is the one built from its own reading, notices included."""
    import dataclasses

    from riskmodel.config import load_config
    from riskmodel.errors import ConfigError
    from riskmodel.regions import region_set
    from riskmodel.regions import inputs as region_inputs_module

    cfg = load_config(CONFIG)
    regions = region_set(cfg)
    assert any("repaired" in line for line in regions.notices)

    def no_second_reading(*_: object, **__: object) -> None:
        raise AssertionError("the polygons were read again")

    monkeypatch.setattr(region_inputs_module, "region_set", no_second_reading)
    again = build_region_cube(cfg, level="country", regions=regions)
    xr.testing.assert_identical(again, countries)
    moved = dataclasses.replace(regions, path=Path("/elsewhere/regions.geojson"))
    with pytest.raises(ConfigError, match="not from this config's"):
        build_region_cube(cfg, level="country", regions=moved)
