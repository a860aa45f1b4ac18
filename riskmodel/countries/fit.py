"""Fitting a real target: nested choice of hyper-parameters, then an 80% interval.

`TargetModel(target, method)` fits on training rows only. For each candidate setting of
the method (the target's LightGBM candidates, or the ridge penalties) it makes grouped
out-of-fold predictions on its training rows (whole countries held out, `INNER_FOLDS`
folds), scores them with the target's criterion (MAE of the value for child labour,
Spearman rank correlation for forced labour) and keeps the best. The interval is the
split-conformal 80% quantile of the chosen candidate's out-of-fold absolute errors on the
model scale, added around the prediction; choosing among a few candidates on the same
folds makes it slightly optimistic, which the outer evaluation measures. Methods: `model`
(LightGBM), `linear` (ridge), `composite` (equal-weight standardised drivers) and
`global_mean`; baselines use the target's base features only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from scipy.stats import spearmanr
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from riskmodel.countries.model import CompositePoint
from riskmodel.countries.targets import Target

INTERVAL = 0.8
INNER_FOLDS = 4
N_ESTIMATORS = 150
BASE_PARAMS = {"learning_rate": 0.05, "min_child_samples": 8, "feature_fraction": 0.8,
               "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "max_bin": 63,
               "num_threads": 1, "deterministic": True, "force_row_wise": True, "seed": 7,
               "verbose": -1}
RIDGE_ALPHAS = (0.3, 3.0, 30.0)
METHODS = ("model", "linear", "composite", "global_mean")


class Gbm:
    """LightGBM on the model scale (`regression`) or on the value itself (`tweedie`)."""

    def __init__(self, target: Target, num_leaves: int = 7, objective: str = "regression",
                 **_: Any) -> None:
        self.target, self.objective = target, objective
        self.params = {**BASE_PARAMS, "num_leaves": num_leaves, "objective": objective}

    def fit(self, X: np.ndarray, z: np.ndarray) -> Gbm:
        """Fit on rows `X` (n, F) and model-scale outcomes `z` (n,)."""
        y = self.target.scale.inverse(z) if self.objective == "tweedie" else z
        self.booster_ = lgb.train(self.params, lgb.Dataset(X, y, free_raw_data=True),
                                  num_boost_round=N_ESTIMATORS)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Model-scale predictions for rows `X`."""
        p = np.asarray(self.booster_.predict(X, num_threads=1))
        return self.target.scale.forward(p) if self.objective == "tweedie" else p


class Linear:
    """Ridge regression on median-imputed, standardised features."""

    def __init__(self, target: Target, alpha: float = 1.0, **_: Any) -> None:
        self.alpha = alpha

    def fit(self, X: np.ndarray, z: np.ndarray) -> Linear:
        """Fit on rows `X` (n, F) and model-scale outcomes `z` (n,)."""
        self.pipe_ = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                   StandardScaler(), Ridge(alpha=self.alpha)).fit(X, z)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Model-scale predictions for rows `X`."""
        return self.pipe_.predict(X)


class Composite(CompositePoint):
    """The equal-weight index of `riskmodel.countries.model.CompositePoint`."""

    def __init__(self, target: Target, **_: Any) -> None:
        pass


class Mean:
    """The mean value of the training rows (on the value scale), whatever the features."""

    def __init__(self, target: Target, **_: Any) -> None:
        self.target = target

    def fit(self, X: np.ndarray, z: np.ndarray) -> Mean:
        """Remember the training mean."""
        self.z_ = float(self.target.scale.forward(np.array([np.mean(
            self.target.scale.inverse(z))]))[0])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The training mean on the model scale for every row."""
        return np.full(len(X), self.z_)


POINTS = {"model": Gbm, "linear": Linear, "composite": Composite, "global_mean": Mean}


def candidates(target: Target, method: str) -> tuple[dict[str, Any], ...]:
    """The hyper-parameter settings nested selection tries for `method`."""
    if method == "model":
        return target.candidates
    if method == "linear":
        return tuple({"alpha": a} for a in RIDGE_ALPHAS)
    return ({},)


def criterion(target: Target, value: np.ndarray, pred: np.ndarray) -> float:
    """Selection score of predictions `pred` of `value` (higher is better)."""
    if target.select_by == "mae":
        return -float(np.mean(np.abs(pred - value)))
    if np.ptp(pred) == 0 or np.ptp(value) == 0:
        return -1.0
    return float(spearmanr(pred, value).statistic)


@dataclass
class TargetModel:
    """A method of one target with nested hyper-parameter choice and its interval.

    `columns` maps each candidate to the feature columns it reads: every candidate reads
    the base features; a candidate with `extra` set also reads the target's extra ones.
    """

    target: Target
    method: str
    features: tuple[str, ...]

    def _columns(self, cand: dict[str, Any]) -> np.ndarray:
        use_extra = self.method == "model" and cand.get("extra", False)
        return np.array([i for i, f in enumerate(self.features)
                         if use_extra or f not in self.target.extra])

    def _point(self, cand: dict[str, Any]) -> Any:
        return POINTS[self.method](self.target, **cand)

    def fit(self, X: np.ndarray, value: np.ndarray, groups: np.ndarray) -> TargetModel:
        """Choose, measure and fit on rows `X` (n, F) with `value` (target units)."""
        z = self.target.scale.forward(value)
        n_groups = len(np.unique(groups))
        folds = (list(GroupKFold(n_splits=min(INNER_FOLDS, n_groups)).split(X, z, groups))
                 if n_groups >= 2 else [])
        best, best_score, best_oof = candidates(self.target, self.method)[0], -np.inf, None
        for cand in candidates(self.target, self.method):
            cols = self._columns(cand)
            oof = np.full(len(z), np.nan)
            for tr, te in folds:
                oof[te] = self._point(cand).fit(X[tr][:, cols], z[tr]).predict(X[te][:, cols])
            if not folds:
                break
            s = criterion(self.target, value, self.target.scale.inverse(oof))
            if s > best_score:
                best, best_score, best_oof = cand, s, oof
        err = (np.sort(np.abs(best_oof - z)) if best_oof is not None else np.array([np.inf]))
        rank = min(len(err), int(np.ceil((len(err) + 1) * INTERVAL))) - 1
        self.chosen_, self.inner_score_ = best, float(best_score)
        self.halfwidth_ = float(err[rank])
        self.columns_ = self._columns(best)
        self.point_ = self._point(best).fit(X[:, self.columns_], z)
        return self

    def predict_scale(self, X: np.ndarray) -> np.ndarray:
        """Model-scale predictions of rows `X` (all features, in `features` order)."""
        return self.point_.predict(X[:, self.columns_])

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(value, lo, hi) in target units for rows `X`."""
        z = self.predict_scale(X)
        inv = self.target.scale.inverse
        return inv(z), inv(z - self.halfwidth_), inv(z + self.halfwidth_)

    def standard_detection(self, X: np.ndarray) -> np.ndarray:
        """`X` with the target's detection proxies set to their reference level."""
        X = np.array(X, dtype=np.float32, copy=True)
        for name, level in self.target.detection.items():
            if name in self.features:
                X[:, self.features.index(name)] = level
        return X
