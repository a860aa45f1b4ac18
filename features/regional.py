"""Features of the real-world region cube (`riskmodel.regions`): sub-national development,
population and density, armed conflict, further WDI economy and labour series, and the age
of sources carried past their last year.

Each reads canonical inputs that the region assembly provides on (time, region) or, for
the country-level cube, on (time, country), so the same feature has the same name and
meaning at both levels (country tables are repeated over a country's regions). Inputs
named here exist only in real data; none is a synthetic-world variable, so a synthetic
cube skips them all.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

import kernels
from features._apply import MONTHS_PER_STEP, along_time, frequency, full_grid, steps, to_grid
from features.catalogue import Domain, feature


def _years(inputs: xr.Dataset, n_steps: xr.DataArray) -> xr.DataArray:
    """Time steps as years."""
    return n_steps / (12.0 / MONTHS_PER_STEP[frequency(inputs)])


def _positive_log(da: xr.DataArray) -> xr.DataArray:
    return xr.ufuncs.log(da.where(da > 0))


# Sub-national development (Global Data Lab SHDI; the national HDI at country level).

@feature("hdi", domain="economic", inputs=("hdi",), kernels=(), units="1",
         meaning="Human Development Index of the region (GDL sub-national HDI; the national "
                 "HDI for a country), 0-1")
def hdi(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["hdi"], inputs)


@feature("log_gni_per_capita", domain="economic", inputs=("log_gni_per_capita",),
         kernels=(), units="log(USD)",
         meaning="natural log of GNI per capita of the region, 2011 PPP US dollars (GDL)")
def log_gni_per_capita(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["log_gni_per_capita"], inputs)


@feature("schooling_mean_years", domain="demographic", inputs=("schooling_mean",),
         kernels=(), units="year",
         meaning="mean years of schooling of adults aged 25+ in the region (GDL)")
def schooling_mean_years(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["schooling_mean"], inputs)


@feature("schooling_expected_years", domain="demographic", inputs=("schooling_expected",),
         kernels=(), units="year",
         meaning="expected years of schooling of a child aged 6 in the region (GDL; low = "
                 "children leave school early)")
def schooling_expected_years(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["schooling_expected"], inputs)


# Population of the unit (region or country), its growth and density.

@feature("log_unit_population", domain="demographic", inputs=("population_unit",),
         kernels=(), units="log(1)",
         meaning="natural log of the unit's population (persons in the region, or the "
                 "country at country level; scales with the unit's size)")
def log_unit_population(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(_positive_log(inputs["population_unit"]), inputs)


@feature("population_growth", domain="demographic", inputs=("population_unit",),
         kernels=("lag",), units="1", months=12,
         meaning="year-on-year log change of the unit's population")
def population_growth(inputs: xr.Dataset, months: int) -> xr.DataArray:
    logged = _positive_log(inputs["population_unit"])
    return to_grid(logged - along_time(kernels.lag, logged, k=steps(inputs, months)), inputs)


@feature("log_density", domain="demographic", inputs=("population_unit", "area_km2"),
         kernels=(), units="log(1 km-2)",
         meaning="natural log of 1 + persons per km^2 of the unit (its population over its "
                 "polygons' area)")
def log_density(inputs: xr.Dataset) -> xr.DataArray:
    area = inputs["area_km2"]
    dens = inputs["population_unit"] / area.where(area > 0)
    return to_grid(xr.ufuncs.log1p(dens), inputs)


@feature("log_density_gpw2020", domain="demographic", inputs=("population_gpw", "area_km2"),
         kernels=("rasterize_polygons", "zonal_stats"), units="log(1 km-2)",
         meaning="natural log of 1 + persons per km^2 in 2020 from the GPW 1-degree grid "
                 "summed over the unit's polygons (static; a unit smaller than a cell gets "
                 "the cell's mean density)")
def log_density_gpw2020(inputs: xr.Dataset) -> xr.DataArray:
    area = inputs["area_km2"]
    dens = xr.ufuncs.log1p(inputs["population_gpw"] / area.where(area > 0))
    return full_grid(to_grid(dens, inputs), inputs)


# Armed conflict (UCDP/PRIO, located at the government side: a country-level signal).

@feature("conflict_active", domain="demographic", inputs=("conflict_count",), kernels=(),
         units="1",
         meaning="an active state-based armed conflict (>= 25 battle deaths) located in the "
                 "country this year (0/1; UCDP/PRIO; children in crisis and conflict areas)")
def conflict_active(inputs: xr.Dataset) -> xr.DataArray:
    n = inputs["conflict_count"]
    return to_grid((n > 0).astype(np.float32).where(n.notnull()), inputs)


@feature("conflict_count", domain="demographic", inputs=("conflict_count",), kernels=(),
         units="1", meaning="number of active state-based armed conflicts in the country")
def conflict_count(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["conflict_count"], inputs)


@feature("conflict_intensity", domain="demographic", inputs=("conflict_intensity",),
         kernels=(), units="1",
         meaning="highest conflict intensity in the country: 0 none, 1 minor (25-999 battle "
                 "deaths), 2 war (>= 1,000)")
def conflict_intensity(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["conflict_intensity"], inputs)


@feature("years_since_conflict", domain="demographic", inputs=("conflict_count",),
         kernels=("event_decay",), units="year",
         meaning="years since the last year with an active armed conflict in the country "
                 "(0 during one); with none since the record starts, the years since then "
                 "(a lower bound)")
def years_since_conflict(inputs: xr.Dataset) -> xr.DataArray:
    n = inputs["conflict_count"]
    since = along_time(lambda a: kernels.event_decay(a, np.inf)[1], n)
    # No conflict yet on record: the steps the record has covered so far (a lower bound).
    elapsed = n.notnull().astype(np.float32).cumsum("time")
    since = since.fillna(elapsed).where(n.notnull())
    return to_grid(_years(inputs, since), inputs)


@feature("children_in_conflict", domain="demographic",
         inputs=("child_share_0_14", "conflict_count"), kernels=(), units="1",
         meaning="share of the population aged 0-14 where the country has an active armed "
                 "conflict, 0 otherwise (children in crisis and conflict areas)")
def children_in_conflict(inputs: xr.Dataset) -> xr.DataArray:
    n = inputs["conflict_count"]
    active = (n > 0).astype(np.float32).where(n.notnull())
    return to_grid(active * inputs["child_share_0_14"], inputs)


# Further economy, labour and schooling series (WDI, per country).

def _register_share(name: str, var: str, domain: Domain, units: str, meaning: str) -> None:
    @feature(name, domain=domain, inputs=(var,), kernels=("broadcast_regions",), units=units,
             meaning=meaning)
    def share(inputs: xr.Dataset) -> xr.DataArray:
        return to_grid(inputs[var], inputs)


for _name, _var, _domain, _units, _meaning in (
    ("fertility_rate", "fertility", "demographic", "1",
     "births per woman (total fertility rate)"),
    ("under5_mortality", "under5_mortality", "demographic", "1",
     "deaths before age 5 per live birth"),
    ("gini_index", "gini", "economic", "1", "Gini index of income inequality, 0-1"),
    ("primary_enrolment_net", "primary_enrolment", "economic", "1",
     "net primary school enrolment rate (low = children out of school)"),
    ("birth_registration", "birth_registration", "demographic", "1",
     "completeness of birth registration (unregistered children are easier to exploit and "
     "to traffic)"),
    ("agricultural_land_share", "agricultural_land", "economic", "1",
     "agricultural land as a share of land area"),
):
    _register_share(_name, _var, _domain, _units, _meaning)


@feature("out_of_school_per_child", domain="demographic",
         inputs=("out_of_school_female", "out_of_school_male", "population_total",
                 "child_share_0_14"), kernels=(), units="1",
         meaning="children of primary-school age out of school per child aged 0-14 in the "
                 "country")
def out_of_school_per_child(inputs: xr.Dataset) -> xr.DataArray:
    kids = inputs["population_total"] * inputs["child_share_0_14"]
    out = inputs["out_of_school_female"] + inputs["out_of_school_male"]
    return to_grid(out / kids.where(kids > 0), inputs)


@feature("girls_out_of_school_share", domain="demographic",
         inputs=("out_of_school_female", "out_of_school_male"), kernels=(), units="1",
         meaning="girls' share of the children of primary-school age out of school (women "
                 "and girls)")
def girls_out_of_school_share(inputs: xr.Dataset) -> xr.DataArray:
    total = inputs["out_of_school_female"] + inputs["out_of_school_male"]
    return to_grid(inputs["out_of_school_female"] / total.where(total > 0), inputs)


@feature("women_vulnerable_gap", domain="demographic",
         inputs=("vulnerable_employment_female", "vulnerable_employment_male"), kernels=(),
         units="1",
         meaning="share of employed women in vulnerable work minus that of men (women and "
                 "girls)")
def women_vulnerable_gap(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["vulnerable_employment_female"]
                   - inputs["vulnerable_employment_male"], inputs)


# The age of sources carried past their last year (`carry_forward` in [sources]).

def _register_age(name: str, domain: Domain, what: str) -> None:
    @feature(name, domain=domain, inputs=(name,), kernels=(), units="year",
             meaning=f"years the oldest carried {what} value is behind: values are held "
                     f"past their last year (0 while the source is current)")
    def age(inputs: xr.Dataset) -> xr.DataArray:
        return to_grid(inputs[name], inputs)


for _name, _domain, _what in (
    ("gdl_age_years", "economic", "GDL sub-national development"),
    ("refugee_data_age_years", "demographic", "WDI refugee"),
    ("wdi_social_age_years", "demographic", "WDI fertility, mortality, enrolment, birth "
                                            "registration and land"),
    ("ucdp_age_years", "demographic", "UCDP conflict"),
    ("tip_age_years", "supervisory", "TIP tier"),
    ("ilab_age_years", "supervisory", "ILAB assessment"),
    ("era5_age_years", "climatic", "ERA5 temperature anomaly"),
):
    _register_age(_name, _domain, _what)
