"""Demographic features: where people, children and vulnerable groups live and move.

The vulnerable populations the field names each have a feature where the inputs allow:
young children (5-11), children in crisis areas, migrants, displaced people and refugees,
seasonal (agricultural) workers.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

import kernels
from features._apply import along_time, full_grid, to_grid
from features.catalogue import feature

EARTH_KM_PER_DEG = 111.32


def cell_area_km2(inputs: xr.Dataset) -> xr.DataArray:
    """Area of each grid cell in km^2 (spherical earth), (lat, lon)."""
    dlat = float(abs(inputs["lat"].diff("lat").mean())) if inputs.sizes["lat"] > 1 else 1.0
    dlon = float(abs(inputs["lon"].diff("lon").mean())) if inputs.sizes["lon"] > 1 else dlat
    coslat = np.cos(np.deg2rad(inputs["lat"]))
    return (EARTH_KM_PER_DEG ** 2 * dlat * dlon * coslat * xr.ones_like(inputs["lon"]))


@feature("log_population_density", domain="demographic", inputs=("population",),
         kernel="none", units="log(1 km-2)",
         meaning="natural log of 1 + persons per km^2")
def log_population_density(inputs: xr.Dataset) -> xr.DataArray:
    dens = inputs["population"] / cell_area_km2(inputs)
    return full_grid(np.log1p(dens).transpose("lat", "lon").astype(np.float32), inputs)


@feature("child_share", domain="demographic", inputs=("child_share",), kernel="none",
         units="1", meaning="share of the population aged 5-17")
def child_share(inputs: xr.Dataset) -> xr.DataArray:
    return full_grid(inputs["child_share"], inputs)


@feature("young_child_share", domain="demographic", inputs=("young_child_share",),
         kernel="none", units="1",
         meaning="share of the population aged 5-11 (the largest group in child labour)")
def young_child_share(inputs: xr.Dataset) -> xr.DataArray:
    return full_grid(inputs["young_child_share"], inputs)


@feature("migrant_share", domain="demographic", inputs=("migrant_share",), kernel="none",
         units="1", meaning="share of the population who are recent migrants")
def migrant_share(inputs: xr.Dataset) -> xr.DataArray:
    return inputs["migrant_share"].transpose("time", "lat", "lon")


@feature("migrant_change_12", domain="demographic", inputs=("migrant_share",), kernel="lag",
         units="1", months=12, meaning="change in the migrant share over 12 months")
def migrant_change_12(inputs: xr.Dataset, months: int) -> xr.DataArray:
    m = inputs["migrant_share"]
    return (m - along_time(kernels.lag, m, k=months)).transpose("time", "lat", "lon")


@feature("displaced_share", domain="demographic", inputs=("displaced_share",), kernel="none",
         units="1", meaning="share of the population displaced or refugees")
def displaced_share(inputs: xr.Dataset) -> xr.DataArray:
    return inputs["displaced_share"].transpose("time", "lat", "lon")


@feature("displaced_change_12", domain="demographic", inputs=("displaced_share",),
         kernel="lag", units="1", months=12,
         meaning="change in the displaced share over 12 months (recent displacement)")
def displaced_change_12(inputs: xr.Dataset, months: int) -> xr.DataArray:
    d = inputs["displaced_share"]
    return (d - along_time(kernels.lag, d, k=months)).transpose("time", "lat", "lon")


@feature("children_in_crisis", domain="demographic", inputs=("crisis", "child_share"),
         kernel="event_decay", units="1", half_life=12,
         meaning="child share times a decayed count of crisis months in the admin-1 unit "
                 "(children in crisis and conflict areas)")
def children_in_crisis(inputs: xr.Dataset, half_life: float) -> xr.DataArray:
    decayed = along_time(lambda a: kernels.event_decay(a, half_life)[0], inputs["crisis"])
    return (to_grid(decayed, inputs) * inputs["child_share"]).transpose("time", "lat", "lon")


@feature("seasonal_agri_work", domain="demographic", inputs=("crop_share",), kernel="none",
         units="1", harvest_months=(9, 10, 11),
         meaning="export-crop share in harvest months, 0 otherwise (seasonal agricultural "
                 "work; harvest months from config)")
def seasonal_agri_work(inputs: xr.Dataset, harvest_months: tuple[int, ...]) -> xr.DataArray:
    in_season = inputs["time"].dt.month.isin(list(harvest_months)).astype(np.float32)
    return (in_season * inputs["crop_share"]).transpose("time", "lat", "lon")
