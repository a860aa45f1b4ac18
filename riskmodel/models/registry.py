"""The model registry: LightGBM text files plus JSON metadata with hashes. No pickle.

A model lives in `<registry>/<target>-<model_id>/`: `member-<k>.txt` (LightGBM's own text
format) and `model.json` with everything needed to predict and to trust the prediction:
feature names and order, estimator and LightGBM parameters, calibration thresholds,
interval method, reference values for scoring at standard detection, training window,
data hash, metrics, code version and the sha256 of every member file. Loading checks the
hashes and the feature list and refuses a mismatch with a clear message.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from riskmodel import __version__
from riskmodel.errors import ModelError
from riskmodel.io.atomic import sha256_file, write_json, write_text
from riskmodel.models.estimator import LinearTerm, RiskModel
from riskmodel.models.folds import TimeFolds
from riskmodel.models.interval import IntervalCalibration

METADATA = "model.json"
# 3: calibration carries a tie_break share; one model id scores one way.
FORMAT_VERSION = 3


def model_dir(registry: Path | str, target: str, model_id: str) -> Path:
    """Folder of model `model_id` for `target` in `registry`."""
    return Path(registry) / f"{target}-{model_id}"


def save_model(model: RiskModel, folder: Path | str, meta: dict[str, Any]) -> Path:
    """Write `model` and its metadata to `folder` (atomically per file; folder replaced).

    `meta` adds the caller's facts (model_id, target, data hash, training window, metrics,
    reference values, sampling). Returns the folder.
    """
    folder = Path(folder)
    staging = folder.with_name(folder.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    members = []
    for k, booster in enumerate(model.boosters_):
        name = f"member-{k}.txt"
        write_text(staging / name, booster.model_to_string(num_iteration=-1))
        members.append({"file": name, "sha256": sha256_file(staging / name),
                        "best_iteration": model.best_iterations_[k]})
    record = {
        "format_version": FORMAT_VERSION,
        "code_version": __version__,
        "features": list(model.feature_names_in_),
        "estimator_params": {k: getattr(model, k) for k in (
            "horizon", "n_estimators", "num_leaves", "learning_rate", "min_child_samples",
            "calibration_months", "ensemble", "interval", "bagging_fraction", "threads",
            "seed", "linear_base", "calibration")},
        "lightgbm_params": model.lgb_params(0),
        "folds": model.folds_.as_dict(),
        "calibration": _calibration_record(model),
        "interval": model.interval_.as_dict(),
        "members": members,
        **_linear_record(model),
        **meta,
    }
    write_json(staging / METADATA, record)
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder


def _linear_record(model: RiskModel) -> dict[str, Any]:
    linear: LinearTerm | None = getattr(model, "linear_", None)
    if linear is None:
        return {}
    return {"linear_base": {"method": "logistic regression (L2) on every training row; "
                                      "log-odds = intercept + X @ coef, a missing value "
                                      "replaced by fill", **linear.as_dict()}}


def _calibration_record(model: RiskModel) -> dict[str, Any]:
    platt: tuple[float, float] | None = getattr(model, "platt_", None)
    if platt is not None:
        a, b = platt
        return {"method": "platt: sigmoid(intercept + slope * mean member logit)",
                "intercept": a, "slope": b}
    return {"method": "isotonic on mean member logit, mixed with a tie_break share of "
                      "sigmoid(logit) to keep the ranking within steps",
            "x": model.calibration_x_.tolist(), "y": model.calibration_y_.tolist(),
            "tie_break": model.tie_break_}


def read_metadata(folder: Path | str) -> dict[str, Any]:
    """The metadata of the model in `folder`, or `ModelError` if missing or unreadable."""
    path = Path(folder) / METADATA
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: model metadata not found") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable model metadata: {exc}") from None


def load_model(folder: Path | str, *, features: tuple[str, ...] | None = None,
               threads: int | None = None) -> tuple[RiskModel, dict[str, Any]]:
    """Load the model in `folder`, checking every member's sha256 and the feature list.

    `features`: the features the caller will provide, in order; a different list is
    refused. Returns the model and its metadata.
    """
    folder = Path(folder)
    meta = read_metadata(folder)
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{folder / METADATA}: format_version {meta.get('format_version')} "
                         f"is not {FORMAT_VERSION}; retrain the model")
    if features is not None and tuple(meta["features"]) != tuple(features):
        missing = sorted(set(meta["features"]) - set(features))
        extra = sorted(set(features) - set(meta["features"]))
        raise ModelError(f"{folder / METADATA}: feature list differs from the model's "
                         f"(missing {missing}, unexpected {extra}, or a different order); "
                         f"retrain or use the matching feature set")
    params = dict(meta["estimator_params"])
    if threads is not None:
        params["threads"] = threads
    model = RiskModel(**params)
    boosters = []
    for m in meta["members"]:
        path = folder / m["file"]
        if not path.exists():
            raise ModelError(f"{path}: model file missing")
        digest = sha256_file(path)
        if digest != m["sha256"]:
            raise ModelError(f"{path}: sha256 {digest[:12]}... does not match the metadata "
                             f"({m['sha256'][:12]}...); the file was changed or corrupted")
        booster = lgb.Booster(model_str=path.read_text(encoding="utf-8"))
        booster.best_iteration = int(m["best_iteration"])
        boosters.append(booster)
    model.boosters_ = boosters
    model.best_iterations_ = [int(m["best_iteration"]) for m in meta["members"]]
    cal = meta["calibration"]
    if "slope" in cal:
        model.platt_ = (float(cal["intercept"]), float(cal["slope"]))
        model.calibration_x_ = model.calibration_y_ = np.empty(0)
        model.tie_break_ = 0.0
    else:
        model.platt_ = None
        model.calibration_x_ = np.asarray(cal["x"], dtype=np.float64)
        model.calibration_y_ = np.asarray(cal["y"], dtype=np.float64)
        model.tie_break_ = float(cal["tie_break"])
    model.linear_ = (LinearTerm.from_dict(meta["linear_base"]) if "linear_base" in meta
                     else None)
    model.interval_ = IntervalCalibration.from_dict(meta["interval"])
    model.feature_names_in_ = tuple(meta["features"])
    model.n_features_in_ = len(model.feature_names_in_)
    f = meta["folds"]
    model.folds_ = TimeFolds(fit=np.arange(f["fit"][0], f["fit"][1] + 1),
                             early_stopping=np.arange(f["early_stopping"][0],
                                                      f["early_stopping"][1] + 1),
                             calibration=np.arange(f["calibration"][0],
                                                   f["calibration"][1] + 1),
                             horizon=int(params["horizon"]))
    return model, meta
