"""Drift: population stability index (PSI) of each feature at as-of vs its training data.

The training distribution of every feature is summarised by quantile bin edges of the
training months' land cells, the share of rows in each bin, and the share missing. It is
saved with the model (`feature_distribution` in model.json, written by training through
`feature_distribution`), so a scoring run compares against what the model actually saw.
PSI = sum((a - e) * ln(a / e)) over the bins (missing is a bin of its own); by the usual
reading < 0.1 is stable, 0.1-0.25 a shift worth a look, > 0.25 a major shift.

One month's cross-section is not a random sample of the pooled training data: a region-wide
drought moves every cell at once, and a country-level feature has only a few values. So
the reference also keeps how far single training months strayed from the pool (the 95th
percentile and the maximum of their PSI), and a feature fails only when it is beyond both
the absolute limit and `drift_factor` times the most unusual training month; it warns
above `drift_warn_psi` and the training months' 95th percentile. Measured on the synthetic
demo world, the as-of month's largest ratio to the training maximum was 1.4 (a drought).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.checks.findings import Finding
from riskmodel.checks.rows import FeatureRows
from riskmodel.config import ChecksConfig

# Floor on bin shares so an empty bin on one side gives a large but finite PSI.
EPS = 1e-4
# PSI differences below this are rounding, not drift (the reference is stored rounded).
TOL = 1e-3
KEY = "feature_distribution"


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Inner quantile edges of finite `values` (ties merged: a 0/1 feature has one edge)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.empty(0)
    qs = np.quantile(finite.astype(np.float64), np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(qs)


def bin_shares(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, float]:
    """Share of finite `values` in each bin defined by inner `edges`, and the missing share."""
    values = np.asarray(values, dtype=np.float64).ravel()
    ok = np.isfinite(values)
    missing = float(1.0 - ok.mean()) if values.size else 1.0
    counts = np.bincount(np.searchsorted(edges, values[ok], side="right"),
                         minlength=len(edges) + 1).astype(np.float64)
    total = counts.sum()
    return (counts / total if total else counts), missing


def feature_distribution(cube: xr.Dataset, months: Sequence[int] | np.ndarray,
                         country_id: np.ndarray, *, bins: int = 10) -> dict[str, Any]:
    """Summary of each feature over land cells of time indices `months` (JSON-able).

    `country_id` (lat, lon) marks land (>= 0). Returns {"bins", "months", "features":
    {name: {"edges", "shares", "missing"}}}, to store in the model metadata.
    """
    land = np.asarray(country_id) >= 0
    idx = np.asarray(months, dtype=np.int64)
    out: dict[str, Any] = {}
    for name in cube.data_vars:
        vals = cube[name].isel(time=idx).values[:, land]
        edges = _edges(vals, bins)
        shares, missing = bin_shares(vals, edges)
        monthly = [psi(shares, missing, *bin_shares(row, edges)) for row in vals]
        out[str(name)] = {"edges": [float(e) for e in edges],
                          "shares": [round(float(s), 6) for s in shares],
                          "missing": round(missing, 6),
                          "monthly_psi_q95": round(float(np.quantile(monthly, 0.95)), 4)
                          if monthly else 0.0,
                          "monthly_psi_max": round(float(max(monthly)), 4) if monthly else 0.0}
    return {"bins": bins, "months": [int(idx[0]), int(idx[-1])] if idx.size else [],
            "features": out}


def psi(expected: np.ndarray, expected_missing: float, actual: np.ndarray,
        actual_missing: float) -> float:
    """PSI between two binned distributions, each with its missing share as a bin."""
    e = np.append(np.asarray(expected) * (1 - expected_missing), expected_missing)
    a = np.append(np.asarray(actual) * (1 - actual_missing), actual_missing)
    e, a = np.maximum(e, EPS), np.maximum(a, EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def check_drift(rows: FeatureRows, reference: dict[str, Any], cfg: ChecksConfig
                ) -> tuple[int, list[Finding], dict[str, float]]:
    """PSI of every feature of `rows` (the as-of month's land cells) vs `reference`.

    Returns (features checked, findings, psi by feature). A feature the reference lacks is
    a failure: the model would score data it never saw summarised.
    """
    ref = reference["features"]
    out, values = [], {}
    for j, name in enumerate(rows.names):
        if name not in ref:
            out.append(Finding("drift", name, "fail", "no training distribution for this "
                               "feature in the model metadata"))
            continue
        r = ref[name]
        edges = np.asarray(r["edges"], dtype=np.float64)
        shares, missing = bin_shares(rows.values[:, j], edges)
        value = psi(np.asarray(r["shares"]), float(r["missing"]), shares, missing)
        values[name] = round(value, 4)
        fail_at = max(cfg.drift_psi, cfg.drift_factor * float(r.get("monthly_psi_max", 0.0)))
        warn_at = max(cfg.drift_warn_psi, float(r.get("monthly_psi_q95", 0.0)))
        if value > fail_at + TOL:
            out.append(Finding("drift", name, "fail", f"PSI {value:.2f} vs training, beyond "
                               f"{fail_at:.2f} ({cfg.drift_factor:g} x the most unusual "
                               f"training month, at least {cfg.drift_psi:g})",
                               round(value, 4), round(fail_at, 4)))
        elif value > warn_at + TOL:
            out.append(Finding("drift", name, "warn", f"PSI {value:.2f} vs training, above "
                               f"{warn_at:.2f} (95% of training months were below)",
                               round(value, 4), round(warn_at, 4)))
    return len(rows.names), out, values
