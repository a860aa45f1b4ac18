"""Cluster bootstrap confidence intervals for model-minus-baseline differences (and, on
synthetic worlds, the oracle-minus-method headroom).

Areas are resampled with replacement by admin-1 unit, each drawn unit bringing all its
cells and months: neighbouring cells share drivers and cases, so resampling single cells
would pretend to more independent evidence than there is and give intervals too narrow. A
replicate is a vector of draw counts per unit, applied as row weights; the same replicate
scores every method, so the differences are paired. Rows are sorted once per method, and a
replicate costs one cumulative sum over all rows plus work on the positives (ROC-AUC,
PR-AUC) or one matrix product of per-unit sums (Brier score, precision at budget).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BOOTSTRAP_METRICS = ("auc", "pr_auc", "brier", "precision_at_budget")


@dataclass(frozen=True)
class Ranked:
    """One method's rows sorted by descending probability, reduced to what the ROC and PR
    curves need: tied rows share one threshold (as in `models.metrics`), and only tie
    groups holding a positive move the curves' positive side."""

    unit: np.ndarray        # (n,) unit index of every row, in sorted order
    pos_rows: np.ndarray    # (m,) sorted positions of the positive rows
    last_pos: np.ndarray    # (g,) index into pos_rows of each positive group's last positive
    group_end: np.ndarray   # (g,) sorted position of each positive group's last row
    group_start: np.ndarray  # (g,) sorted position of each positive group's first row


def rank_rows(y: np.ndarray, p: np.ndarray, unit: np.ndarray) -> Ranked:
    """Sort rows by descending `p` (stable) and index the tie groups holding positives."""
    order = np.argsort(-np.asarray(p, np.float64), kind="stable")
    ps = np.asarray(p, np.float64)[order]
    ys = np.asarray(y)[order] > 0
    starts = np.r_[0, np.flatnonzero(np.diff(ps) != 0) + 1]
    group = np.cumsum(np.r_[False, np.diff(ps) != 0])      # tie group of each sorted row
    ends = np.r_[starts[1:] - 1, len(ps) - 1]
    pos_rows = np.flatnonzero(ys)
    pos_group = group[pos_rows]
    last = np.r_[np.flatnonzero(np.diff(pos_group) != 0), len(pos_rows) - 1] \
        if len(pos_rows) else np.empty(0, np.int64)
    g = pos_group[last]
    return Ranked(np.asarray(unit)[order], pos_rows, last, ends[g], starts[g])


def weighted_auc_ap(r: Ranked, unit_weight: np.ndarray) -> tuple[float, float]:
    """ROC-AUC and PR-AUC of `r` with row weight `unit_weight[unit]` (NaN if undefined).

    With tp/fp the weighted positives/negatives at or above a positive tie group g:
    AP = sum_g dtp_g * tp_g / (tp_g + fp_g) / TP and
    AUC = sum_g dtp_g * (FP - fp_g + dfp_g / 2) / (TP * FP), ties counting one half.
    """
    w = unit_weight[r.unit]
    seen = np.cumsum(w)
    tp = np.cumsum(w[r.pos_rows])[r.last_pos] if len(r.pos_rows) else np.zeros(1)
    total_tp = float(tp[-1])
    if total_tp <= 0:
        return float("nan"), float("nan")
    dtp = np.diff(np.r_[0.0, tp])
    seen_end = seen[r.group_end]
    seen_before = np.where(r.group_start > 0, seen[np.maximum(r.group_start - 1, 0)], 0.0)
    fp_end = seen_end - tp
    dfp = fp_end - (seen_before - (tp - dtp))
    ap = float(np.sum(dtp * tp / np.maximum(seen_end, 1e-300)) / total_tp)
    total_fp = float(seen[-1]) - total_tp
    if total_fp <= 0:
        return float("nan"), ap
    auc = float(np.sum(dtp * (total_fp - fp_end + 0.5 * dfp)) / (total_tp * total_fp))
    return auc, ap


def _budget_precision(y: np.ndarray, p: np.ndarray, unit: np.ndarray, group: np.ndarray,
                      budget: int, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision at budget of every replicate, the top `budget` re-selected inside each one,
    and the number of distinct units the visits fall in.

    In a replicate a row weighs `counts[b, unit]` (its unit's draw count): a unit drawn
    twice offers each of its areas twice, a unit not drawn offers none. In every group (one
    month of one origin) the rows are ranked by `p` and visited from the top until the
    weights visited reach `budget`; the rows tied at the cut share the places left in
    proportion to their weights, so with every weight 1 this is `metrics.budget_weights`.
    Keeping the full-sample visits instead would make every replicate in which the visited
    units are drawn give the same ratio: a zero-width interval that only reflects how few
    units the visits fall in. Returns (precision per replicate (B,), distinct units with a
    visit per replicate (B,)).
    """
    n_boot = counts.shape[0]
    hits = np.zeros(n_boot)
    visits = np.zeros(n_boot)
    seen = np.zeros((n_boot, counts.shape[1]), dtype=bool)
    order = np.lexsort((-p, group))                     # by group, then descending p
    bounds = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0, True])
    for start, end in zip(bounds[:-1], bounds[1:]):
        rows = order[start:end]
        ps = p[rows]
        depth = min(len(rows), 4 * budget)
        while True:
            # Extend to the end of the tie group at the depth, so no tie is cut in two.
            if depth < len(rows):
                depth = int(np.searchsorted(-ps, -ps[depth - 1], side="right"))
            w = counts[:, unit[rows[:depth]]].astype(np.float64)   # (B, depth)
            cum = np.cumsum(w, axis=1)
            if depth == len(rows) or np.all(cum[:, -1] >= budget):
                break
            depth = min(len(rows), 2 * depth)
        tie = np.r_[0, np.cumsum(np.diff(ps[:depth]) != 0)]      # tie group of each row
        n_tie = int(tie[-1]) + 1
        first = np.r_[0, np.flatnonzero(np.diff(tie)) + 1]      # first row of each tie group
        before = np.where(first > 0, cum[:, np.maximum(first - 1, 0)], 0.0)  # (B, n_tie)
        tie_w = np.add.reduceat(w, first, axis=1) if n_tie else np.zeros((n_boot, 0))
        left = np.clip(budget - before, 0.0, tie_w)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(tie_w > 0, left / tie_w, 0.0)[:, tie] * w      # (B, depth)
        hits += share @ y[rows[:depth]]
        visits += share.sum(axis=1)
        np.logical_or.at(seen.T, unit[rows[:depth]], (share > 0).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / visits, seen.sum(axis=1).astype(np.float64)


def _replicates(y: np.ndarray, p: np.ndarray, unit: np.ndarray, group: np.ndarray,
                n_units: int, budget: int, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Each bootstrap metric of one method for every replicate (rows of `counts`), plus
    `visited_units`, the distinct units behind the visits at budget."""
    r = rank_rows(y, p, unit)
    ranked = np.array([weighted_auc_ap(r, c) for c in counts])
    rows = np.bincount(unit, minlength=n_units).astype(np.float64)
    sq = np.bincount(unit, (p - y) ** 2, minlength=n_units)
    precision, units_visited = _budget_precision(np.asarray(y, np.float64), p, unit, group,
                                                 budget, counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"auc": ranked[:, 0], "pr_auc": ranked[:, 1],
                "brier": (counts @ sq) / (counts @ rows),
                "precision_at_budget": precision, "visited_units": units_visited}


@dataclass(frozen=True)
class Replicates:
    """Every method's bootstrap metrics: `estimate[method][metric]` on all rows and
    `replicates[method][metric]` (n_boot,) over the same resampled units."""

    estimate: dict[str, dict[str, float]]
    replicates: dict[str, dict[str, np.ndarray]]


def bootstrap_replicates(y: np.ndarray, preds: dict[str, np.ndarray], cluster: np.ndarray,
                         group: np.ndarray, *, budget: int, n_boot: int,
                         seed: int) -> Replicates:
    """`BOOTSTRAP_METRICS` of every method in `preds` on all rows and on `n_boot` cluster
    bootstrap replicates (the same replicates for every method, so differences pair).

    `cluster` (n,) is the resampled unit of every row, `group` (n,) the month (of one
    origin) a row belongs to: precision at budget visits the top `budget` rows of each
    group, re-selected inside every replicate. `visited_units` (estimate and replicates)
    counts the distinct units those visits fall in.
    """
    units, unit = np.unique(np.asarray(cluster), return_inverse=True)
    group = np.asarray(group)
    if group.shape != unit.shape:
        raise ValueError(f"bootstrap: group has {group.size} rows, cluster {unit.size}")
    n_units = len(units)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot)
    # Row 0 weighs every unit once: the estimate on all rows, from the same code path.
    weights = np.vstack([np.ones(n_units), counts]).astype(np.float64)
    est, reps = {}, {}
    for name, p in preds.items():
        values = _replicates(np.asarray(y, np.float64), np.asarray(p, np.float64), unit,
                             group, n_units, budget, weights)
        est[name] = {k: float(v[0]) for k, v in values.items()}
        reps[name] = {k: v[1:] for k, v in values.items()}
    return Replicates(est, reps)


def differences(r: Replicates, reference: str, *,
                level: float = 0.95) -> dict[str, dict[str, Any]]:
    """`reference` minus each other method of `r`: {method: {metric: {"estimate", "lo",
    "hi", "excludes_zero", "degenerate"}}}, the percentile interval at `level`. For the
    Brier score a negative difference favours the reference; for the others a positive.

    A zero-width interval (every replicate gives the same difference) says the resampling
    could not vary the metric, not that the difference is certain: it is flagged
    `degenerate` and never reported as excluding zero.
    """
    a = (1 - level) / 2
    out: dict[str, dict[str, Any]] = {}
    for name in r.estimate:
        if name == reference:
            continue
        out[name] = {}
        for k in BOOTSTRAP_METRICS:
            d = r.replicates[reference][k] - r.replicates[name][k]
            d = d[np.isfinite(d)]
            lo, hi = (np.quantile(d, [a, 1 - a]) if len(d) else (np.nan, np.nan))
            degenerate = bool(len(d) == 0
                              or np.ptp(d) <= 1e-12 * max(1.0, float(np.max(np.abs(d)))))
            out[name][k] = {"estimate": r.estimate[reference][k] - r.estimate[name][k],
                            "lo": float(lo), "hi": float(hi),
                            "excludes_zero": bool((lo > 0 or hi < 0) and not degenerate),
                            "degenerate": degenerate}
    return out


def visited_units(r: Replicates) -> dict[str, dict[str, float]]:
    """Distinct resampled units behind each method's visits at budget: on all rows and the
    smallest and median over the replicates. A precision at budget resting on a handful of
    units has an interval to match, however many rows it counts."""
    return {m: {"estimate": r.estimate[m]["visited_units"],
                "replicate_min": float(np.min(r.replicates[m]["visited_units"])),
                "replicate_median": float(np.median(r.replicates[m]["visited_units"]))}
            for m in r.estimate}
