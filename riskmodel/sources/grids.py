"""NetCDF and Zarr grids: open with their CF metadata, find the lat/lon axes, check units
and regularity, and bring each variable to the data contract (lat and lon ascending, lon in
[-180, 180), monthly time labelled by the first day of the month).

Errors name the file and variable: cannot open, variable missing, no latitude/longitude
axis, unexpected dims, wrong or missing units, an irregular grid, a climatology that is not
12 months, times that are not one per month.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.config import VariableMap
from riskmodel.errors import InputError

# Spellings of the same unit found in CF files; compared after this normalisation.
UNIT_ALIASES = {
    "degc": "degC", "deg_c": "degC", "celsius": "degC", "degrees_celsius": "degC",
    "°c": "degC", "degree_celsius": "degC", "degk": "K", "kelvin": "K", "k": "K",
    "mm": "mm", "millimeter": "mm", "millimetre": "mm", "mm/month": "mm month-1",
    "mm month-1": "mm month-1", "1": "1", "fraction": "1", "percent": "%", "%": "%",
}
_LAT_UNITS = {"degrees_north", "degree_north", "degrees_n", "degree_n", "degreen"}
_LON_UNITS = {"degrees_east", "degree_east", "degrees_e", "degree_e", "degreee"}


def normalise_units(units: str) -> str:
    """The canonical spelling of `units` (unknown spellings are returned stripped)."""
    u = units.strip()
    return UNIT_ALIASES.get(u.lower(), u)


def open_grid(path: Path, reader: str, *, decode_times: bool = True) -> xr.Dataset:
    """Open a NetCDF file or Zarr store lazily with CF decoding; `InputError` if it
    cannot be read."""
    try:
        if reader == "zarr":
            return xr.open_zarr(path, decode_times=decode_times)
        return xr.open_dataset(path, engine="netcdf4", decode_times=decode_times)
    except Exception as exc:  # noqa: BLE001 - backends raise many types; one line for the user
        raise InputError(f"{path}: cannot open as {reader}: {type(exc).__name__}: "
                         f"{exc}") from None


def _axis(ds: xr.Dataset, da: xr.DataArray, which: str) -> str | None:
    units = _LAT_UNITS if which == "lat" else _LON_UNITS
    std = "latitude" if which == "lat" else "longitude"
    for dim in da.dims:
        if dim in ds.coords:
            attrs = ds[dim].attrs
            if (attrs.get("standard_name") == std
                    or str(attrs.get("units", "")).lower() in units):
                return str(dim)
    for dim in da.dims:
        if str(dim).lower() in ((which, std) if which == "lat" else (which, std, "long")):
            return str(dim)
    return None


def _check_regular(path: Path, name: str, coord: np.ndarray, axis: str) -> None:
    if coord.size < 2:
        return
    step = np.diff(coord)
    if not np.allclose(step, step[0], rtol=1e-4, atol=1e-6) or step[0] <= 0:
        raise InputError(f"{path}: variable {name}: {axis} is not a regular grid "
                         f"(spacing from {step.min():g} to {step.max():g} degrees)")


def grid_variable(ds: xr.Dataset, path: Path, vmap: VariableMap) -> xr.DataArray:
    """The variable `vmap.column` of `ds` on (lat, lon) (climatology: averaged over its 12
    months) or (time, lat, lon), float64 x `vmap.scale`, checked against `vmap.units`.

    lat/lon are renamed to `lat`/`lon`, sorted ascending, lon wrapped to [-180, 180);
    times are month starts. The data is read into memory here. Raises `InputError` naming
    the file and variable, also for data that cannot be decoded.
    """
    name = str(vmap.column)
    if name not in ds.data_vars:
        raise InputError(f"{path}: no variable {name!r}; it has "
                         f"{sorted(map(str, ds.data_vars))}")
    da = ds[name]
    lat, lon = _axis(ds, da, "lat"), _axis(ds, da, "lon")
    if lat is None or lon is None:
        raise InputError(f"{path}: variable {name} has no latitude/longitude axis "
                         f"(dims {da.dims}; expected CF units degrees_north/degrees_east)")
    other = [d for d in da.dims if d not in (lat, lon)]
    if other not in ([], ["time"]):
        raise InputError(f"{path}: variable {name} has dims {da.dims}; expected "
                         f"(time, lat, lon) or (lat, lon)")
    units = da.attrs.get("units")
    expected = vmap.source_units or vmap.units
    if units is None:
        raise InputError(f"{path}: variable {name} has no units attribute (expected "
                         f"{expected!r})")
    if normalise_units(str(units)) != normalise_units(expected):
        raise InputError(f"{path}: variable {name} has units {units!r}, expected "
                         f"{expected!r}")
    try:
        # Read now: the file opened lazily, so a corrupted or truncated chunk fails here,
        # and must fail as an input error, not deep inside a later computation.
        da = da.load()
    except Exception as exc:  # noqa: BLE001 - backends raise many types; one line for the user
        raise InputError(f"{path}: variable {name}: data cannot be read (corrupted or "
                         f"truncated file?): {type(exc).__name__}: {exc}") from None
    da = da.rename({lat: "lat", lon: "lon"})
    da = da.assign_coords(lon=((da["lon"] + 180.0) % 360.0) - 180.0)
    da = da.sortby("lat").sortby("lon")
    _check_regular(path, name, da["lat"].values, "latitude")
    _check_regular(path, name, da["lon"].values, "longitude")
    da = da.astype(np.float64) * vmap.scale
    if vmap.climatology:
        if "time" not in da.dims or da.sizes["time"] != 12:
            raise InputError(f"{path}: variable {name} is declared a climatology but has "
                             f"{da.sizes.get('time', 0)} time steps, expected 12 months")
        da = da.mean("time", skipna=True)
    elif "time" in da.dims:
        da = da.assign_coords(time=_month_starts(path, name, da["time"]))
    da.attrs = {"units": vmap.units, "source": f"{path.name}:{name}"}
    return da.transpose(*([d for d in ("time",) if d in da.dims]), "lat", "lon")


def _month_starts(path: Path, name: str, time: xr.DataArray) -> np.ndarray:
    try:
        idx = pd.DatetimeIndex(time.values)
    except (TypeError, ValueError):
        raise InputError(f"{path}: variable {name}: times could not be decoded as dates "
                         f"(set decode_times or give a CF calendar)") from None
    months = idx.to_period("M").to_timestamp().values.astype("datetime64[ns]")
    if len(np.unique(months)) != len(months):
        raise InputError(f"{path}: variable {name}: more than one time step per month")
    return months
