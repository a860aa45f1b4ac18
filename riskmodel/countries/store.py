"""A fitted real-target model on disk: LightGBM text plus JSON metadata with hashes.

`save_target_model` writes `<folder>/model.txt` (LightGBM's own text format) and
`<folder>/model.json`: target, year, scale, feature names and order, the columns the model
reads, chosen hyper-parameters, interval half-width on the model scale, detection reference
levels, the training rows' sha256 and the sha256 of model.txt. `load_target_model` checks
the hash and returns the booster with its metadata. No pickle. Only the LightGBM method is
stored: the baselines exist for validation.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from riskmodel import __version__
from riskmodel.countries.fit import Gbm, TargetModel
from riskmodel.errors import ModelError
from riskmodel.io.atomic import sha256_file, write_json, write_text

BOOSTER = "model.txt"
METADATA = "model.json"


def rows_hash(X: np.ndarray, value: np.ndarray, iso3: np.ndarray, year: np.ndarray) -> str:
    """sha256 of the training rows (features, outcome, country, year)."""
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(X, np.float32), np.asarray(value, np.float64),
              np.asarray(year, np.int64)):
        h.update(a.tobytes())
    h.update("\n".join(map(str, iso3)).encode())
    return h.hexdigest()


def save_target_model(model: TargetModel, folder: Path | str, meta: dict[str, Any]) -> Path:
    """Write `model` (method "model") and its metadata to `folder` (replaced whole)."""
    if not isinstance(model.point_, Gbm):
        raise ModelError(f"only the LightGBM method is stored, not {model.method!r}")
    folder = Path(folder)
    staging = folder.with_name(folder.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    write_text(staging / BOOSTER, model.point_.booster_.model_to_string())
    write_json(staging / METADATA, {
        "code_version": __version__, "target": model.target.name,
        "scale": model.target.scale.name, "objective": model.point_.objective,
        "features": list(model.features), "columns": [int(c) for c in model.columns_],
        "hyper_parameters": model.chosen_, "interval_halfwidth": model.halfwidth_,
        "detection_reference": dict(model.target.detection),
        "booster_sha256": sha256_file(staging / BOOSTER), **meta})
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder


def load_target_model(folder: Path | str) -> tuple[lgb.Booster, dict[str, Any]]:
    """(booster, metadata) of the model in `folder`; `ModelError` on a missing file or a
    hash mismatch."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / METADATA).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{folder / METADATA}: model metadata not found") from None
    except ValueError as exc:
        raise ModelError(f"{folder / METADATA}: unreadable model metadata: {exc}") from None
    path = folder / BOOSTER
    if not path.exists():
        raise ModelError(f"{path}: model file missing")
    digest = sha256_file(path)
    if digest != meta.get("booster_sha256"):
        raise ModelError(f"{path}: sha256 {digest[:12]}... does not match the metadata; "
                         f"the file was changed or corrupted")
    return lgb.Booster(model_str=path.read_text(encoding="utf-8")), meta
