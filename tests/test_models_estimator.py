"""`RiskModel` as a scikit-learn estimator: parameters only in `__init__`, `clone`, fitted
state read back whole from `to_dict` / `from_dict`; and the layering of riskmodel.models."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError

from riskmodel.models.estimator import RiskModel

FEATURES = ("a", "b", "c")


def _data(seed: int = 0) -> dict:
    """40 months x 60 rows whose risk rises with feature `a`; a few values missing."""
    rng = np.random.default_rng(seed)
    month = np.repeat(np.arange(40), 60)
    X = rng.normal(size=(len(month), len(FEATURES))).astype(np.float32)
    X[rng.random(len(month)) < 0.05, 1] = np.nan
    y = (rng.random(len(month)) < 1 / (1 + np.exp(2.0 - 1.5 * X[:, 0]))).astype(np.float32)
    count = y * rng.integers(1, 4, len(month))
    return {"X": X, "y": y, "month": month, "count": count}


def _fit(**params: object) -> tuple[RiskModel, np.ndarray]:
    d = _data()
    model = RiskModel(horizon=1, n_estimators=12, num_leaves=7, min_child_samples=10,
                      calibration_months=12, ensemble=2, threads=1, **params)
    model.fit(d["X"], d["y"], month=d["month"], feature_names=FEATURES, count=d["count"])
    return model, d["X"]


def _fitted_names(model: RiskModel) -> set[str]:
    return {k for k in vars(model) if k.endswith("_") and not k.startswith("_")}


def test_params_set_params_and_clone() -> None:
    model = RiskModel(ensemble=2, seed=3, calibration="platt", linear_base=True)
    assert is_classifier(model)
    params = model.get_params()
    assert params["seed"] == 3 and params["calibration"] == "platt" and len(params) == 13
    assert model.set_params(threads=1) is model and model.threads == 1
    with pytest.raises(NotFittedError):
        model.predict_proba(np.zeros((1, 3), np.float32))

    fitted, X = _fit(seed=5)
    twin = clone(fitted)
    assert twin is not fitted and twin.get_params() == fitted.get_params()
    assert not _fitted_names(twin), "a clone carries no fitted state"
    with pytest.raises(NotFittedError):
        twin.to_dict()
    # Fitting the clone on the same data gives the same model (fits are deterministic).
    d = _data()
    twin.fit(d["X"], d["y"], month=d["month"], feature_names=FEATURES, count=d["count"])
    np.testing.assert_array_equal(twin.predict_proba(X), fitted.predict_proba(X))
    assert set(np.unique(fitted.predict(X))) <= {0, 1}
    np.testing.assert_array_equal(fitted.predict(X), fitted.predict_proba(X)[:, 1] >= 0.5)


@pytest.mark.parametrize("params", [{}, {"calibration": "platt", "linear_base": True}])
def test_fitted_state_round_trips_through_to_dict(params: dict) -> None:
    model, X = _fit(**params)
    state = json.loads(json.dumps(model.to_dict()))   # what the registry stores is JSON
    assert all(isinstance(m["text"], str) for m in state["members"])
    again = RiskModel.from_dict(state)
    assert _fitted_names(again) == _fitted_names(model)
    assert again.get_params() == model.get_params()
    for got, want in zip(again.predict_interval(X), model.predict_interval(X), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(again.predict_contrib(X), model.predict_contrib(X))
    assert again.fold_metrics_ == model.fold_metrics_
    assert again.folds_.as_dict() == model.folds_.as_dict()
    assert again.to_dict() == state   # and it writes back the same state


def test_models_package_does_not_import_the_stages_above_it() -> None:
    """riskmodel.models is the layer training, the pipeline and the commands build on."""
    above = ("riskmodel.training", "riskmodel.pipeline", "riskmodel.commands")
    package = Path(__file__).resolve().parents[1] / "riskmodel" / "models"
    found = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: {n}" for n in names if n.startswith(above)]
    assert not found
