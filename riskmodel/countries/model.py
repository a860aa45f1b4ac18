"""Country-level models of the share of children in employment, with 80% intervals.

Every method predicts on the log-odds scale of the share (shares are bounded and skewed;
clipped to [0.5%, 99.5%] first) and reports percent. The interval is the same for every
method: the method is refitted on grouped inner folds of its training rows (whole
countries held out, as in the outer evaluation), and the interval is the prediction plus
or minus the split-conformal 80% quantile of those out-of-fold absolute log-odds errors.
So its width reflects how wrong the method is on unseen countries, not its fit.

Methods: `model` (LightGBM, small trees: a few hundred rows), `linear` (ridge regression
on standardised, median-imputed features), `composite` (equal-weight index of the
standardised features, signs from the training correlation, one linear map to the
outcome), `global_mean` (the mean share of the training rows). `last_observed`, the
country's latest earlier survey, is in `riskmodel.countries.cv`: it needs no fitting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import lightgbm as lgb
import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

INTERVAL = 0.8
INNER_FOLDS = 4
SHARE_CLIP = (0.005, 0.995)
LGB_PARAMS = {"objective": "regression", "learning_rate": 0.05, "num_leaves": 7,
              "min_child_samples": 8, "feature_fraction": 0.8, "bagging_fraction": 0.8,
              "bagging_freq": 1, "lambda_l2": 1.0, "max_bin": 63, "num_threads": 1,
              "deterministic": True, "force_row_wise": True, "seed": 7, "verbose": -1}
N_ESTIMATORS = 200


def to_logit(pct: np.ndarray) -> np.ndarray:
    """Log-odds of a share given in percent (clipped to `SHARE_CLIP`)."""
    s = np.clip(np.asarray(pct, np.float64) / 100.0, *SHARE_CLIP)
    return np.log(s / (1 - s))


def from_logit(z: np.ndarray) -> np.ndarray:
    """Percent share of log-odds `z`."""
    return 100.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))


class GbmPoint:
    """LightGBM regression on log-odds (NaN features handled by LightGBM)."""

    def fit(self, X: np.ndarray, z: np.ndarray) -> GbmPoint:
        """Fit on rows `X` (n, F) and log-odds `z` (n,)."""
        self.booster_ = lgb.train(LGB_PARAMS, lgb.Dataset(X, z), num_boost_round=N_ESTIMATORS)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Log-odds predicted for rows `X`."""
        return np.asarray(self.booster_.predict(X, num_threads=1))


class LinearPoint:
    """Ridge regression on median-imputed, standardised features."""

    def fit(self, X: np.ndarray, z: np.ndarray) -> LinearPoint:
        """Fit on rows `X` (n, F) and log-odds `z` (n,)."""
        self.pipe_ = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                   StandardScaler(), Ridge(alpha=1.0)).fit(X, z)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Log-odds predicted for rows `X`."""
        return self.pipe_.predict(X)


class CompositePoint:
    """Equal-weight index of z-scored features oriented by their training correlation with
    the outcome (missing values count as average), mapped to log-odds by one linear fit."""

    def fit(self, X: np.ndarray, z: np.ndarray) -> CompositePoint:
        """Moments, signs and the linear map from rows `X` (n, F) and log-odds `z` (n,)."""
        X = np.asarray(X, np.float64)
        ok = ~np.isnan(X)
        n = np.maximum(ok.sum(0), 1)
        self.mean_ = np.where(ok, X, 0.0).sum(0) / n
        dev = np.where(ok, X - self.mean_, 0.0)
        std = np.sqrt((dev ** 2).sum(0) / n)
        cov = dev.T @ (z - z.mean())
        # Constant or unrelated features carry no orientation: leave them out.
        self.keep_ = np.flatnonzero((std > 0) & (cov != 0))
        self.std_ = std[self.keep_]
        self.sign_ = np.sign(cov[self.keep_])
        idx = self.index(X)
        slope, intercept = np.polyfit(idx, z, 1) if np.ptp(idx) > 0 else (0.0, z.mean())
        self.slope_, self.intercept_ = float(slope), float(intercept)
        return self

    def index(self, X: np.ndarray) -> np.ndarray:
        """The composite index of rows `X`."""
        if not len(self.keep_):
            return np.zeros(len(X))
        zs = (np.asarray(X, np.float64)[:, self.keep_] - self.mean_[self.keep_]) / self.std_
        return np.where(np.isnan(zs), 0.0, zs) @ self.sign_ / len(self.keep_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Log-odds predicted for rows `X`."""
        return self.intercept_ + self.slope_ * self.index(X)


class MeanPoint:
    """The mean share (percent) of the training rows, whatever the features."""

    def fit(self, X: np.ndarray, z: np.ndarray) -> MeanPoint:
        """Remember the mean share of the training rows (features ignored)."""
        self.z_ = float(to_logit(np.mean(from_logit(z))))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The training mean's log-odds for every row of `X`."""
        return np.full(len(X), self.z_)


class PointModel(Protocol):
    """What a point method offers: fit on log-odds, predict log-odds."""

    def fit(self, X: np.ndarray, z: np.ndarray) -> PointModel: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...


POINT_MODELS: dict[str, Callable[[], PointModel]] = {
    "model": GbmPoint, "linear": LinearPoint, "composite": CompositePoint,
    "global_mean": MeanPoint,
}


@dataclass
class IntervalModel:
    """A point method with the grouped split-conformal interval (module docstring)."""

    method: str

    def fit(self, X: np.ndarray, pct: np.ndarray, groups: np.ndarray) -> IntervalModel:
        """Fit on rows `X` with outcomes `pct` (percent); `groups` (country codes) keep a
        country's surveys on one side of every inner fold."""
        z = to_logit(pct)
        n_groups = len(np.unique(groups))
        errors = []
        if n_groups >= 2:
            for tr, te in GroupKFold(n_splits=min(INNER_FOLDS, n_groups)).split(X, z, groups):
                inner = POINT_MODELS[self.method]().fit(X[tr], z[tr])
                errors.append(np.abs(inner.predict(X[te]) - z[te]))
        err = np.sort(np.concatenate(errors)) if errors else np.array([np.inf])
        # Split-conformal rank: the ceil((n+1) * level)-th smallest error.
        rank = min(len(err), int(np.ceil((len(err) + 1) * INTERVAL))) - 1
        self.halfwidth_ = float(err[rank])
        self.point_ = POINT_MODELS[self.method]().fit(X, z)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(value, lo, hi) in percent for rows `X`."""
        z = self.point_.predict(X)
        return from_logit(z), from_logit(z - self.halfwidth_), from_logit(z + self.halfwidth_)
