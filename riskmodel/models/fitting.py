"""Fitting a `RiskModel` from a run config: the training months, the sampled training table
(`Table`), the fitted model and the reference values it is scored at.

The nightly training stage (`riskmodel.training`), the out-of-time evaluation and the
backtest all fit through these functions, so each judges what `riskmodel run` deploys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import xarray as xr

from features import WARMUP_MONTHS
from riskmodel.config import RunConfig
from riskmodel.models.estimator import RiskModel
from riskmodel.models.folds import time_folds
from riskmodel.models.labels import future_sum
from riskmodel.models.outcomes import OutcomeSet, concat_tables, outcome_rows
from riskmodel.models.table import Table, build_table, land_cells

COVERAGE_FEATURE = "inspection_coverage"


def training_months(n_months: int, horizon: int, last: int | None = None) -> np.ndarray:
    """Months usable for training: after the feature warm-up, labels known by `last`."""
    end = n_months if last is None else last + 1
    return np.arange(WARMUP_MONTHS, max(WARMUP_MONTHS, end - horizon))


def training_table(cfg: RunConfig, inputs: xr.Dataset, cube: xr.Dataset, target: str,
                   features: tuple[str, ...], months: np.ndarray) -> Table:
    """The (cell, month) table for `target` with sampled rows (seeded by cfg.seed); every
    row of the calibration fold is kept. Each row carries its label and the identified
    cases in its window (`Table.count`)."""
    counts = future_sum(inputs[f"identified_{target}"].values, cfg.model.horizon)
    labels = np.where(np.isnan(counts), np.nan, counts > 0).astype(np.float32)
    cells = land_cells(inputs["country_id"].values)
    folds = time_folds(months, cfg.model.horizon, cfg.model.calibration_months)
    return build_table(cube, features, labels, months, cells,
                       negative_rate=cfg.model.negative_rate,
                       positive_rate=cfg.model.positive_rate, seed=cfg.seed, counts=counts,
                       full_months=folds.calibration)


def with_outcomes(cfg: RunConfig, table: Table, cube: xr.Dataset, outcomes: OutcomeSet,
                  weight: float) -> tuple[Table, dict[str, float]]:
    """`table` (identified-case rows) joined by the rows of visit `outcomes`
    (`riskmodel.models.outcomes.outcome_rows`: coverage at the reference, weight `weight`,
    in the fit fold), and the reference values, taken from the identified-case rows alone
    so outcome rows (already at the reference) cannot move it."""
    reference = reference_values(cfg, table)
    folds = time_folds(table.month, cfg.model.horizon, cfg.model.calibration_months)
    extra = outcome_rows(cube, table.features, outcomes, reference=reference, weight=weight,
                         fit_month=int(folds.fit[-1]))
    return concat_tables(table, extra), reference


def table_hash(table: Table) -> str:
    """sha256 (hex) of a training table's matrix, labels and weights."""
    h = hashlib.sha256()
    for a in (table.X, table.y, table.weight, table.month, table.count):
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def fit_model(cfg: RunConfig, table: Table, target: str,
              progress: Callable[[int, int], None] | None = None) -> RiskModel:
    """Fit a `RiskModel` for `target` on `table` with the config's parameters."""
    m = cfg.model
    model = RiskModel(horizon=m.horizon, n_estimators=m.n_estimators, num_leaves=m.num_leaves,
                      learning_rate=m.learning_rate, min_child_samples=m.min_child_samples,
                      calibration_months=m.calibration_months, ensemble=m.ensemble,
                      interval=m.interval, threads=m.threads,
                      seed=cfg.seed + (0 if target == "fl" else 1000),
                      linear_base=m.linear_base, calibration=m.calibration)
    if table.count is None:
        raise ValueError("the training table has no identified counts (Table.count); build "
                         "it with `training_table`")
    return model.fit(table.X, table.y, month=table.month, feature_names=table.features,
                     count=table.count, sample_weight=table.weight, callback=progress)


def reference_values(cfg: RunConfig, table: Table) -> dict[str, float]:
    """Feature values fixed for every area at scoring: inspection coverage at a reference
    level (config, else the median over the training window's land cell-months), so risk
    is scored at standard detection.

    The median is weighted by the rows' sampling weights, so it is that of the full table
    whatever the sampling rates (positives, which sit where coverage is high, are kept
    more often than negatives).
    """
    if COVERAGE_FEATURE not in table.features:
        return {}
    if cfg.model.reference_coverage is not None:
        return {COVERAGE_FEATURE: float(cfg.model.reference_coverage)}
    col = table.X[:, table.features.index(COVERAGE_FEATURE)].astype(np.float64)
    ok = ~np.isnan(col)
    order = np.argsort(col[ok], kind="stable")
    cum = np.cumsum(table.weight[ok][order])
    median = col[ok][order][np.searchsorted(cum, 0.5 * cum[-1])]
    return {COVERAGE_FEATURE: float(median)}
