"""Cluster bootstrap confidence intervals for model-minus-baseline differences.

Areas are resampled with replacement by admin-1 unit, each drawn unit bringing all its
cells and months: neighbouring cells share drivers and cases, so resampling single cells
would pretend to more independent evidence than there is and give intervals too narrow. A
replicate is a vector of draw counts per unit, applied as row weights; the same replicate
scores every method, so the differences are paired. Rows are sorted once per method, and a
replicate costs two cumulative sums (ROC-AUC, PR-AUC) or one matrix product of per-unit
sums (Brier score, precision at budget).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BOOTSTRAP_METRICS = ("auc", "pr_auc", "brier", "precision_at_budget")


@dataclass(frozen=True)
class Ranked:
    """One method's rows sorted by descending probability, with the last row of each run
    of tied probabilities (tied rows share one threshold, as in `models.metrics`)."""

    y: np.ndarray        # (n,) float64 outcomes in sorted order
    unit: np.ndarray     # (n,) int64 unit index in sorted order
    ends: np.ndarray     # (groups,) last sorted row of each tie group


def rank_rows(y: np.ndarray, p: np.ndarray, unit: np.ndarray) -> Ranked:
    """Sort rows by descending `p` (stable) and find the tie groups."""
    order = np.argsort(-np.asarray(p, np.float64), kind="stable")
    ps = np.asarray(p, np.float64)[order]
    ends = np.r_[np.flatnonzero(np.diff(ps) != 0), len(ps) - 1]
    return Ranked(np.asarray(y, np.float64)[order], np.asarray(unit)[order], ends)


def weighted_auc_ap(r: Ranked, unit_weight: np.ndarray) -> tuple[float, float]:
    """ROC-AUC and PR-AUC of `r` with row weight `unit_weight[unit]` (NaN if undefined)."""
    w = unit_weight[r.unit]
    tp = np.cumsum(r.y * w)[r.ends]
    seen = np.cumsum(w)[r.ends]
    fp = seen - tp
    if tp[-1] <= 0:
        return float("nan"), float("nan")
    recall = tp / tp[-1]
    precision = np.where(seen > 0, tp / np.maximum(seen, 1e-300), 0.0)
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    if fp[-1] <= 0:
        return float("nan"), ap
    auc = float(np.trapezoid(np.r_[0.0, recall], np.r_[0.0, fp / fp[-1]]))
    return auc, ap


def _replicates(y: np.ndarray, p: np.ndarray, visits: np.ndarray, unit: np.ndarray,
                n_units: int, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Each bootstrap metric of one method for every replicate (rows of `counts`)."""
    r = rank_rows(y, p, unit)
    ranked = np.array([weighted_auc_ap(r, c) for c in counts])
    rows = np.bincount(unit, minlength=n_units).astype(np.float64)
    sq = np.bincount(unit, (p - y) ** 2, minlength=n_units)
    hits = np.bincount(unit, visits * y, minlength=n_units)
    visited = np.bincount(unit, visits, minlength=n_units)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"auc": ranked[:, 0], "pr_auc": ranked[:, 1],
                "brier": (counts @ sq) / (counts @ rows),
                "precision_at_budget": (counts @ hits) / (counts @ visited)}


def bootstrap_differences(y: np.ndarray, preds: dict[str, np.ndarray],
                          visits: dict[str, np.ndarray], cluster: np.ndarray, *,
                          n_boot: int, seed: int, level: float = 0.95,
                          reference: str = "model") -> dict[str, dict[str, Any]]:
    """Differences `reference` minus each other method for `BOOTSTRAP_METRICS`.

    Returns {baseline: {metric: {"estimate", "lo", "hi", "excludes_zero"}}}: the estimate
    on all rows and the percentile interval at `level` over `n_boot` replicates. For the
    Brier score a negative difference favours the reference; for the others a positive.
    """
    units, unit = np.unique(np.asarray(cluster), return_inverse=True)
    n_units = len(units)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot)
    # Row 0 weighs every unit once: the estimate on all rows, from the same code path.
    weights = np.vstack([np.ones(n_units), counts]).astype(np.float64)
    est, reps = {}, {}
    for name, p in preds.items():
        values = _replicates(y, np.asarray(p, np.float64), visits[name], unit, n_units, weights)
        est[name] = {k: float(v[0]) for k, v in values.items()}
        reps[name] = {k: v[1:] for k, v in values.items()}
    a = (1 - level) / 2
    out: dict[str, dict[str, Any]] = {}
    for name in preds:
        if name == reference:
            continue
        out[name] = {}
        for k in BOOTSTRAP_METRICS:
            d = reps[reference][k] - reps[name][k]
            d = d[np.isfinite(d)]
            lo, hi = (np.quantile(d, [a, 1 - a]) if len(d) else (np.nan, np.nan))
            out[name][k] = {"estimate": est[reference][k] - est[name][k],
                            "lo": float(lo), "hi": float(hi),
                            "excludes_zero": bool(lo > 0 or hi < 0)}
    return out
