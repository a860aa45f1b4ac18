"""Training stage: build tables from the cube, fit one `RiskModel` per target, register it.

A model is identified by a hash of everything that determines it (target, world config,
seed, model config, feature list, code version); `ensure_model` loads it from the registry
when present and trains it otherwise, so nightly runs train once per configuration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from features import WARMUP_MONTHS
from riskmodel import __version__
from riskmodel.config import RunConfig
from riskmodel.checks.drift import KEY, feature_distribution
from riskmodel.errors import ModelError
from riskmodel.models.estimator import RiskModel
from riskmodel.models.folds import time_folds
from riskmodel.models.labels import future_sum
from riskmodel.models.registry import FORMAT_VERSION, load_model, model_dir, save_model
from riskmodel.models.table import Table, build_table, land_cells

COVERAGE_FEATURE = "inspection_coverage"
OPTIONAL_MODEL_KEYS = {"linear_base": False, "calibration": "isotonic"}


def model_id(cfg: RunConfig, target: str, features: tuple[str, ...]) -> str:
    """Hash (12 hex) of what determines the model for `target`."""
    model = cfg.model.model_dump(mode="json", exclude={"registry", "threads"})
    # Keys added after models were registered count only when set, so existing ids hold.
    for name, default in OPTIONAL_MODEL_KEYS.items():
        if model.get(name) == default:
            model.pop(name)
    key = {"target": target, "world": cfg.world.model_dump(mode="json"), "seed": cfg.seed,
           "model": model,
           "features": list(features), "code_version": __version__,
           "format_version": FORMAT_VERSION}
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


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


def ensure_model(cfg: RunConfig, inputs: xr.Dataset, cube: xr.Dataset, target: str,
                 *, retrain: bool = False, train: bool = True,
                 time_label: Callable[[int], str] = str,
                 progress: Callable[[int, int], None] | None = None
                 ) -> tuple[RiskModel, dict[str, Any], bool]:
    """Load the registered model for this config and target, or train and register it.

    With `train=False` a missing model is a `ModelError` (scoring never trains). Returns
    (model, metadata, trained) where `trained` says whether it was fitted now.
    """
    features = tuple(str(n) for n in cube.data_vars)
    mid = model_id(cfg, target, features)
    folder = model_dir(cfg.model.registry, target, mid)
    if folder.exists() and not retrain:
        model, meta = load_model(folder, features=features, threads=cfg.model.threads)
        return model, meta, False
    if not train:
        raise ModelError(f"no {target} model registered for this config in {folder.parent}/ "
                         f"(expected {folder.name}); run `riskmodel train` with this config "
                         f"first")
    months = training_months(inputs.sizes["time"], cfg.model.horizon)
    table = training_table(cfg, inputs, cube, target, features, months)
    model = fit_model(cfg, table, target, progress)
    meta = {
        "model_id": mid, "target": target, "horizon": cfg.model.horizon,
        "training_window": [time_label(int(months[0])), time_label(int(months[-1]))],
        "data_sha256": table_hash(table), "rows": len(table.y),
        "positives": int(table.y.sum()),
        "sampling": {"negative_rate": cfg.model.negative_rate,
                     "positive_rate": cfg.model.positive_rate,
                     "weights": "1 / rate of the row's class", "seed": cfg.seed,
                     "calibration_fold": "every row kept, weight 1"},
        "reference_values": reference_values(cfg, table),
        "standard_detection": COVERAGE_FEATURE in features,
        "metrics": model.fold_metrics_,
        # What the model saw, so nightly drift checks compare against it without
        # rebuilding the training window.
        KEY: feature_distribution(cube, months, inputs["country_id"].values,
                                  bins=cfg.checks.drift_bins),
    }
    save_model(model, folder, meta)
    model, meta = load_model(Path(folder), features=features, threads=cfg.model.threads)
    return model, meta, True
