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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from riskmodel import __version__
from riskmodel.errors import ModelError
from riskmodel.io.atomic import sha256_file, write_json, write_text
from riskmodel.models.estimator import RiskModel

METADATA = "model.json"
# 3: calibration carries a tie_break share; one model id scores one way.
FORMAT_VERSION = 3


@dataclass(frozen=True, eq=False)
class RegisteredModel:
    """A fitted `RiskModel` as the registry holds it: the `estimator`, its metadata `meta`
    (the folder's `model.json`, read-only) and the `folder` it was loaded from. The
    properties name what callers read from the metadata."""

    estimator: RiskModel
    meta: Mapping[str, Any]
    folder: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    @property
    def model_id(self) -> str:
        """Hash (12 hex) of what determined the model (`riskmodel.training.model_id`)."""
        return str(self.meta["model_id"])

    @property
    def target(self) -> str:
        """The target it scores: "fl" or "cl"."""
        return str(self.meta["target"])

    @property
    def features(self) -> tuple[str, ...]:
        """Feature names in the order the model reads them."""
        return self.estimator.feature_names_in_

    @property
    def reference_values(self) -> dict[str, float]:
        """Features fixed at one level for every area at scoring (standard detection)."""
        return dict(self.meta.get("reference_values", {}))

    @property
    def metrics(self) -> dict[str, Any]:
        """In-sample fold metrics saved at fitting (`RiskModel.fold_metrics_`)."""
        return dict(self.meta.get("metrics", {}))

    @property
    def rows(self) -> int:
        """Rows of the training table."""
        return int(self.meta["rows"])

    @property
    def training_window(self) -> tuple[str, str]:
        """First and last training month (labels as the run names them)."""
        first, last = self.meta["training_window"]
        return str(first), str(last)


def model_dir(registry: Path | str, target: str, model_id: str) -> Path:
    """Folder of model `model_id` for `target` in `registry`."""
    return Path(registry) / f"{target}-{model_id}"


def save_model(model: RiskModel, folder: Path | str, meta: dict[str, Any]) -> Path:
    """Write `model` (`RiskModel.to_dict`, each member's LightGBM text in its own file)
    and its metadata to `folder` (atomically per file; folder replaced).

    `meta` adds the caller's facts (model_id, target, data hash, training window,
    reference values, sampling). Returns the folder.
    """
    folder = Path(folder)
    staging = folder.with_name(folder.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    state = model.to_dict()
    for k, member in enumerate(state["members"]):
        name = f"member-{k}.txt"
        write_text(staging / name, member.pop("text"))
        member.update(file=name, sha256=sha256_file(staging / name))
    record = {"format_version": FORMAT_VERSION, "code_version": __version__, **state, **meta}
    write_json(staging / METADATA, record)
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder


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
               threads: int | None = None) -> RegisteredModel:
    """Load the model in `folder`, checking every member's sha256 and the feature list.

    `features`: the features the caller will provide, in order; a different list is
    refused. `threads`: the threads it predicts with (default: those it was fitted with).
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
    members = []
    for m in meta["members"]:
        path = folder / m["file"]
        if not path.exists():
            raise ModelError(f"{path}: model file missing")
        digest = sha256_file(path)
        if digest != m["sha256"]:
            raise ModelError(f"{path}: sha256 {digest[:12]}... does not match the metadata "
                             f"({m['sha256'][:12]}...); the file was changed or corrupted")
        members.append({**m, "text": path.read_text(encoding="utf-8")})
    model = RiskModel.from_dict({**meta, "members": members})
    if threads is not None:
        model.set_params(threads=threads)
    return RegisteredModel(estimator=model, meta=meta, folder=folder)
