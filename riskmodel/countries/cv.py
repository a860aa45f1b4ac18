"""Grouped cross-validation of the country model and its baselines.

Two schemes, each fold holding out whole groups so a country's repeated surveys never sit
on both sides: leave-one-country-out (`loco`) and leave-one-region-out (`loro`, World Bank
regions, a harder test of transfer to places unlike the training ones). Every method is
refitted on each fold's training rows, its interval included. The `last_observed` baseline
predicts a survey by the same country's latest earlier survey; it exists only for rows
with an earlier survey, so its comparison with the other methods is made on those rows.

Scores per method: MAE (percentage points), Spearman rank correlation between predicted
and observed shares (does the method order countries right?), coverage of the nominal
80% interval and its mean width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from riskmodel.countries.design import Design
from riskmodel.countries.model import INTERVAL, POINT_MODELS, IntervalModel
from riskmodel.countries.regions import regions_of
from riskmodel.models.metrics import interval_coverage

METHODS = tuple(POINT_MODELS)
# Called before each fold with (fold number from 1, number of folds, held-out group): a
# full cross-validation takes tens of seconds, so the CLI reports every fold.
FoldHook = Callable[[int, int, str], None]


def last_observed(iso3: np.ndarray, year: np.ndarray, value: np.ndarray) -> np.ndarray:
    """For each row, the same country's value at its latest earlier survey (NaN if none)."""
    out = np.full(len(value), np.nan)
    for i, (c, y) in enumerate(zip(iso3, year)):
        earlier = np.flatnonzero((iso3 == c) & (year < y))
        if len(earlier):
            out[i] = value[earlier[np.argmax(year[earlier])]]
    return out


def cross_validate(design: Design, groups: np.ndarray, *,
                   holdout: Iterable[str] | None = None,
                   on_fold: FoldHook | None = None) -> dict[str, np.ndarray]:
    """Out-of-fold (value, lo, hi) per method, each (3, n) (NaN for rows not held out).

    One fold per distinct `groups` value (or per value in `holdout` only, to evaluate a
    subset); training rows are all rows of the other groups. `on_fold` is told of each fold
    before it is fitted.
    """
    n = len(design.value)
    out = {m: np.full((3, n), np.nan) for m in METHODS}
    folds = sorted(set(groups)) if holdout is None else sorted(set(holdout))
    for i, g in enumerate(folds, 1):
        if on_fold is not None:
            on_fold(i, len(folds), str(g))
        test = groups == g
        train = ~test
        if not test.any() or not train.any():
            continue
        for m in METHODS:
            model = IntervalModel(m).fit(design.X[train], design.value[train],
                                         design.iso3[train])
            out[m][:, test] = np.stack(model.predict(design.X[test]))
    return out


def score(observed: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """MAE, Spearman correlation, interval coverage and width of (3, n) `pred` (rows with
    NaN are skipped; coverage is None where a method has no interval)."""
    ok = ~np.isnan(pred[0])
    y, p = observed[ok], pred[:, ok]
    if not ok.any():
        return {"n": 0, "mae": None, "spearman": None, "coverage": None, "width": None}
    has_interval = not np.isnan(p[1]).any()
    # A constant prediction (one fold's global mean) orders nothing: no correlation.
    ranked = len(y) > 2 and np.ptp(p[0]) > 0 and np.ptp(y) > 0
    rho = float(spearmanr(p[0], y).statistic) if ranked else float("nan")
    return {"n": int(ok.sum()), "mae": float(np.mean(np.abs(p[0] - y))), "spearman": rho,
            "coverage": interval_coverage(y, p[1], p[2]) if has_interval else None,
            "width": float(np.mean(p[2] - p[1])) if has_interval else None}


def evaluate(design: Design, scheme: str, *, holdout: Iterable[str] | None = None,
             on_fold: FoldHook | None = None) -> dict[str, Any]:
    """Cross-validate every method under `scheme` ("loco" or "loro") and score it, on all
    rows and on the rows with an earlier survey (where `last_observed` competes);
    `on_fold` as in `cross_validate`."""
    if scheme == "loco":
        groups = design.iso3
    elif scheme == "loro":
        region = regions_of(design.iso3)
        groups = np.array([region[c] for c in design.iso3])
    else:
        raise ValueError(f"unknown scheme {scheme!r}; use 'loco' or 'loro'")
    preds = cross_validate(design, groups, holdout=holdout, on_fold=on_fold)
    last = last_observed(design.iso3, design.year, design.value)
    preds_with_last = {**preds, "last_observed": np.stack([last, np.full_like(last, np.nan),
                                                           np.full_like(last, np.nan)])}
    earlier = ~np.isnan(last)
    return {
        "scheme": scheme, "folds": len(set(groups)), "interval": INTERVAL,
        "all_rows": {m: score(design.value, p) for m, p in preds.items()},
        "rows_with_earlier_survey": {m: score(design.value[earlier], p[:, earlier])
                                     for m, p in preds_with_last.items()},
    }
