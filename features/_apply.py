"""Thin wrappers that run `kernels` on xarray objects, keeping dims and coordinates.

Two layouts of canonical inputs share one catalogue:
- grid mode: inputs have `lat`/`lon` dims and region rasters `country_id`/`admin1_id`;
  features come out on (time, lat, lon);
- region mode: inputs have no grid, only tables on (time, country), (time, admin1) or
  (time, region) (and static variables on those dims); features come out on (time, unit).
  The unit is `admin1` or `region` (sub-national regions, `riskmodel.regions`) when the
  inputs have that dim, else `country`; country tables are repeated over a unit's regions
  through `<unit>_country` (each unit's index into `country`).

The time step is the inputs' attrs["frequency"] (`monthly`, the default, or `yearly`).
Catalogue parameters are in months; `steps` turns them into time steps of the axis.

Time kernels need the whole time axis in one chunk (it is their core dimension); with dask
the arrays may be chunked over space.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

import kernels

# Months per time step of each frequency (the same table as riskmodel.contract.FREQUENCIES,
# which a test compares; features sit below the contract and cannot import it).
MONTHS_PER_STEP = {"monthly": 1, "yearly": 12}


@dataclass(frozen=True)
class PartialMonths:
    """What a partial cube computes of its neighbourhood features (`features.build_cube`):
    every cell at time indices `months`; at time indices `cell_months` only the cells of
    the (lat, lon) bool `mask`, with kernels that take a `where` mask (others compute those
    months whole)."""

    months: tuple[int, ...]
    cell_months: tuple[int, ...] = ()
    mask: np.ndarray | None = None


# The partial cube being built (`features.build_cube(months=...)`); None: all months.
_MONTHS: ContextVar[PartialMonths | None] = ContextVar("feature_months", default=None)


@contextmanager
def only_months(months: Sequence[int] | None,
                cells_at: tuple[Sequence[int], np.ndarray] | None = None) -> Iterator[None]:
    """Within the block, neighbourhood kernels (`on_space`) compute only the time indices
    `months` (all when None), and at the time indices of `cells_at` (months, (lat, lon)
    bool mask) only the masked cells; see `features.build_cube`."""
    plan = None
    if months is not None:
        whole = tuple(sorted({int(m) for m in months}))
        cell_months, mask = ((), None) if cells_at is None else (
            tuple(sorted({int(m) for m in cells_at[0]} - set(whole))),
            np.asarray(cells_at[1], bool))
        plan = PartialMonths(whole, cell_months, mask)
    token = _MONTHS.set(plan)
    try:
        yield
    finally:
        _MONTHS.reset(token)


def region_unit(inputs: xr.Dataset) -> str | None:
    """The region dim of region-mode inputs (`admin1`, `region` or `country`); None in grid
    mode."""
    if "lat" in inputs.dims and "lon" in inputs.dims:
        return None
    for unit in ("admin1", "region"):
        if unit in inputs.dims:
            return unit
    return "country"


def frequency(inputs: xr.Dataset) -> str:
    """The time step of `inputs`: attrs["frequency"], `monthly` when absent."""
    freq = str(inputs.attrs.get("frequency", "monthly"))
    if freq not in MONTHS_PER_STEP:
        raise ValueError(f"inputs: unknown frequency {freq!r}; expected one of "
                         f"{sorted(MONTHS_PER_STEP)}")
    return freq


def steps(inputs: xr.Dataset, months: float) -> float:
    """`months` (a catalogue parameter) as time steps of the inputs' axis: the same number
    on a monthly axis, a twelfth of it on a yearly one. A whole number of months must be a
    whole number of steps (a 6-month lag has no yearly meaning): ValueError otherwise."""
    per = MONTHS_PER_STEP[frequency(inputs)]
    if per == 1:
        return months
    if months != float("inf") and months % per:
        raise ValueError(f"{months} months is not a whole number of {frequency(inputs)} "
                         f"steps")
    return months / per if isinstance(months, float) else months // per


def space_dims(inputs: xr.Dataset) -> tuple[str, ...]:
    """The spatial dims of the feature cube: ("lat", "lon"), or (unit,) in region mode."""
    unit = region_unit(inputs)
    return ("lat", "lon") if unit is None else (unit,)


def as_cube(da: xr.DataArray, inputs: xr.Dataset) -> xr.DataArray:
    """`da` transposed to the cube's (time, *space) order."""
    return da.transpose("time", *space_dims(inputs))


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
    """Put a region table ((time,) country or admin1) or a global series (time,) on the
    cube's space: the grid (through the region rasters; sea cells NaN) or, in region mode,
    the region unit (country tables are repeated over their admin-1 units). Grid inputs are
    returned as float32.
    """
    unit = region_unit(inputs)
    if unit is not None:
        return _to_regions(da, inputs, unit)
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
    # Region tables are small: computed here even in a lazy cube; the grid is not.
    # Painted in float32: the same values as painting float64 and casting (each cell is a
    # copy of one table entry), with half the bytes written and no cast pass.
    values = np.asarray(table.values, dtype=np.float32)
    dims = (*[d for d in table.dims if d != dim], "lat", "lon")
    coords = {d: table[d] for d in dims[:-2]}
    coords.update(lat=inputs["lat"], lon=inputs["lon"])
    if labels.chunks is None:
        painted = kernels.broadcast_regions(values, labels.values)
    else:
        lead = values.shape[:-1]

        def paint(lab: np.ndarray) -> np.ndarray:
            return kernels.broadcast_regions(values, lab)

        painted = labels.data.map_blocks(
            paint, dtype=np.float32, new_axis=list(range(len(lead))),
            chunks=tuple((n,) for n in lead) + labels.data.chunks)
    return xr.DataArray(painted, dims=dims, coords=coords)


def _to_regions(da: xr.DataArray, inputs: xr.Dataset, unit: str) -> xr.DataArray:
    if unit in da.dims:
        return da.astype(np.float32)
    if "country" in da.dims and unit in ("admin1", "region"):
        # <unit>_country holds each unit's country index (the world's contract for admin1).
        idx = xr.DataArray(np.asarray(inputs[f"{unit}_country"].values), dims=unit)
        out = da.isel(country=idx).drop_vars("country", errors="ignore")
        return out.assign_coords({unit: inputs[unit]}).astype(np.float32)
    if set(da.dims) <= {"time"}:
        ones = xr.ones_like(inputs[unit], dtype=np.float32)
        return da.astype(np.float32) * ones
    raise ValueError(f"cannot put a variable on {da.dims} onto {unit} units")


def full_grid(da: xr.DataArray, inputs: xr.Dataset) -> xr.DataArray:
    """Broadcast a static (lat, lon) layer, or a static (region,) one in region mode, along
    time to the cube's (time, *space)."""
    if "time" not in da.dims:
        da = da.expand_dims(time=inputs["time"])
    return as_cube(da, inputs)


def on_space(fn: Callable[..., np.ndarray], da: xr.DataArray, *, halo: int,
             **kwargs: Any) -> xr.DataArray:
    """Apply a neighbourhood kernel on the (lat, lon) axes of a (time, lat, lon) array.

    With dask the chunks over space get a `halo`-cell border from their neighbours (NaN at
    the grid's edge, which the kernels skip like a clipped border), so the lazy cube equals
    the eager one. Inside `only_months` an eager array is computed at those time indices
    only (NaN at the others), and at its cell months only at the masked cells when the
    kernel takes a `where` mask; a lazy one is computed whole.
    """
    da = da.transpose("time", "lat", "lon")

    def run(a: np.ndarray, **extra: Any) -> np.ndarray:
        return np.asarray(fn(a.astype(np.float32, copy=False), **kwargs, **extra),
                          dtype=np.float32)

    if da.chunks is None:
        plan = _MONTHS.get()
        if plan is None:
            return da.copy(data=run(da.values))
        # A neighbourhood kernel treats each month alone, so the months a caller reads are
        # computed exactly, at a fraction of the cost; the others are left NaN.
        out = np.full(da.shape, np.nan, np.float32)
        if plan.months:
            out[list(plan.months)] = run(da.values[list(plan.months)])
        if plan.cell_months:
            at = list(plan.cell_months)
            if plan.mask is not None and "where" in inspect.signature(fn).parameters:
                if plan.mask.shape != da.shape[1:]:
                    raise ValueError(f"cell mask of shape {plan.mask.shape} for a "
                                     f"{da.shape[1:]} (lat, lon) grid")
                out[at] = run(da.values[at], where=plan.mask)
            else:
                out[at] = run(da.values[at])
        return da.copy(data=out)
    data = da.data.astype(np.float32).map_overlap(
        run, depth={0: 0, 1: halo, 2: halo}, boundary=np.nan, dtype=np.float32)
    return da.copy(data=data)
