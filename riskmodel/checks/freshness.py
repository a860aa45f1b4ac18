"""Freshness: the newest month with data of each time-varying input, against the as-of month.

A source that stopped updating still has a time axis reaching the as-of month when the
inputs are assembled on a common calendar, only filled with NaN; so "newest" is the last
month with any finite value, not the last label. Inputs may lag by `max_age_months`
(per-variable overrides for yearly series); older is stale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.checks.findings import Finding
from riskmodel.config import ChecksConfig


def newest_month(da: xr.DataArray, upto: int) -> int | None:
    """Index of the last time step <= `upto` with any finite value, or None if none."""
    v = da.isel(time=slice(0, upto + 1)).values
    flat = v.reshape(v.shape[0], -1)
    has = np.isfinite(flat).any(axis=1)
    idx = np.flatnonzero(has)
    return int(idx[-1]) if idx.size else None


def check_freshness(inputs: xr.Dataset, variables: list[str], month: int,
                    cfg: ChecksConfig) -> tuple[int, list[Finding]]:
    """Stale inputs at time index `month`; returns (inputs checked, findings)."""
    times = pd.DatetimeIndex(inputs["time"].values)
    as_of = times[month]
    out, n = [], 0
    for name in variables:
        if name not in inputs or "time" not in inputs[name].dims:
            continue
        n += 1
        limit = cfg.max_age_by_variable.get(name, cfg.max_age_months)
        last = newest_month(inputs[name], month)
        if last is None:
            out.append(Finding("freshness", name, "fail", f"no data at or before "
                               f"{as_of:%Y-%m}", None, limit))
            continue
        newest = times[last]
        age = (as_of.year - newest.year) * 12 + as_of.month - newest.month
        if age > limit:
            out.append(Finding("freshness", name, "fail", f"newest data {newest:%Y-%m} is "
                               f"{age} months before as-of {as_of:%Y-%m} (limit {limit})",
                               age, limit))
    return n, out
