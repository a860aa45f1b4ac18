"""Training stage: fit one `RiskModel` per target and register it, or load it.

A model is identified by a hash of everything that determines it (target, world config,
seed, model config, feature list, code version); `ensure_model` loads it from the registry
when present and trains it otherwise (`riskmodel.models.fitting`), so nightly runs train
once per configuration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import xarray as xr

from riskmodel import __version__
from riskmodel.checks.drift import KEY, feature_distribution
from riskmodel.config import RunConfig
from riskmodel.errors import ModelError
from riskmodel.models.fitting import (
    COVERAGE_FEATURE,
    fit_model,
    reference_values,
    table_hash,
    training_months,
    training_table,
)
from riskmodel.models.registry import (
    FORMAT_VERSION,
    RegisteredModel,
    load_model,
    model_dir,
    save_model,
)

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


def ensure_model(cfg: RunConfig, inputs: xr.Dataset, cube: xr.Dataset, target: str,
                 *, retrain: bool = False, train: bool = True,
                 time_label: Callable[[int], str] = str,
                 progress: Callable[[int, int], None] | None = None
                 ) -> tuple[RegisteredModel, bool]:
    """Load the registered model for this config and target, or train and register it.

    With `train=False` a missing model is a `ModelError` (scoring never trains). Returns
    the registered model (a freshly trained one as read back from the registry) and
    whether it was fitted now.
    """
    features = tuple(str(n) for n in cube.data_vars)
    mid = model_id(cfg, target, features)
    folder = model_dir(cfg.model.registry, target, mid)
    if folder.exists() and not retrain:
        return load_model(folder, features=features, threads=cfg.model.threads), False
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
        # What the model saw, so nightly drift checks compare against it without
        # rebuilding the training window.
        KEY: feature_distribution(cube, months, inputs["country_id"].values,
                                  bins=cfg.checks.drift_bins),
    }
    save_model(model, folder, meta)
    return load_model(folder, features=features, threads=cfg.model.threads), True
