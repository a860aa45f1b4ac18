"""Schema check of the canonical inputs: dims, dtypes, units, value ranges, codes, time axis.

`INPUTS` is the contract of every input the features and the scoring read: its dims and the
range of plausible values in its units (units themselves come from `riskmodel.contract`,
the one place that names them). A wrong unit (Kelvin labelled degC, a share given in
percent) shows as values outside the range, a missing or different `units` attribute as a
unit mismatch. Problems here are never overridable: the data is wrong, not merely old.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from features import CATALOGUE
from riskmodel.checks.findings import Finding
from riskmodel.contract import ADMIN1_T, COUNTRY_T, GRID, GRID_T, VARIABLES


@dataclass(frozen=True)
class InputSpec:
    """Dims and plausible range (in the variable's units) of one input."""

    dims: tuple[str, ...]
    lo: float
    hi: float


_SHARE = (0.0, 1.0)
_COUNT = (0.0, 1e4)  # events per country-month: a handful at most; 1e4 means a unit error
INPUTS: dict[str, InputSpec] = {
    "temperature": InputSpec(GRID_T, -90.0, 60.0),      # degC, monthly means on Earth
    "precipitation": InputSpec(GRID_T, 0.0, 5000.0),    # mm per month
    "migrant_share": InputSpec(GRID_T, *_SHARE),
    "displaced_share": InputSpec(GRID_T, *_SHARE),
    "crop_share": InputSpec(GRID, *_SHARE),
    "population": InputSpec(GRID, 0.0, 5e7),            # persons per cell
    "child_share": InputSpec(GRID, *_SHARE),
    "young_child_share": InputSpec(GRID, *_SHARE),
    "gdp_per_capita": InputSpec(COUNTRY_T, 0.0, 1e6),   # USD
    "poverty_rate": InputSpec(COUNTRY_T, *_SHARE),
    "commodity_price": InputSpec(("time",), 0.0, 1e6),  # index, first month = 100
    "crisis": InputSpec(ADMIN1_T, *_SHARE),
    "inspection_coverage": InputSpec(ADMIN1_T, *_SHARE),
    **{f"ratified_{c}": InputSpec(COUNTRY_T, *_SHARE)
       for c in ("C029", "C105", "P029", "C138", "C182")},
    **{f"{e}_{t}": InputSpec(COUNTRY_T, *_COUNT)
       for e in ("observations", "direct_requests", "cas", "ta_request") for t in ("fl", "cl")},
    "tip_watchlist": InputSpec(COUNTRY_T, *_SHARE),
    **{f"programme_{f}": InputSpec(COUNTRY_T, *_SHARE) for f in ("fl", "cl", "fprw")},
}
# Inputs the scoring stage reads beyond the features (area context for alerts, targeting).
SCORING_INPUTS = ("population", "child_share", "programme_fl", "programme_cl",
                  "programme_fprw", "ta_request_fl", "ta_request_cl",
                  *(f"ratified_{c}" for c in ("C029", "C105", "P029", "C138", "C182")))
REGION_LAYERS = {"country_id": (GRID, "country"), "admin1_id": (GRID, "admin1"),
                 "admin1_country": (("admin1",), "country")}


def required_inputs(feature_names: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """Input variables the given features (default: the catalogue) and scoring read."""
    names = list(CATALOGUE) if feature_names is None else feature_names
    need = {v for n in names if n in CATALOGUE for v in CATALOGUE[n].inputs}
    return sorted(need | set(SCORING_INPUTS))


def check_time(inputs: xr.Dataset) -> list[Finding]:
    """The time axis: datetime, first of the month, strictly increasing, no gaps."""
    def bad(msg: str) -> list[Finding]:
        return [Finding("schema", "time", "fail", msg)]

    if "time" not in inputs.coords:
        return bad("no `time` coordinate")
    t = inputs["time"].values
    if t.dtype.kind != "M":
        return bad(f"dtype {t.dtype}, expected datetime64")
    if t.size == 0:
        return bad("empty time axis")
    idx = pd.DatetimeIndex(t)
    if idx.has_duplicates:
        dup = idx[idx.duplicated()][0].strftime("%Y-%m-%d")
        return bad(f"duplicated timestamp {dup}")
    if not idx.is_monotonic_increasing:
        pos = int(np.flatnonzero(np.diff(idx.asi8) < 0)[0])
        return bad(f"timestamps out of order at index {pos + 1} ({idx[pos + 1]:%Y-%m-%d} "
                   f"after {idx[pos]:%Y-%m-%d})")
    off = idx[(idx.day != 1) | (idx.normalize() != idx)]
    if len(off):
        return bad(f"{off[0]} is not the first day of a month (monthly data is labelled "
                   f"by the month's first day)")
    months = idx.year * 12 + idx.month
    gaps = np.flatnonzero(np.diff(months) != 1)
    if gaps.size:
        g = int(gaps[0])
        return bad(f"gap in months after {idx[g]:%Y-%m} (next is {idx[g + 1]:%Y-%m})")
    return []


def check_grid(inputs: xr.Dataset) -> list[Finding]:
    """lat/lon: present, finite, ascending, regular spacing, on the globe."""
    out = []
    for name, lim in (("lat", 90.0), ("lon", 360.0)):
        if name not in inputs.coords:
            out.append(Finding("schema", name, "fail", f"no `{name}` coordinate"))
            continue
        c = np.asarray(inputs[name].values, dtype=np.float64)
        if c.size < 2 or not np.all(np.isfinite(c)):
            out.append(Finding("schema", name, "fail", "needs at least 2 finite values"))
            continue
        step = np.diff(c)
        if np.any(step <= 0):
            out.append(Finding("schema", name, "fail", "not strictly ascending"))
        elif not np.allclose(step, step[0], rtol=1e-4, atol=1e-9):
            out.append(Finding("schema", name, "fail", "irregular spacing (regular grid "
                               "expected)"))
        if np.abs(c).max() > lim:
            out.append(Finding("schema", name, "fail", f"values beyond +-{lim:g} degrees",
                               float(np.abs(c).max()), lim))
    return out


def check_codes(inputs: xr.Dataset) -> list[Finding]:
    """Country (ISO 3166 alpha-3) and admin-1 codes, and the integer region layers."""
    out = []
    for dim, pattern in (("country", r"^[A-Z]{3}$"), ("admin1", r"^[A-Z]{3}-.+$")):
        if dim not in inputs.coords:
            out.append(Finding("schema", dim, "fail", f"no `{dim}` coordinate"))
            continue
        codes = pd.Index([str(c) for c in inputs[dim].values])
        if codes.has_duplicates:
            out.append(Finding("schema", dim, "fail",
                               f"duplicated code {codes[codes.duplicated()][0]!r}"))
        bad = [c for c in codes if not re.fullmatch(pattern, c)]
        if bad:
            out.append(Finding("schema", dim, "fail", f"malformed code {bad[0]!r} (expected "
                               f"{'ISO 3166-1 alpha-3' if dim == 'country' else 'ISO3-suffix'})"))
    for name, (dims, table) in REGION_LAYERS.items():
        if name not in inputs:
            out.append(Finding("schema", name, "fail", "region layer missing"))
            continue
        da = inputs[name]
        if da.dims != dims:
            out.append(Finding("schema", name, "fail", f"dims {da.dims}, expected {dims}"))
            continue
        if da.dtype.kind not in "iu":
            out.append(Finding("schema", name, "fail", f"dtype {da.dtype}, expected integer"))
            continue
        n = inputs.sizes.get(table, 0)
        v = da.values
        lo = -1 if name != "admin1_country" else 0
        if v.size and (v.min() < lo or v.max() >= n):
            out.append(Finding("schema", name, "fail", f"ids outside [{lo}, {n - 1}] (the "
                               f"{table} table has {n} entries)", float(v.max()), n - 1))
    return out


def check_variable(inputs: xr.Dataset, name: str) -> list[Finding]:
    """One input: present, expected dims, float dtype, units attribute, finite and in range."""
    spec = INPUTS.get(name)
    if name not in inputs:
        return [Finding("schema", name, "fail", "input variable missing")]
    da = inputs[name]
    if spec is not None and da.dims != spec.dims:
        return [Finding("schema", name, "fail", f"dims {da.dims}, expected {spec.dims}")]
    if da.dtype.kind != "f":
        return [Finding("schema", name, "fail", f"dtype {da.dtype}, expected floating point")]
    out = []
    expected_units = VARIABLES.get(name, (None,))[0]
    units = da.attrs.get("units")
    if units is None:
        out.append(Finding("schema", name, "fail", "no `units` attribute"))
    elif expected_units is not None and str(units) != expected_units:
        out.append(Finding("schema", name, "fail", f"units {units!r}, expected "
                           f"{expected_units!r}", str(units)))
    v = da.values
    n_inf = int(np.isinf(v).sum())
    if n_inf:
        out.append(Finding("schema", name, "fail", f"{n_inf} infinite value(s)", n_inf, 0))
    finite = v[np.isfinite(v)]
    if spec is not None and finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        if lo < spec.lo:
            out.append(Finding("schema", name, "fail", f"value {lo:.6g} below the plausible "
                               f"minimum {spec.lo:g} {units or ''} (wrong units?)".rstrip(),
                               lo, spec.lo))
        if hi > spec.hi:
            out.append(Finding("schema", name, "fail", f"value {hi:.6g} above the plausible "
                               f"maximum {spec.hi:g} {units or ''} (wrong units?)".rstrip(),
                               hi, spec.hi))
    return out


def check_schema(inputs: xr.Dataset, variables: list[str]) -> tuple[int, list[Finding]]:
    """All schema checks; returns (subjects checked, findings)."""
    found = check_time(inputs) + check_grid(inputs) + check_codes(inputs)
    for name in variables:
        found += check_variable(inputs, name)
    return 5 + len(variables), found
