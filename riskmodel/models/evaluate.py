"""Out-of-time evaluation of the risk models against the synthetic world's truth.

The held-out period is the last `HOLDOUT_MONTHS` months whose label window (t, t+H] lies
inside the record; models are trained (with the config's `[model]` section, exactly as
`riskmodel run` trains them) on months whose label windows end before that period starts,
so no held-out outcome is seen in fitting, early stopping or calibration. Every land cell
of every held-out month is scored. Per target:

- `auc`, `pr_auc`, `precision_at_budget` (top `BUDGET_SHARE` of cells per month) and `ece`
  (10 equal-mass bins) judge the score at the cells' *actual* inspection coverage against
  the observed label (>= 1 identified case in (t, t+H]); the `oracle_*` figures score with
  the world's true probability of that label, 1 - exp(-sum over the window of
  true_rate x detection_prob), the best any model could do.
- `interval_coverage`: share of held-out cell-months whose [risk_lo, risk_hi] at actual
  coverage contains that true probability. Each held-out month's band is refitted as
  `riskmodel run` refits it (`riskmodel.models.interval.refit_interval`): on the newest
  months whose label windows are complete by that month, every land cell of them scored
  by the same model (the hold-out's first months read months before the hold-out, later
  ones the hold-out's own earlier months once their windows have closed).
- `auc_truth_standard_detection` and `auc_truth_naive` rank true incidence (>= 1 true case
  in (t, t+H], identified or not): the first with the product's score (inspection
  coverage set to the reference level for every cell), the second with the naive score:
  the same model, trained on raw identified cases, scored on the raw inputs (every cell
  at its actual inspection coverage), i.e. what a system that ignores under-reporting
  would publish. It learns where inspectors look along with where cases happen.

`details` adds the reliability tables, the interval at standard detection (against
1 - exp(-detection(reference) x sum of true_rate)), widths, base rates, timings, and a
second, stronger comparison: `auc_truth_without_coverage`, a model trained on the same
rows without the inspection-coverage feature (blinding the model to where inspectors go is
another way to correct for it; docs/models.md compares the two).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.config import RunConfig
from riskmodel.errors import InputError
from riskmodel.models import metrics
from riskmodel.models.interval import (
    REFIT_MONTHS,
    LabelledRows,
    monthly_bands,
    monthly_refits,
)
from riskmodel.models.fitting import (
    COVERAGE_FEATURE,
    fit_model,
    reference_values,
    training_months,
    training_table,
)
from riskmodel.models.labels import future_sum
from riskmodel.models.table import Table, feature_rows, land_cells
from riskmodel.world.truth import detection_probability

HOLDOUT_MONTHS = 24
BUDGET_SHARE = 0.05
ECE_BINS = 10
KEYS = ("auc", "oracle_auc", "pr_auc", "oracle_pr_auc", "precision_at_budget",
        "oracle_precision_at_budget", "ece", "interval_coverage",
        "auc_truth_standard_detection", "auc_truth_naive")


@dataclass(frozen=True)
class Holdout:
    """Month indices for training labels and for the held-out (scored) period."""

    train_months: np.ndarray
    test_months: np.ndarray


def holdout_split(n_months: int, horizon: int, holdout: int = HOLDOUT_MONTHS) -> Holdout:
    """Train / held-out months for a record of `n_months` with label horizon `horizon`.

    Held-out: the last `holdout` months with a complete label window (t + H < n_months).
    Training: months from the feature warm-up on whose window ends before the first
    held-out month (t + H < first held-out month).
    """
    first = n_months - horizon - holdout
    test = np.arange(first, n_months - horizon)
    train = training_months(n_months, horizon, last=first - 1)
    if first <= 0 or len(train) == 0:
        raise InputError(f"the world has {n_months} months: too few to hold out {holdout} "
                         f"months after the warm-up with horizon {horizon}")
    return Holdout(train_months=train, test_months=test)


def window_probability(expected: np.ndarray, horizon: int) -> np.ndarray:
    """1 - exp(-sum of `expected` cases over (t, t+H]) on (time, lat, lon); NaN at sea."""
    return -np.expm1(-future_sum(expected, horizon))


def _rows(grid: np.ndarray, months: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Flatten a (time, lat, lon) array to held-out rows (month-major, then cell)."""
    flat = grid.reshape(grid.shape[0], -1)
    return np.concatenate([flat[m, cells] for m in months])


def _without(table: Table, name: str) -> Table:
    """The same rows without feature `name` (the table of the model without coverage)."""
    j = table.features.index(name)
    return Table(np.delete(table.X, j, axis=1), table.y, table.weight, table.month,
                 table.cell, tuple(f for f in table.features if f != name), table.count)


def judge(y: np.ndarray, true_any: np.ndarray, oracle: np.ndarray, group: np.ndarray,
          risk: np.ndarray, lo: np.ndarray, hi: np.ndarray,
          risk_std: np.ndarray, rel: metrics.Reliability | None = None) -> dict[str, float]:
    """The `KEYS` metrics of one target from held-out rows (all (n,) arrays): the observed
    label `y`, true incidence `true_any` (both 0/1), the world's probability of the label
    `oracle`, the month of each row `group` (budget per month), the score at actual
    coverage `risk` with its interval [`lo`, `hi`], and the score at standard detection
    `risk_std`. Interval coverage is judged against `oracle`, the probability the
    interval estimates, not against the 0/1 label. `rel`: the reliability table of `risk`
    when the caller has it already."""
    rel = rel if rel is not None else metrics.reliability(y, risk, bins=ECE_BINS)
    return {
        "auc": metrics.roc_auc(y, risk),
        "oracle_auc": metrics.roc_auc(y, oracle),
        "pr_auc": metrics.average_precision(y, risk),
        "oracle_pr_auc": metrics.average_precision(y, oracle),
        "precision_at_budget": metrics.precision_at_budget(y, risk, group, BUDGET_SHARE),
        "oracle_precision_at_budget": metrics.precision_at_budget(y, oracle, group,
                                                                  BUDGET_SHARE),
        "ece": rel.ece,
        "interval_coverage": metrics.interval_coverage(oracle, lo, hi),
        "auc_truth_standard_detection": metrics.roc_auc(true_any, risk_std),
        # The naive score is the product's model without the adjustment: `risk`.
        "auc_truth_naive": metrics.roc_auc(true_any, risk),
    }


def labelled_before(split: Holdout, horizon: int, months: int = REFIT_MONTHS) -> np.ndarray:
    """Months before the held-out period whose rows a held-out month's interval refit may
    read: the `months` + `horizon` - 1 months before it (the newest `months` labelled by
    the first held-out month, and those labelled later in the hold-out)."""
    first = int(split.test_months[0])
    return np.arange(max(first - months - horizon + 1, 0), first)


def evaluate_target(cfg: RunConfig, inputs: xr.Dataset, cube: xr.Dataset, target: str,
                    split: Holdout, X_test: np.ndarray,
                    note: Callable[[str], None] = lambda _: None,
                    X_before: np.ndarray | None = None) -> dict[str, Any]:
    """Train the product model (and the one without coverage) for `target` and judge them
    on the held-out rows `X_test` (months x land cells, features in cube order).
    `X_before`: the land cells of the months `labelled_before(split, H)`, the rows the
    interval's refit reads besides the held-out ones (None: built here).

    Returns {"metrics": {KEYS...}, "details": {...}}.
    """
    features = tuple(str(n) for n in cube.data_vars)
    if COVERAGE_FEATURE not in features:
        raise InputError(f"evaluate needs the {COVERAGE_FEATURE!r} feature to score at "
                         f"standard detection; the feature cube lacks it")
    horizon = cfg.model.horizon
    cells = land_cells(inputs["country_id"].values)
    months = split.test_months
    group = np.repeat(months, len(cells))

    t0 = time.perf_counter()
    table = training_table(cfg, inputs, cube, target, features, split.train_months)
    model = fit_model(cfg, table, target)
    fit_s = time.perf_counter() - t0
    blind_table = _without(table, COVERAGE_FEATURE)
    t0 = time.perf_counter()
    blind = fit_model(cfg, blind_table, target)
    blind_fit_s = time.perf_counter() - t0
    note(f"evaluate {target}: fitted in {fit_s:.1f} s (without coverage {blind_fit_s:.1f} s)")

    identified = future_sum(inputs[f"identified_{target}"].values, horizon)
    y = (_rows(identified, months, cells) > 0).astype(np.float64)
    rate = np.nan_to_num(inputs[f"true_rate_{target}"].values.astype(np.float64))
    detect = np.nan_to_num(inputs["detection_prob"].values.astype(np.float64))
    oracle = _rows(window_probability(rate * detect, horizon), months, cells)
    true_any = (_rows(future_sum(inputs[f"incidence_{target}"].values, horizon),
                      months, cells) > 0).astype(np.float64)

    before = labelled_before(split, horizon)
    if X_before is None:
        X_before = feature_rows(cube, features, before, cells)
    risk, sd = model.predict_spread(X_test)
    risk_before, sd_before = model.predict_spread(X_before)
    seq_months = np.concatenate([before, months])
    labelled = LabelledRows(np.concatenate([risk_before, risk]),
                            np.concatenate([sd_before, sd]),
                            _rows(identified, seq_months, cells),
                            np.repeat(seq_months, len(cells)))
    # one refit per held-out month, for the actual-coverage and the standard-detection band
    refits = monthly_refits(group, labelled, horizon, model.interval_)
    lo, hi = monthly_bands(risk, sd, group, refits)
    ref = reference_values(cfg, table)
    X_std = X_test.copy()
    X_std[:, features.index(COVERAGE_FEATURE)] = ref[COVERAGE_FEATURE]
    risk_std, sd_std = model.predict_spread(X_std)
    lo_std, hi_std = monthly_bands(risk_std, sd_std, group, refits)
    # The truth at standard detection: the world's detection curve at the reference level.
    detect_ref = detection_probability(np.asarray(ref[COVERAGE_FEATURE]))
    truth_std = _rows(window_probability(rate * detect_ref, horizon), months, cells)
    blind_score = blind.predict_proba(np.delete(X_test, features.index(COVERAGE_FEATURE),
                                                axis=1))[:, 1]

    rel = metrics.reliability(y, risk, bins=ECE_BINS)
    result = judge(y, true_any, oracle, group, risk, lo, hi, risk_std, rel)
    details = {
        "rows": len(y), "observed_rate": float(y.mean()),
        "true_incidence_rate": float(true_any.mean()),
        "reliability": rel.as_rows(),
        "oracle_ece": metrics.expected_calibration_error(y, oracle, bins=ECE_BINS),
        "interval_nominal": cfg.model.interval,
        "interval_sigma_res": model.interval_.sigma.tolist(),
        "interval_refit": [c.refit.as_dict() for c in refits.values()],
        "interval_width_median": float(np.median(hi - lo)),
        "interval_below": float(np.mean(oracle < lo)),
        "interval_above": float(np.mean(oracle > hi)),
        "interval_coverage_standard_detection": metrics.interval_coverage(truth_std, lo_std,
                                                                          hi_std),
        "interval_width_median_standard_detection": float(np.median(hi_std - lo_std)),
        "reference_coverage": ref[COVERAGE_FEATURE],
        "auc_truth_without_coverage": metrics.roc_auc(true_any, blind_score),
        "auc_truth_oracle": metrics.roc_auc(true_any, -np.expm1(-_rows(
            future_sum(rate, horizon), months, cells))),
        "auc_without_coverage": metrics.roc_auc(y, blind_score),
        "training_rows": len(table.y),
        "best_iterations": list(model.best_iterations_),
        "fit_seconds": round(fit_s, 2),
        "without_coverage_fit_seconds": round(blind_fit_s, 2),
    }
    return {"metrics": result, "details": details}


def evaluate(cfg: RunConfig, inputs: xr.Dataset, cube: xr.Dataset,
             note: Callable[[str], None] = lambda _: None,
             time_label: Callable[[int], str] = str) -> dict[str, Any]:
    """Evaluate every target of `cfg` (see the module docstring).

    Returns {"metrics": {target: {KEYS...}}, "details": {"holdout": ..., target: ...}}.
    """
    horizon = cfg.model.horizon
    split = holdout_split(inputs.sizes["time"], horizon)
    features = tuple(str(n) for n in cube.data_vars)
    cells = land_cells(inputs["country_id"].values)
    X_test = feature_rows(cube, features, split.test_months, cells)
    X_before = feature_rows(cube, features, labelled_before(split, horizon), cells)
    out: dict[str, Any] = {"metrics": {}, "details": {"holdout": {
        "train_labels": [time_label(int(split.train_months[0])),
                         time_label(int(split.train_months[-1]))],
        "scored": [time_label(int(split.test_months[0])),
                   time_label(int(split.test_months[-1]))],
        "months": len(split.test_months), "cells": len(cells), "horizon": horizon,
        "budget_share": BUDGET_SHARE}}}
    for target in cfg.targets:
        res = evaluate_target(cfg, inputs, cube, target, split, X_test, note, X_before)
        out["metrics"][target] = res["metrics"]
        out["details"][target] = res["details"]
    return out
