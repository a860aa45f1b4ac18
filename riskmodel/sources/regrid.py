"""Put a gridded input on the target grid by area-weighted averaging
(`kernels.regrid_area_weighted`), coarser -> finer and finer -> coarser alike."""

from __future__ import annotations

import numpy as np
import xarray as xr

import kernels
from riskmodel.config import GridSpec


def target_grid(spec: GridSpec) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre latitudes (ny,) and longitudes (nx,) of the target grid, ascending."""
    lat = spec.lat0 + spec.resolution * (np.arange(spec.ny) + 0.5)
    lon = spec.lon0 + spec.resolution * (np.arange(spec.nx) + 0.5)
    return lat, lon


def edges(centres: np.ndarray, *, clip: float | None = None) -> np.ndarray:
    """Cell edges (n + 1,) of a regular axis from its ascending centres (n,)."""
    c = np.asarray(centres, np.float64)
    step = float(c[1] - c[0]) if c.size > 1 else 1.0
    e = np.concatenate([c - step / 2, [c[-1] + step / 2]])
    return np.clip(e, -clip, clip) if clip is not None else e


def regrid_to(da: xr.DataArray, lat: np.ndarray, lon: np.ndarray) -> xr.DataArray:
    """`da` ((lat, lon) or (time, lat, lon), regular, ascending) regridded to the cell
    centres `lat`, `lon` by area-weighted averaging; NaN where no valid source cell
    overlaps. Units and attrs are kept."""
    values = kernels.regrid_area_weighted(
        np.asarray(da.transpose(..., "lat", "lon").values, dtype=np.float64),
        edges(da["lat"].values, clip=90.0), edges(da["lon"].values),
        edges(lat, clip=90.0), edges(lon))
    dims = (("time",) if "time" in da.dims else ()) + ("lat", "lon")
    coords = {"lat": lat, "lon": lon}
    if "time" in da.dims:
        coords["time"] = da["time"].values
    return xr.DataArray(values, dims=dims, coords=coords, attrs=dict(da.attrs))
