"""Build the feature cube: every catalogue feature as a float32 variable on (time, lat, lon),
or on (time, region) for region-mode inputs (see `features._apply`).

The cube carries each feature's catalogue entry in its attrs (domain, inputs, kernel,
parameters, units, meaning) so a saved cube documents itself. Sea cells (no country) are
NaN in every feature. Features whose inputs are absent, and grid-only features in region
mode, are skipped when the whole catalogue is asked for; the cube's `skipped_features`
attribute says which and why. With `chunks` the cube is lazy (dask): chunked over space,
the whole time axis in each chunk (the time kernels' core dimension).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import xarray as xr

from features._apply import frequency, only_months, region_unit, space_dims
from features.catalogue import CATALOGUE
from features.climatic import BASELINE_MONTHS

# Months at the start of a record whose features are not comparable with later ones (the
# climatology baseline and the longest lag); models train on months after it.
WARMUP_MONTHS = BASELINE_MONTHS


def unavailable_reason(inputs: xr.Dataset, name: str) -> str | None:
    """Why feature `name` cannot be built from `inputs` (None when it can)."""
    entry = CATALOGUE[name]
    unit = region_unit(inputs)
    if entry.grid_only and unit is not None:
        return "grid-only feature skipped in region mode"
    if entry.monthly_only and frequency(inputs) != "monthly":
        return f"monthly-only feature skipped on a {frequency(inputs)} axis"
    missing = [v for v in entry.inputs if v not in inputs]
    if missing:
        return f"input variable(s) {missing} not in the inputs"
    for finer in ("admin1", "region"):
        if unit is not None and unit != finer:
            sub = [v for v in entry.inputs if finer in inputs[v].dims]
            if sub:
                return f"{finer} input(s) {sub} cannot be used on {unit} units"
    return None


def check_inputs(inputs: xr.Dataset, names: Iterable[str]) -> None:
    """Raise `KeyError` naming the first feature that cannot be built from `inputs`."""
    for name in names:
        why = unavailable_reason(inputs, name)
        if why:
            raise KeyError(f"feature {name!r} cannot be built: {why}")


def plan_features(inputs: xr.Dataset) -> tuple[list[str], dict[str, str]]:
    """The catalogue features buildable from `inputs` (catalogue order) and, for the rest,
    the reason each is skipped."""
    build, skipped = [], {}
    for name in CATALOGUE:
        why = unavailable_reason(inputs, name)
        if why:
            skipped[name] = why
        else:
            build.append(name)
    return build, skipped


def chunk_inputs(inputs: xr.Dataset, chunks: Mapping[str, int]) -> xr.Dataset:
    """`inputs` as dask arrays chunked over space by `chunks` ({dim: size}), with the whole
    time axis in every chunk."""
    bad = [d for d in chunks if d == "time"]
    if bad:
        raise ValueError("the time axis must stay in one chunk (time kernels need it whole)")
    return inputs.chunk({**{d: n for d, n in chunks.items() if d in inputs.dims}, "time": -1})


def build_feature(inputs: xr.Dataset, name: str) -> xr.DataArray:
    """Compute one catalogue feature on (time, *space) with its attrs, NaN at sea."""
    entry = CATALOGUE[name]
    da = entry.compute(inputs, **entry.params).transpose("time", *space_dims(inputs))
    if region_unit(inputs) is None and da.chunks is None:
        # NaN at sea by a boolean mask on a float32 copy: `where` would build a float64
        # array and convert it back, twice the work, for the same values.
        values = da.values.astype(np.float32)
        land = inputs["country_id"].transpose(*space_dims(inputs)).values >= 0
        values[:, ~land] = np.nan
        da = da.copy(data=values)
    elif region_unit(inputs) is None:
        da = da.where(inputs["country_id"] >= 0).astype(np.float32, copy=False)
    else:
        da = da.astype(np.float32)
    da.attrs = {"units": entry.units, "long_name": entry.meaning, "domain": entry.domain,
                "inputs": ",".join(entry.inputs), "kernel": entry.kernel,
                "params": json.dumps(dict(entry.params), sort_keys=True)}
    return da.rename(name)


def build_cube(inputs: xr.Dataset, names: Iterable[str] | None = None, *,
               chunks: Mapping[str, int] | None = None,
               months: Sequence[int] | None = None,
               cells_at: tuple[Sequence[int], np.ndarray] | None = None) -> xr.Dataset:
    """The feature cube for `names` (default: every catalogue feature the inputs allow, in
    catalogue order; the others are listed in attrs["skipped_features"] with the reason).

    `inputs` are canonical inputs in grid or region mode; `chunks` ({"lat": n, "lon": n} or
    {"country": n}) makes the cube lazy (dask) with the same values as the eager one.

    `months` (time indices) builds a partial eager cube for a caller that reads only those
    months (block scoring): time kernels still see the whole record, but neighbourhood
    features are computed at `months` only and are NaN at every other month; the attr
    `neighbourhood_months` lists them. With it, `cells_at` (time indices, a (lat, lon) bool
    mask) also computes them at those months, at the masked cells only where the kernel
    can (`kernels.spatial_lag`'s `where`; NaN at the other cells) and whole where it
    cannot; the attr `neighbourhood_cell_months` lists those months.
    """
    if names is None:
        names, skipped = plan_features(inputs)
    else:
        names, skipped = list(names), {}
        unknown = [n for n in names if n not in CATALOGUE]
        if unknown:
            raise KeyError(f"unknown feature(s) {unknown}; see `riskmodel features list`")
        check_inputs(inputs, names)
    if chunks:
        inputs = chunk_inputs(inputs, chunks)
    with only_months(None if chunks else months, cells_at):
        cube = xr.Dataset({n: build_feature(inputs, n) for n in names})
    cube.attrs = {"title": "riskmodel feature cube", "Conventions": "CF-1.8",
                  "warmup_months": WARMUP_MONTHS,
                  "mode": "grid" if region_unit(inputs) is None else "region",
                  "skipped_features": json.dumps(skipped, sort_keys=True)}
    if months is not None and not chunks:
        cube.attrs["neighbourhood_months"] = json.dumps(sorted({int(m) for m in months}))
        if cells_at is not None:
            cube.attrs["neighbourhood_cell_months"] = json.dumps(
                sorted({int(m) for m in cells_at[0]} - {int(m) for m in months}))
    return cube
