"""The one NetCDF writer of the engine: CF-1.8 encoding rules, stable bytes, atomic rename.

Every NetCDF file the engine writes (`risk.nc`, the canonical inputs `world.nc`, the
feature cube) goes through `write_netcdf`, so the rules the IOOS compliance checker
(`cf:1.8`) holds them to live in one place:

- only CF-1.8 data types: 64-bit integer variables are stored as 32-bit (an error names
  the variable when its values do not fit), times as 32-bit integer offsets when whole
  units of xarray's chosen unit fit, else as doubles; 64-bit integer attributes as 32-bit;
- no `_FillValue` on coordinate variables (CF 2.5.1); float data variables keep NaN as
  their fill value;
- `valid_min`, `valid_max`, `valid_range`, `actual_range`, `flag_values` and
  `missing_value` in the variable's own data type (CF 2.5.1, 3.5);
- dimensions in the CF order: dimensions that are not time, height, latitude or longitude
  first, then T, Z, Y, X (CF 2.4); a (target, year, region) layout without a time axis is
  written as it is. A file whose readers fix another order (the canonical inputs contract
  puts time first) opts out with `cf_order=False`;
- a `Conventions` and a non-empty `history` global attribute (CF 2.6). `history` carries
  no timestamp: the same dataset gives the same bytes, which reruns are compared by.

Encodings a dataset inherited from a file it was read from (chunking, packing, compression)
are dropped, so the bytes depend only on values and attributes, never on where they came
from; compression and checksums are the caller's explicit choice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.io.atomic import write_with

CONVENTIONS = "CF-1.8"
# Attributes that describe values of the variable and must have its data type.
_TYPED_ATTRS = ("valid_min", "valid_max", "valid_range", "actual_range", "flag_values",
                "missing_value")
_INT32 = np.iinfo(np.int32)


def write_netcdf(ds: xr.Dataset, path: Path | str, *, compress: bool = False,
                 checksum: bool = False, cf_order: bool = True,
                 before_rename: Callable[[], None] | None = None) -> None:
    """Write `ds` to `path` (NetCDF-4, atomically) under the CF-1.8 rules of this module.

    `compress` deflates numeric variables (zlib level 1, with shuffle); `checksum` adds
    HDF5 fletcher32 checksums to them, so a corrupted copy fails on read instead of
    yielding altered numbers. `cf_order=False` keeps each variable's dimension order.
    `before_rename` is called once the bytes are written, before
    the rename (the crash tests' kill point). `ds` itself is not modified.
    """
    out, encoding = cf_encode(ds, compress=compress, checksum=checksum, cf_order=cf_order)

    def write(p: Path) -> None:
        out.to_netcdf(p, engine="netcdf4", format="NETCDF4", encoding=encoding)
        if before_rename is not None:
            before_rename()

    write_with(path, write)


def cf_encode(ds: xr.Dataset, *, compress: bool = False, checksum: bool = False,
              cf_order: bool = True) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """`ds` as it is written (CF dimension order, typed attributes, global attributes)
    and the per-variable encoding `to_netcdf` takes; see the module docstring."""
    out = ds.copy(deep=False)
    out.encoding = {}
    coord_names = set(out.dims) | set(out.coords)
    encoding: dict[str, dict[str, Any]] = {}
    variables = {}
    for name, var in out.variables.items():
        var = var.copy(deep=False)
        var.encoding = {}
        enc: dict[str, Any] = {}
        if cf_order and name not in out.dims:
            var = var.transpose(*cf_dim_order(var.dims, out))
        kind = var.dtype.kind
        if kind == "M":
            enc.update(_time_encoding(name, var))
        elif kind in "iu" and var.dtype.itemsize == 8:
            var = var.copy(data=_to_int32(str(name), np.asarray(var.values)))
        if name in coord_names or kind not in "fc":
            enc["_FillValue"] = None  # coordinates never; integers and strings need none
        stored = var.dtype if kind != "M" else np.dtype(enc["dtype"])
        var.attrs = _typed_attrs(str(name), var.attrs, stored)
        if kind in "fiub" and var.ndim and (compress or checksum):
            enc.update({"zlib": True, "complevel": 1, "shuffle": True} if compress else {})
            enc.update({"fletcher32": True} if checksum else {})
        variables[name] = var
        encoding[str(name)] = enc
    for name, var in variables.items():
        if name in out.coords:
            out.coords[name] = var
        else:
            out[name] = var
    out.attrs = {k: _plain_attr(v) for k, v in out.attrs.items()}
    out.attrs.setdefault("Conventions", CONVENTIONS)
    if not str(out.attrs.get("history", "")).strip():
        made = str(out.attrs.get("source", "")).strip() or "riskmodel"
        out.attrs["history"] = f"{made}: written by riskmodel.io.netcdf"
    return out, encoding


def cf_dim_order(dims: tuple[Any, ...], ds: xr.Dataset) -> tuple[Any, ...]:
    """`dims` in the CF order: other dimensions first (as given), then T, Z, Y, X."""
    axes = {d: axis_of(d, ds) for d in dims}
    rest = [d for d in dims if axes[d] is None]
    return tuple(rest + [d for a in "TZYX" for d in dims if axes[d] == a])


def axis_of(dim: Any, ds: xr.Dataset) -> str | None:
    """The CF axis (T, Z, Y, X) of dimension `dim` from its coordinate's `axis`,
    `standard_name`, units or dtype; None for any other dimension (target, rank, region,
    an integer year without time units)."""
    if dim not in ds.coords:
        return None
    coord = ds[dim]
    attrs = coord.attrs
    if attrs.get("axis") in ("T", "Z", "Y", "X"):
        return str(attrs["axis"])
    standard = {"time": "T", "latitude": "Y", "longitude": "X", "height": "Z",
                "depth": "Z", "altitude": "Z", "air_pressure": "Z"}
    if attrs.get("standard_name") in standard:
        return standard[str(attrs["standard_name"])]
    units = str(attrs.get("units", ""))
    if coord.dtype.kind == "M" or " since " in units or dim == "time":
        return "T"  # datetime64, encoded times, or cftime objects on the contract's `time`
    if units in ("degrees_north", "degree_north", "degree_N", "degrees_N"):
        return "Y"
    if units in ("degrees_east", "degree_east", "degree_E", "degrees_E"):
        return "X"
    return None


def _time_encoding(name: Any, var: xr.Variable) -> dict[str, Any]:
    """Units, calendar and dtype of a datetime64 variable: xarray's choice of units, as
    32-bit integers when the offsets are whole and fit, else as doubles."""
    units = var.attrs.pop("units", None)
    calendar = var.attrs.pop("calendar", None) or "proleptic_gregorian"
    from xarray.coding.times import encode_cf_datetime  # public module, stable since 0.10
    values = np.asarray(var.values)
    num, chosen, _ = encode_cf_datetime(values, units=units, calendar=calendar)
    num = np.asarray(num)
    whole = num.dtype.kind in "iu" or bool(np.all(np.isnan(num) | (num == np.round(num))))
    fits = whole and (num.size == 0 or (np.nanmin(num) >= _INT32.min
                                        and np.nanmax(num) <= _INT32.max))
    if np.isnat(values).any():
        fits = False  # missing times need a NaN fill: doubles
    return {"units": chosen, "calendar": calendar, "dtype": "int32" if fits else "float64"}


def _to_int32(name: str, values: np.ndarray) -> np.ndarray:
    """64-bit integers as int32; an error naming the variable when a value does not fit."""
    if values.size and (values.min() < _INT32.min or values.max() > _INT32.max):
        raise ValueError(f"NetCDF variable {name}: values {values.min()}..{values.max()} do "
                         f"not fit the 32-bit integers CF-1.8 allows")
    return values.astype(np.int32)


def _typed_attrs(name: str, attrs: dict[Any, Any], dtype: np.dtype) -> dict[Any, Any]:
    """`attrs` with the value-describing attributes cast to `dtype` (the stored type of
    variable `name`) and other attributes made plain (`_plain_attr`)."""
    out = {}
    for k, v in attrs.items():
        if k in _TYPED_ATTRS and dtype.kind in "iufb":
            arr = np.asarray(v)
            cast = arr.astype(dtype)
            if arr.dtype.kind in "iuf" and not np.array_equal(cast, arr, equal_nan=True):
                raise ValueError(f"NetCDF variable {name}: attribute {k}={v!r} is not "
                                 f"representable as the variable's {dtype}")
            out[k] = cast if cast.ndim else cast[()]
        else:
            out[k] = _plain_attr(v)
    return out


def _plain_attr(v: Any) -> Any:
    """An attribute value in a CF-1.8 type: booleans as 0/1 bytes, 64-bit integers as
    32-bit when they fit (NetCDF-4 would store them as int64, which CF-1.8 lacks)."""
    arr = np.asarray(v) if not isinstance(v, str) else None
    if arr is None or arr.dtype.kind not in "iub":
        return v
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int8)
    elif arr.dtype.itemsize == 8:
        if arr.size and (arr.min() < _INT32.min or arr.max() > _INT32.max):
            return v  # too large for 32 bits: keep it exact rather than wrong
        arr = arr.astype(np.int32)
    return arr if arr.ndim else arr[()]
