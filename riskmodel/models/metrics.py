"""Evaluation metrics on plain arrays: ranking, precision at a budget, calibration.

All functions take 1-D arrays of equal length: `y` 0/1 outcomes, `score` any real score
(higher = riskier), optional `weight` (non-negative row weights, default 1). Ties in the
score are handled as scikit-learn does (tied rows share one threshold), so the values
match `sklearn.metrics` to rounding; `METRICS` maps each function to its twin and the
tests compare them on small arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _prepare(y: np.ndarray, score: np.ndarray, weight: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    w = np.ones_like(y) if weight is None else np.asarray(weight, dtype=np.float64).ravel()
    if not (len(y) == len(s) == len(w)):
        raise ValueError(f"y ({len(y)}), score ({len(s)}) and weight ({len(w)}) differ in "
                         f"length")
    if np.isnan(s).any() or np.isnan(y).any():
        raise ValueError("y and score must not contain NaN; drop unscored rows first")
    return y, s, w


def _tie_curve(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative weighted true and false positives at each distinct score, descending."""
    order = np.argsort(-s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    tp = np.cumsum(y * w)[last_of_tie]
    fp = np.cumsum((1 - y) * w)[last_of_tie]
    return tp, fp


def roc_auc(y: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Area under the ROC curve (ties count one half); NaN if a class is absent.

    Twin: `sklearn.metrics.roc_auc_score(y, score, sample_weight=weight)`.
    """
    y, s, w = _prepare(y, score, weight)
    tp, fp = _tie_curve(y, s, w)
    if len(tp) == 0 or tp[-1] <= 0 or fp[-1] <= 0:
        return float("nan")
    tpr = np.r_[0.0, tp / tp[-1]]
    fpr = np.r_[0.0, fp / fp[-1]]
    return float(np.trapezoid(tpr, fpr))


def average_precision(y: np.ndarray, score: np.ndarray,
                      weight: np.ndarray | None = None) -> float:
    """Area under the precision-recall curve as a step sum (PR AUC); NaN without positives.

    Twin: `sklearn.metrics.average_precision_score(y, score, sample_weight=weight)`.
    """
    y, s, w = _prepare(y, score, weight)
    tp, fp = _tie_curve(y, s, w)
    if len(tp) == 0 or tp[-1] <= 0:
        return float("nan")
    precision = tp / np.maximum(tp + fp, 1e-300)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def precision_at_budget(y: np.ndarray, score: np.ndarray, group: np.ndarray,
                        share: float = 0.05) -> float:
    """Share of positives among the top `share` of rows of each group, pooled over groups.

    `group` (e.g. the month of each row) defines the budget: in each group the
    ceil(share * n_group) highest-scoring rows are flagged (ties broken by row order, so
    the result is deterministic). Twin: `sklearn.metrics.precision_score` on those flags.
    """
    y, s, _ = _prepare(y, score, None)
    group = np.asarray(group).ravel()
    if len(group) != len(y):
        raise ValueError(f"group ({len(group)}) and y ({len(y)}) differ in length")
    flagged = budget_flags(s, group, share)
    if not flagged.any():
        return float("nan")
    return float(y[flagged].mean())


def budget_flags(score: np.ndarray, group: np.ndarray, share: float) -> np.ndarray:
    """Boolean flags of the ceil(share * n) highest scores within each group."""
    if not 0 < share <= 1:
        raise ValueError(f"budget share must be in (0, 1], got {share}")
    score = np.asarray(score, dtype=np.float64).ravel()
    group = np.asarray(group).ravel()
    flags = np.zeros(len(score), dtype=bool)
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        k = int(np.ceil(share * len(rows)))
        top = rows[np.argsort(-score[rows], kind="stable")[:k]]
        flags[top] = True
    return flags


@dataclass(frozen=True)
class Reliability:
    """A reliability table: per bin, rows, mean predicted probability, observed rate."""

    count: np.ndarray       # (bins,) weighted rows
    predicted: np.ndarray   # (bins,) mean predicted probability
    observed: np.ndarray    # (bins,) observed event rate
    ece: float

    def as_rows(self) -> list[dict[str, float]]:
        """The table as JSON-ready rows."""
        return [{"bin": i + 1, "rows": float(c), "predicted": float(p), "observed": float(o)}
                for i, (c, p, o) in enumerate(zip(self.count, self.predicted, self.observed))]


def reliability(y: np.ndarray, prob: np.ndarray, weight: np.ndarray | None = None,
                bins: int = 10) -> Reliability:
    """Reliability table and expected calibration error over `bins` equal-mass bins.

    Rows are sorted by predicted probability and cut into `bins` groups of (nearly) equal
    count; ECE = sum over bins of (bin weight / total weight) * |observed - predicted|.
    Twin of the bin means: `sklearn.calibration.calibration_curve(strategy="quantile")`.
    """
    y, p, w = _prepare(y, prob, weight)
    if len(y) < bins:
        raise ValueError(f"need at least {bins} rows for {bins} bins, got {len(y)}")
    order = np.argsort(p, kind="stable")
    parts = np.array_split(order, bins)
    count = np.array([w[i].sum() for i in parts])
    predicted = np.array([np.average(p[i], weights=w[i]) for i in parts])
    observed = np.array([np.average(y[i], weights=w[i]) for i in parts])
    ece = float(np.sum(count / count.sum() * np.abs(observed - predicted)))
    return Reliability(count, predicted, observed, ece)


def expected_calibration_error(y: np.ndarray, prob: np.ndarray,
                               weight: np.ndarray | None = None, bins: int = 10) -> float:
    """ECE over `bins` equal-mass bins (see `reliability`)."""
    return reliability(y, prob, weight, bins).ece


def interval_coverage(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of rows whose true value lies in [lo, hi] (all arrays (n,), no NaN)."""
    truth, lo, hi = (np.asarray(a, dtype=np.float64).ravel() for a in (truth, lo, hi))
    return float(np.mean((truth >= lo) & (truth <= hi)))


@dataclass(frozen=True)
class Metric:
    """One metric: its function, its scikit-learn twin (by name) and its meaning."""

    fn: Callable[..., float]
    twin: str
    meaning: str


METRICS: dict[str, Metric] = {
    "auc": Metric(roc_auc, "sklearn.metrics.roc_auc_score",
                  "probability a random positive outranks a random negative"),
    "pr_auc": Metric(average_precision, "sklearn.metrics.average_precision_score",
                     "area under the precision-recall curve (average precision)"),
    "precision_at_budget": Metric(precision_at_budget, "sklearn.metrics.precision_score",
                                  "share of positives among the top 5% of cells per month"),
    "ece": Metric(expected_calibration_error,
                  "sklearn.calibration.calibration_curve(strategy='quantile')",
                  "expected calibration error over 10 equal-mass bins"),
    "interval_coverage": Metric(interval_coverage, "numpy.mean of the inclusion test",
                                "share of rows whose true risk lies in [risk_lo, risk_hi]"),
}
