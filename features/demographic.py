"""Demographic features: where people, children and vulnerable groups live and move.

The vulnerable populations the field names each have a feature where the inputs allow:
young children (5-11), children in crisis areas, migrants, displaced people and refugees,
seasonal (agricultural) workers.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

import kernels
from features._apply import along_time, as_cube, full_grid, steps, to_grid
from features.catalogue import feature

EARTH_KM_PER_DEG = 111.32


def cell_area_km2(inputs: xr.Dataset) -> xr.DataArray:
    """Area of each grid cell in km^2 (spherical earth), (lat, lon)."""
    dlat = float(abs(inputs["lat"].diff("lat").mean())) if inputs.sizes["lat"] > 1 else 1.0
    dlon = float(abs(inputs["lon"].diff("lon").mean())) if inputs.sizes["lon"] > 1 else dlat
    coslat = xr.ufuncs.cos(xr.ufuncs.deg2rad(inputs["lat"]))
    return (EARTH_KM_PER_DEG ** 2 * dlat * dlon * coslat * xr.ones_like(inputs["lon"]))


@feature("log_population_density", domain="demographic", inputs=("population",),
         kernels=(), units="log(1 km-2)", grid_only=True,
         meaning="natural log of 1 + persons per km^2")
def log_population_density(inputs: xr.Dataset) -> xr.DataArray:
    dens = inputs["population"] / cell_area_km2(inputs)
    return full_grid(xr.ufuncs.log1p(dens).transpose("lat", "lon").astype(np.float32), inputs)


@feature("child_share", domain="demographic", inputs=("child_share",), kernels=(),
         units="1", meaning="share of the population aged 5-17")
def child_share(inputs: xr.Dataset) -> xr.DataArray:
    return full_grid(inputs["child_share"], inputs)


@feature("young_child_share", domain="demographic", inputs=("young_child_share",),
         kernels=(), units="1",
         meaning="share of the population aged 5-11 (the largest group in child labour)")
def young_child_share(inputs: xr.Dataset) -> xr.DataArray:
    return full_grid(inputs["young_child_share"], inputs)


@feature("migrant_share", domain="demographic", inputs=("migrant_share",), kernels=(),
         units="1", meaning="share of the population who are recent migrants")
def migrant_share(inputs: xr.Dataset) -> xr.DataArray:
    return as_cube(inputs["migrant_share"], inputs)


@feature("migrant_change_12", domain="demographic", inputs=("migrant_share",), kernels=("lag",),
         units="1", months=12, meaning="change in the migrant share over 12 months")
def migrant_change_12(inputs: xr.Dataset, months: int) -> xr.DataArray:
    m = inputs["migrant_share"]
    return as_cube(m - along_time(kernels.lag, m, k=steps(inputs, months)), inputs)


@feature("displaced_share", domain="demographic", inputs=("displaced_share",), kernels=(),
         units="1", meaning="share of the population displaced or refugees")
def displaced_share(inputs: xr.Dataset) -> xr.DataArray:
    return as_cube(inputs["displaced_share"], inputs)


@feature("displaced_change_12", domain="demographic", inputs=("displaced_share",),
         kernels=("lag",), units="1", months=12,
         meaning="change in the displaced share over 12 months (recent displacement)")
def displaced_change_12(inputs: xr.Dataset, months: int) -> xr.DataArray:
    d = inputs["displaced_share"]
    return as_cube(d - along_time(kernels.lag, d, k=steps(inputs, months)), inputs)


@feature("children_in_crisis", domain="demographic", inputs=("crisis", "child_share"),
         kernels=("event_decay",), units="1", half_life=12,
         meaning="child share times a decayed count of crisis months in the admin-1 unit "
                 "(children in crisis and conflict areas)")
def children_in_crisis(inputs: xr.Dataset, half_life: float) -> xr.DataArray:
    hl = steps(inputs, half_life)
    decayed = along_time(lambda a: kernels.event_decay(a, hl)[0], inputs["crisis"])
    return as_cube(to_grid(decayed, inputs) * inputs["child_share"], inputs)


@feature("seasonal_agri_work", domain="demographic", inputs=("crop_share",), kernels=(),
         units="1", monthly_only=True, harvest_months=(9, 10, 11),
         meaning="export-crop share in harvest months, 0 otherwise (seasonal agricultural "
                 "work; harvest months from config)")
def seasonal_agri_work(inputs: xr.Dataset, harvest_months: tuple[int, ...]) -> xr.DataArray:
    in_season = inputs["time"].dt.month.isin(list(harvest_months)).astype(np.float32)
    return as_cube(in_season * inputs["crop_share"], inputs)


@feature("child_share_0_14", domain="demographic", inputs=("child_share_0_14",),
         kernels=("broadcast_regions",), units="1",
         meaning="share of the population aged 0-14 (a young population)")
def child_share_0_14(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["child_share_0_14"], inputs)


@feature("rural_share", domain="demographic", inputs=("rural_share",),
         kernels=("broadcast_regions",), units="1",
         meaning="share of the population living in rural areas")
def rural_share(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["rural_share"], inputs)


@feature("log_population", domain="demographic", inputs=("population_total",),
         kernels=("broadcast_regions",), units="log(1)",
         meaning="natural log of the region's total population")
def log_population(inputs: xr.Dataset) -> xr.DataArray:
    pop = inputs["population_total"]
    return to_grid(xr.ufuncs.log(pop.where(pop > 0)), inputs)


def _per_capita(inputs: xr.Dataset, count: str) -> xr.DataArray:
    pop = inputs["population_total"]
    return inputs[count] / pop.where(pop > 0)


@feature("refugee_share", domain="demographic", inputs=("refugees_hosted", "population_total"),
         kernels=("broadcast_regions",), units="1",
         meaning="refugees hosted (by country of asylum) per resident")
def refugee_share(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(_per_capita(inputs, "refugees_hosted"), inputs)


@feature("refugee_change_12", domain="demographic",
         inputs=("refugees_hosted", "population_total"), kernels=("lag",), units="1", months=12,
         meaning="change in refugees hosted per resident over 12 months (new arrivals)")
def refugee_change_12(inputs: xr.Dataset, months: int) -> xr.DataArray:
    share = _per_capita(inputs, "refugees_hosted")
    return to_grid(share - along_time(kernels.lag, share, k=steps(inputs, months)), inputs)


@feature("displaced_abroad_share", domain="demographic",
         inputs=("refugees_originating", "population_total"), kernels=("broadcast_regions",),
         units="1",
         meaning="refugees originating from the country per resident (people displaced by "
                 "crisis or conflict)")
def displaced_abroad_share(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(_per_capita(inputs, "refugees_originating"), inputs)


@feature("displaced_abroad_change_12", domain="demographic",
         inputs=("refugees_originating", "population_total"), kernels=("lag",), units="1",
         months=12,
         meaning="change in refugees originating from the country per resident over 12 "
                 "months (recent flight)")
def displaced_abroad_change_12(inputs: xr.Dataset, months: int) -> xr.DataArray:
    share = _per_capita(inputs, "refugees_originating")
    return to_grid(share - along_time(kernels.lag, share, k=steps(inputs, months)), inputs)


@feature("women_vulnerable_employment", domain="demographic",
         inputs=("vulnerable_employment_female",), kernels=("broadcast_regions",), units="1",
         meaning="share of employed women in vulnerable (own-account or family) work "
                 "(women and girls)")
def women_vulnerable_employment(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["vulnerable_employment_female"], inputs)


@feature("women_family_work", domain="demographic", inputs=("family_work_female",),
         kernels=("broadcast_regions",), units="1",
         meaning="share of employed women who are unpaid contributing family workers "
                 "(women and girls; the family work where most child labour happens)")
def women_family_work(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["family_work_female"], inputs)


@feature("women_agri_work", domain="demographic", inputs=("agri_employment_female",),
         kernels=("broadcast_regions",), units="1",
         meaning="share of employed women working in agriculture (women and girls; seasonal "
                 "agricultural work)")
def women_agri_work(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["agri_employment_female"], inputs)
