"""Coverage: the share of missing land cells (or regions) per input and feature at as-of.

Missing data must not silently turn into missing or flat risk. For gridded inputs and
features the share counts land cells (sea is NaN by contract); region tables count their
countries or admin-1 units. The share is taken at the as-of month (static layers as they
are), where the scores come from. Some features are missing by meaning (years since a
ratification that never happened, an index before its record is long enough); for them
what counts is the share missing beyond what the model saw in training, from the training
distribution saved with the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from riskmodel.checks.findings import Finding


def missing_share(da: xr.DataArray, month: int, land: np.ndarray) -> float:
    """Share of missing values of `da` at time index `month` (land cells only for grids)."""
    if "time" in da.dims:
        da = da.isel(time=month)
    v = np.asarray(da.values)
    if v.dtype.kind != "f":
        return 0.0
    if da.dims == ("lat", "lon"):
        v = v[land]
    return float(np.isnan(v).mean()) if v.size else 1.0


def check_coverage(inputs: xr.Dataset, cube: xr.Dataset | None, variables: list[str],
                   month: int, max_share: float,
                   reference: dict[str, Any] | None = None) -> tuple[int, list[Finding]]:
    """Inputs missing more than `max_share`, and features missing more than `max_share`
    beyond their training share (`reference`, see `checks.drift`; without it features are
    not checked here). Returns (checked, findings)."""
    land = inputs["country_id"].values >= 0
    out, n = [], 0
    baseline = {str(k): float(v["missing"]) for k, v in reference["features"].items()} \
        if reference is not None else {}
    sources: list[tuple[xr.Dataset, str, float | None]] = [
        (inputs, v, None) for v in variables if v in inputs]
    if cube is not None:
        sources += [(cube, str(v), baseline[str(v)]) for v in cube.data_vars
                    if str(v) in baseline]
    for ds, name, base in sources:
        if "time" in ds[name].dims and ds[name].sizes["time"] <= month:
            continue
        n += 1
        share = missing_share(ds[name], month, land)
        where = "cells" if "lat" in ds[name].dims else "regions"
        if base is None and share > max_share:
            out.append(Finding("coverage", name, "fail", f"input missing in {share:.1%} of "
                               f"{where} at as-of (limit {max_share:.1%})", round(share, 4),
                               max_share))
        elif base is not None and share - base > max_share:
            out.append(Finding("coverage", name, "fail", f"feature missing in {share:.1%} of "
                               f"{where} at as-of, {share - base:.1%} more than in training "
                               f"(limit {max_share:.1%})", round(share, 4),
                               round(base + max_share, 4)))
    return n, out
