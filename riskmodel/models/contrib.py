"""TreeSHAP contributions of a LightGBM booster, computed once per distinct path.

LightGBM's `pred_contrib` (path-dependent TreeSHAP) sees a row only through the side it
takes at each split: two rows that go the same way at every internal node of a tree get
the same contributions from that tree, whatever their feature values. On a risk grid
neighbouring cells share most of their inputs, so a tree meets few distinct patterns: on
the global 0.1-degree world about 0.5% of a block's rows per tree. `contributions` finds
each tree's distinct patterns (a Numba pass over the rows, deciding every split exactly as
LightGBM does), asks LightGBM's own TreeSHAP for one row of each (`start_iteration`,
`num_iteration=1`), and adds each tree's values to the rows that share its pattern. The
result equals `pred_contrib` up to the order in which per-tree values are summed (about
1e-15); drivers are the same. Boosters whose trees use categorical splits or linear
leaves, or have more than one tree per iteration, go to `pred_contrib` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
from numba import njit, prange

# LightGBM's kZeroThreshold (1e-35f): dense rows drop values at or below it in magnitude,
# and "zero" missing-value splits send them the default way.
_ZERO = float(np.float32(1e-35))
# missing_type codes in bits 2-3 of a split's decision_type
_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN = 0, 1, 2


@dataclass(frozen=True)
class TreeSplits:
    """The internal nodes of a booster's trees, concatenated tree after tree.

    `start` (trees + 1,) delimits each tree's nodes in `feature` (column index), `threshold`
    (float64, exactly as stored), `default_left` (bool) and `missing` (0 none, 1 zero,
    2 NaN); `iteration` (trees,) is the boosting iteration of each tree; `used_start`
    (trees + 1,) delimits in `used` the distinct columns each tree splits on (the only ones
    it contributes to). Trees with a single leaf (no split; they shift only the bias) are
    left out.
    """

    start: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray
    iteration: np.ndarray
    used_start: np.ndarray
    used: np.ndarray


def _fields(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines() if "=" in line)


def iterations(booster: lgb.Booster, num_iteration: int | None) -> int:
    """The number of iterations LightGBM's `predict` uses for `num_iteration`: the best
    iteration when None and the booster has one, every iteration when <= 0 or None
    without one."""
    total = booster.current_iteration()
    if num_iteration is None:
        num_iteration = booster.best_iteration
    return total if num_iteration is None or num_iteration <= 0 else min(num_iteration, total)


def tree_splits(booster: lgb.Booster, num_iteration: int | None = None) -> TreeSplits | None:
    """The splits of the trees `predict(num_iteration=...)` uses (see `iterations`), read
    from the booster's model text; None when a tree has a categorical split or linear
    leaves, or an iteration has more than one tree (path grouping does not cover them)."""
    if booster.num_model_per_iteration() != 1:
        return None
    text = booster.model_to_string(num_iteration=iterations(booster, num_iteration))
    body = text.split("end of trees", 1)[0]
    starts, feats, thrs, lefts, miss, iters = [0], [], [], [], [], []
    for block in body.split("\nTree=")[1:]:
        number, _, rest = block.partition("\n")
        f = _fields(rest)
        if int(f.get("num_cat", "0")) > 0 or f.get("is_linear", "0") != "0":
            return None
        if int(f["num_leaves"]) < 2:
            continue
        dtype = np.array(f["decision_type"].split(), dtype=np.int64)
        if np.any(dtype & 1):  # categorical
            return None
        feats.append(np.array(f["split_feature"].split(), dtype=np.int64))
        thrs.append(np.array(f["threshold"].split(), dtype=np.float64))
        lefts.append((dtype & 2) != 0)
        miss.append(((dtype >> 2) & 3).astype(np.int8))
        iters.append(int(number))
        starts.append(starts[-1] + len(feats[-1]))
    cat = (lambda parts, dt: np.concatenate(parts).astype(dt) if parts
           else np.empty(0, dt))
    used = [np.unique(f) for f in feats]
    used_start = np.concatenate([[0], np.cumsum([len(u) for u in used])]).astype(np.int64)
    return TreeSplits(np.array(starts, np.int64), cat(feats, np.int64), cat(thrs, np.float64),
                      cat(lefts, np.bool_), cat(miss, np.int8), np.array(iters, np.int64),
                      used_start, cat(used, np.int64))


@njit(cache=True)
def _goes_left(v, threshold, default_left, missing):  # pragma: no cover - compiled
    # LightGBM's NumericalDecision on a dense row (float32 widened to double).
    if abs(v) <= _ZERO:
        v = 0.0  # dense rows keep only |x| > kZeroThreshold; the rest read as 0
    if np.isnan(v) and missing != _MISSING_NAN:
        v = 0.0
    if (missing == _MISSING_ZERO and abs(v) <= _ZERO) or (missing == _MISSING_NAN and np.isnan(v)):
        return default_left
    return v <= threshold


@njit(cache=True, parallel=True)
def _distinct_paths(X, start, feature, threshold, default_left, missing, inverse, first,
                    n_distinct):  # pragma: no cover - compiled
    # Per tree (in parallel): each row's pattern of sides as bits (one uint64 word per 64
    # internal nodes), grouped with an open-addressing hash table. inverse[t, r] is the
    # group of row r, first[t, g] the first row of group g, n_distinct[t] the groups.
    n = X.shape[0]
    size = 2
    while size < 2 * n:
        size *= 2
    for t in prange(start.shape[0] - 1):
        a = start[t]
        m = start[t + 1] - a
        words = (m + 63) // 64
        keys = np.zeros((n, words), np.uint64)
        slot_row = np.full(size, -1, np.int64)
        slot_group = np.empty(size, np.int64)
        count = 0
        for r in range(n):
            for k in range(m):
                v = np.float64(X[r, feature[a + k]])
                if _goes_left(v, threshold[a + k], default_left[a + k], missing[a + k]):
                    keys[r, k >> 6] |= np.uint64(1) << np.uint64(k & 63)
            h = np.uint64(1469598103934665603)
            for w in range(words):
                h = (h ^ keys[r, w]) * np.uint64(1099511628211)
                h ^= h >> np.uint64(29)
            s = np.int64(h & np.uint64(size - 1))
            while True:
                j = slot_row[s]
                if j < 0:
                    slot_row[s] = r
                    slot_group[s] = count
                    first[t, count] = r
                    inverse[t, r] = count
                    count += 1
                    break
                same = True
                for w in range(words):
                    if keys[j, w] != keys[r, w]:
                        same = False
                        break
                if same:
                    inverse[t, r] = slot_group[s]
                    break
                s = (s + 1) & (size - 1)
        n_distinct[t] = count


@njit(cache=True, parallel=True)
def _add_tree_values(out, values, offset, inverse, used, used_start):  # pragma: no cover
    # out[r, f] += values[offset[t] + inverse[t, r], f] over trees t in order (a fixed
    # summation order: the same bytes on every run), for the columns each tree splits on.
    for r in prange(out.shape[0]):
        for t in range(inverse.shape[0]):
            row = offset[t] + inverse[t, r]
            for i in range(used_start[t], used_start[t + 1]):
                f = used[i]
                out[r, f] += values[row, f]


def contributions(booster: lgb.Booster, X: np.ndarray, *, num_iteration: int | None = None,
                  threads: int = 0, splits: TreeSplits | None = None) -> np.ndarray:
    """(n, F) float64 log-odds contributions of the F features of `X` (n, F) (the bias
    column of `pred_contrib` left out) from the first `num_iteration` trees of `booster`,
    computed once per distinct path of each tree (module docstring).

    `splits` is `tree_splits(booster, num_iteration)`, passed by callers that keep it;
    without it, it is read from the booster. Falls back to `pred_contrib` on all rows when
    the trees are not plain numerical ones.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    n, F = X.shape
    if n == 0:  # LightGBM refuses empty input
        return np.zeros((0, F))
    num_iteration = iterations(booster, num_iteration)
    if splits is None:
        splits = tree_splits(booster, num_iteration)
    if splits is None:  # trees that path grouping does not cover
        full = booster.predict(X, pred_contrib=True, num_iteration=num_iteration,
                               num_threads=threads)
        return np.asarray(full, dtype=np.float64)[:, :F]
    trees = len(splits.iteration)
    out = np.zeros((n, F))
    if trees == 0:
        return out
    inverse = np.empty((trees, n), np.int32)
    first = np.empty((trees, n), np.int32)
    n_distinct = np.empty(trees, np.int64)
    _distinct_paths(X, splits.start, splits.feature, splits.threshold, splits.default_left,
                    splits.missing, inverse, first, n_distinct)
    values = []
    for t in range(trees):
        reps = X[first[t, :n_distinct[t]]]
        phi = booster.predict(reps, pred_contrib=True, start_iteration=int(splits.iteration[t]),
                              num_iteration=1, num_threads=threads)
        values.append(np.asarray(phi, dtype=np.float64)[:, :F])
    offset = np.concatenate([[0], np.cumsum(n_distinct)[:-1]]).astype(np.int64)
    _add_tree_values(out, np.concatenate(values), offset, inverse, splits.used,
                     splits.used_start)
    return out
