"""Economic features: income growth and shocks, poverty, commodity prices on crop land."""

from __future__ import annotations

import xarray as xr

import kernels
from features._apply import along_time, as_cube, full_grid, steps, to_grid
from features.catalogue import feature


def _yoy_log_change(da: xr.DataArray, inputs: xr.Dataset, months: int = 12) -> xr.DataArray:
    logged = xr.ufuncs.log(da.where(da > 0))
    return logged - along_time(kernels.lag, logged, k=steps(inputs, months))


@feature("gdp_growth", domain="economic", inputs=("gdp_per_capita",), kernels=("lag",),
         units="1", months=12,
         meaning="year-on-year log change of GDP per capita (income shocks < 0)")
def gdp_growth(inputs: xr.Dataset, months: int) -> xr.DataArray:
    return to_grid(_yoy_log_change(inputs["gdp_per_capita"], inputs, months), inputs)


@feature("log_gdp_per_capita", domain="economic", inputs=("gdp_per_capita",),
         kernels=("broadcast_regions",), units="log(USD)",
         meaning="natural log of GDP per capita of the country")
def log_gdp_per_capita(inputs: xr.Dataset) -> xr.DataArray:
    gdp = inputs["gdp_per_capita"]
    return to_grid(xr.ufuncs.log(gdp.where(gdp > 0)), inputs)


@feature("poverty_rate", domain="economic", inputs=("poverty_rate",),
         kernels=("broadcast_regions",), units="1",
         meaning="share of the population below the poverty line")
def poverty_rate(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["poverty_rate"], inputs)


@feature("poverty_change_12", domain="economic", inputs=("poverty_rate",), kernels=("lag",),
         units="1", months=12,
         meaning="change in the poverty rate over the last 12 months")
def poverty_change_12(inputs: xr.Dataset, months: int) -> xr.DataArray:
    p = inputs["poverty_rate"]
    return to_grid(p - along_time(kernels.lag, p, k=steps(inputs, months)), inputs)


@feature("commodity_shock_x_crop", domain="economic",
         inputs=("commodity_price", "crop_share"), kernels=("lag",), units="1", months=12,
         meaning="year-on-year log change of export commodity prices times the cell's "
                 "export-crop share (price slumps on crop land < 0)")
def commodity_shock_x_crop(inputs: xr.Dataset, months: int) -> xr.DataArray:
    change = _yoy_log_change(inputs["commodity_price"], inputs, months)
    return as_cube(to_grid(change, inputs) * inputs["crop_share"], inputs)


@feature("crop_share", domain="economic", inputs=("crop_share",), kernels=(), units="1",
         meaning="share of land under export crops")
def crop_share(inputs: xr.Dataset) -> xr.DataArray:
    return full_grid(inputs["crop_share"], inputs)


@feature("unemployment_rate", domain="economic", inputs=("unemployment",),
         kernels=("broadcast_regions",), units="1",
         meaning="unemployed share of the labour force")
def unemployment_rate(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["unemployment"], inputs)


@feature("agriculture_gdp_share", domain="economic", inputs=("agriculture_va",),
         kernels=("broadcast_regions",), units="1",
         meaning="agriculture, forestry and fishing value added as a share of GDP (where "
                 "most child labour is)")
def agriculture_gdp_share(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["agriculture_va"], inputs)


@feature("primary_completion", domain="economic", inputs=("primary_completion",),
         kernels=("broadcast_regions",), units="1",
         meaning="primary completion rate (root cause: lack of education; low = risk)")
def primary_completion(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["primary_completion"], inputs)
