"""Thin wrappers that run `kernels` on xarray objects, keeping dims and coordinates.

Time kernels need the whole time axis in one chunk (it is their core dimension); with dask
the arrays may be chunked over space. Region tables (time, country) or (time, admin1) are
put on the grid through the region rasters of the canonical inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

import kernels


def along_time(fn: Callable[..., np.ndarray], da: xr.DataArray, **kwargs: Any) -> xr.DataArray:
    """Apply a time kernel (time on axis 0) to `da`, returning float32 with `da`'s dims."""
    order = ("time", *[d for d in da.dims if d != "time"])
    da = da.transpose(*order)

    def run(a: np.ndarray) -> np.ndarray:
        # apply_ufunc moves the core dim last; the kernels want time first.
        out = fn(np.moveaxis(a.astype(np.float32, copy=False), -1, 0), **kwargs)
        return np.moveaxis(np.asarray(out, dtype=np.float32), 0, -1)

    out = xr.apply_ufunc(run, da, input_core_dims=[["time"]], output_core_dims=[["time"]],
                         dask="parallelized", output_dtypes=[np.float32])
    return out.transpose(*order)


def to_grid(da: xr.DataArray, inputs: xr.Dataset) -> xr.DataArray:
    """Put a region table ((time,) country or admin1) or a global series (time,) on the grid.

    Cells outside every region (sea) become NaN. Grid inputs are returned as float32.
    """
    if "country" in da.dims:
        labels, dim = inputs["country_id"], "country"
    elif "admin1" in da.dims:
        labels, dim = inputs["admin1_id"], "admin1"
    elif set(da.dims) <= {"time"}:
        land = inputs["country_id"] >= 0
        return (da.astype(np.float32) * xr.ones_like(land, dtype=np.float32)).where(land)
    else:
        return da.astype(np.float32)
    table = da.transpose(..., dim)
    lab = labels.values
    values = kernels.broadcast_regions(np.asarray(table.values, dtype=np.float64), lab)
    dims = (*[d for d in table.dims if d != dim], "lat", "lon")
    coords = {d: table[d] for d in dims[:-2]}
    coords.update(lat=inputs["lat"], lon=inputs["lon"])
    return xr.DataArray(values.astype(np.float32), dims=dims, coords=coords)


def full_grid(da: xr.DataArray, inputs: xr.Dataset) -> xr.DataArray:
    """Broadcast a static (lat, lon) layer along time to (time, lat, lon)."""
    if "time" in da.dims:
        return da.transpose("time", "lat", "lon")
    return da.expand_dims(time=inputs["time"]).transpose("time", "lat", "lon")
