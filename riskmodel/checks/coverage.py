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
from riskmodel.checks.rows import FeatureRows


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


def check_coverage(inputs: xr.Dataset, variables: list[str], month: int,
                   max_share: float) -> tuple[int, list[Finding]]:
    """Inputs among `variables` missing more than `max_share` at time index `month`.
    Returns (checked, findings)."""
    land = inputs["country_id"].values >= 0
    out, n = [], 0
    for name in variables:
        if name not in inputs:
            continue
        da = inputs[name]
        if "time" in da.dims and da.sizes["time"] <= month:
            continue
        n += 1
        share = missing_share(da, month, land)
        where = "cells" if "lat" in da.dims else "regions"
        if share > max_share:
            out.append(Finding("coverage", name, "fail", f"input missing in {share:.1%} of "
                               f"{where} at as-of (limit {max_share:.1%})", round(share, 4),
                               max_share))
    return n, out


def check_feature_coverage(rows: FeatureRows, reference: dict[str, Any],
                           max_share: float) -> tuple[int, list[Finding]]:
    """Features of `rows` missing in more than `max_share` of the land cells beyond their
    training share (`reference`, see `checks.drift`; features it lacks are left to the
    drift check). Returns (checked, findings)."""
    baseline = {str(k): float(v["missing"]) for k, v in reference["features"].items()}
    out, n = [], 0
    for j, name in enumerate(rows.names):
        if name not in baseline:
            continue
        n += 1
        v = rows.values[:, j]
        share = float(np.isnan(v).mean()) if v.size else 1.0
        base = baseline[name]
        if share - base > max_share:
            out.append(Finding("coverage", name, "fail", f"feature missing in {share:.1%} of "
                               f"cells at as-of, {share - base:.1%} more than in training "
                               f"(limit {max_share:.1%})", round(share, 4),
                               round(base + max_share, 4)))
    return n, out
