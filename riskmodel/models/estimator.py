"""`RiskModel`: a calibrated LightGBM ensemble with intervals and explanations.

A scikit-learn classifier (`BaseEstimator`, `ClassifierMixin`): `__init__` only stores
parameters (`get_params`, `set_params` and `sklearn.base.clone` work), `fit` validates and
learns, fitted attributes end in `_`, `predict_proba` returns (n, 2). Fitting needs the
month of each row (`month=`) for time-ordered folds (see `folds`). The fitted state is
written and read back in one place, `to_dict` / `from_dict` (JSON-ready; each member is
LightGBM's own text model), which the registry stores without pickle.

- Members: `ensemble` LightGBM boosters on the fit fold, each with its own bagging
  (row subsample of `bagging_fraction` per iteration) and feature-fraction seeds,
  early-stopped on the early-stopping fold.
- Linear base (`linear_base=True`, off by default): the log-odds are a regularised
  linear (logistic) term plus the boosted trees. The trees boost from the log-odds of a
  logistic regression fitted on the fit fold only (so early stopping judges them on rows
  that term never saw); the model then adds its trees to a logistic regression refitted
  on every training row, the freshest months included (`LinearTerm`). Each member's
  log-odds is that term plus its trees. On a world whose truth is close to additive in
  log-odds the linear term carries the main effects and extrapolates beyond the training
  range, and the trees only learn what it misses (docs/backtest.md). `predict_contrib`
  adds the linear term's contributions to the trees'.
- Calibration: `calibration="isotonic"` (default): isotonic regression of the members'
  mean logit on the calibration fold (weighted), stored as thresholds and applied by
  linear interpolation, mixed with a `TIE_BREAK` share of the sigmoid so the model's
  ranking survives inside each step. `calibration="platt"`: a weighted logistic fit
  `sigmoid(a + b * logit)` on the same fold: strictly increasing without flat steps, so
  scores of different months and models keep their order (pooled rankings).
- Interval: a log-normal band of the true risk around the score whose width combines the
  members' spread with the residual error measured on the calibration fold from the
  overdispersion of identified counts (`riskmodel.models.interval`; docs/models.md says
  what it covers).
- Explanations: LightGBM's own TreeSHAP (`pred_contrib` log-odds contributions) of the
  first member, asked once per distinct path of each tree (`riskmodel.models.contrib`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from riskmodel.models import metrics
from riskmodel.models.contrib import contributions, tree_splits
from riskmodel.models.folds import TimeFolds, check_no_overlap, time_folds
from riskmodel.models.interval import IntervalCalibration, fit_interval, predict_band

# Far below any precision a score is read at, far above float64 resolution near p = 1.
TIE_BREAK = 1e-6
CALIBRATIONS = ("isotonic", "platt")
# Inverse L2 strength of the linear base on standardised features (scikit-learn's default,
# as the backtest's logistic baseline), and of the practically unpenalised Platt fit.
LINEAR_C = 1.0
PLATT_C = 1e6


@dataclass(frozen=True)
class LinearTerm:
    """A linear log-odds term on raw features: `fill` replaces a missing value (the
    training mean), then `intercept + X @ coef` (a logistic regression on standardised
    features, folded back to raw units)."""

    fill: np.ndarray       # (F,)
    coef: np.ndarray       # (F,)
    intercept: float

    def logit(self, X: np.ndarray) -> np.ndarray:
        """(n,) log-odds of rows `X` (n, F)."""
        X = np.asarray(X, dtype=np.float64)
        return np.where(np.isnan(X), self.fill, X) @ self.coef + self.intercept

    def as_dict(self) -> dict[str, Any]:
        return {"fill": self.fill.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearTerm:
        return cls(np.asarray(d["fill"], np.float64), np.asarray(d["coef"], np.float64),
                   float(d["intercept"]))


def fit_linear(X: np.ndarray, y: np.ndarray, w: np.ndarray, threads: int,
               c: float = LINEAR_C) -> LinearTerm:
    """Weighted L2 logistic regression (inverse strength `c`) of `y` on mean-imputed,
    standardised `X`, as a `LinearTerm` on raw features. The linear base, and the
    backtest's logistic baseline."""
    imputer = SimpleImputer(strategy="mean", keep_empty_features=True)
    filled = imputer.fit_transform(X)
    scaler = StandardScaler()
    Z = scaler.fit_transform(filled)
    with threadpool_limits(limits=threads):
        lr = LogisticRegression(C=c, max_iter=1000).fit(Z, y, sample_weight=w)
    coef = lr.coef_[0].astype(np.float64) / scaler.scale_
    return LinearTerm(np.asarray(imputer.statistics_, np.float64), coef,
                      float(lr.intercept_[0] - coef @ scaler.mean_))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _fold_summary(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Weighted AUC, PR AUC and ECE (10 equal-mass bins) of predictions `p` for `y`."""
    return {"rows": len(y), "positives": int(y.sum()),
            "auc": metrics.roc_auc(y, p, w), "pr_auc": metrics.average_precision(y, p, w),
            "ece": metrics.expected_calibration_error(y, p, w)}


class RiskModel(ClassifierMixin, BaseEstimator):
    """Calibrated LightGBM ensemble for one target (see the module docstring)."""

    def __init__(self, *, horizon: int = 3, n_estimators: int = 200, num_leaves: int = 31,
                 learning_rate: float = 0.05, min_child_samples: int = 50,
                 calibration_months: int = 24, ensemble: int = 5, interval: float = 0.8,
                 bagging_fraction: float = 0.7, threads: int = 2, seed: int = 0,
                 linear_base: bool = False, calibration: str = "isotonic") -> None:
        self.horizon = horizon
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.calibration_months = calibration_months
        self.ensemble = ensemble
        self.interval = interval
        self.bagging_fraction = bagging_fraction
        self.threads = threads
        self.seed = seed
        self.linear_base = linear_base
        self.calibration = calibration

    def lgb_params(self, member: int) -> dict[str, Any]:
        """LightGBM parameters of ensemble member `member` (deterministic, fixed threads)."""
        return {
            "objective": "binary", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
            "feature_fraction": 0.8, "feature_fraction_seed": self.seed + member,
            "bagging_fraction": self.bagging_fraction if self.ensemble > 1 else 1.0,
            "bagging_freq": 1 if self.ensemble > 1 else 0, "bagging_seed": self.seed + member,
            "max_bin": 63, "num_threads": self.threads, "deterministic": True,
            "force_row_wise": True, "seed": self.seed + member, "verbose": -1,
        }

    def fit(self, X: np.ndarray, y: np.ndarray, *, month: np.ndarray,
            feature_names: tuple[str, ...], count: np.ndarray,
            sample_weight: np.ndarray | None = None, callback: Any = None) -> RiskModel:
        """Fit members on the fit fold, early-stop, and calibrate on the calibration fold.

        `X` (n, F) float32, `y` (n,) 0/1, `month` (n,) time index of each row, `count` (n,)
        cases identified in each row's label window (y == count > 0; it sizes the
        interval); `sample_weight` (n,) e.g. 1/negative_rate for sampled negatives.
        """
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float32)
        if X.ndim != 2 or len(X) != len(y) or len(month) != len(y):
            raise ValueError(f"X {X.shape}, y {y.shape} and month {np.shape(month)} disagree")
        if X.shape[1] != len(feature_names):
            raise ValueError(f"X has {X.shape[1]} columns but {len(feature_names)} names")
        if not set(np.unique(y)) <= {0.0, 1.0}:
            raise ValueError("y must be 0/1")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {CALIBRATIONS}, "
                             f"not {self.calibration!r}")
        count = np.asarray(count, dtype=np.float64)
        if count.shape != y.shape or np.any((count > 0) != (y > 0)):
            raise ValueError("count must be (n,) with count > 0 exactly where y == 1")
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        folds = time_folds(month, self.horizon, self.calibration_months)
        check_no_overlap(folds)
        fit_rows = np.isin(month, folds.fit)
        es_rows = np.isin(month, folds.early_stopping)
        cal_rows = np.isin(month, folds.calibration)
        init_fit = init_es = None
        self.linear_: LinearTerm | None = None
        if self.linear_base:
            # Trees boost from a linear term of the fit fold alone, so the early-stopping
            # fold judges them out of sample; they are then added to the term refitted on
            # every row (the freshest months hold regimes the fit fold never saw).
            stale = fit_linear(X[fit_rows], y[fit_rows], w[fit_rows], self.threads)
            init_fit, init_es = stale.logit(X[fit_rows]), stale.logit(X[es_rows])
            self.linear_ = fit_linear(X, y, w, self.threads)
        # One binned Dataset serves every member: members differ by their bagging and
        # feature-fraction seeds (subsampling without replacement), which is far cheaper
        # than re-binning a bootstrap copy per member.
        train = lgb.Dataset(X[fit_rows], y[fit_rows], weight=w[fit_rows], init_score=init_fit,
                            feature_name=list(feature_names), free_raw_data=False)
        valid = lgb.Dataset(X[es_rows], y[es_rows], weight=w[es_rows], init_score=init_es,
                            reference=train)
        self.boosters_: list[lgb.Booster] = []
        for k in range(self.ensemble):
            booster = lgb.train(self.lgb_params(k), train, num_boost_round=self.n_estimators,
                                valid_sets=[valid],
                                callbacks=[lgb.early_stopping(20, verbose=False)])
            self.boosters_.append(booster)
            if callback is not None:
                callback(k + 1, self.ensemble)
        raw = self._member_logits(X[cal_rows])
        self.platt_: tuple[float, float] | None = None
        if self.calibration == "platt":
            with threadpool_limits(limits=self.threads):
                platt = LogisticRegression(C=PLATT_C).fit(
                    raw.mean(0)[:, None], y[cal_rows], sample_weight=w[cal_rows])
            self.platt_ = (float(platt.intercept_[0]), float(platt.coef_[0, 0]))
            if self.platt_[1] <= 0:
                raise ValueError(f"Platt calibration slope {self.platt_[1]:.3g} <= 0: the "
                                 f"members' log-odds do not rank the calibration fold")
            self.calibration_x_ = self.calibration_y_ = np.empty(0)
            self.tie_break_ = 0.0   # strictly increasing already: no isotonic steps to break
        else:
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(raw.mean(0), y[cal_rows], sample_weight=w[cal_rows])
            self.calibration_x_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.calibration_y_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
            self.tie_break_ = TIE_BREAK
        cal_risk = self._calibrate(raw.mean(0))
        self.interval_: IntervalCalibration = fit_interval(
            cal_risk, raw.std(0), count[cal_rows], w[cal_rows], self.interval)
        # In-sample checks for the metadata, from predictions made anyway (both folds
        # shaped the model, so these are not an evaluation; see `riskmodel evaluate`).
        es_risk = self._calibrate(self._member_logits(X[es_rows]).mean(0))
        self.fold_metrics_ = {name: _fold_summary(y[r], p, w[r]) for name, r, p in (
            ("early_stopping", es_rows, es_risk), ("calibration", cal_rows, cal_risk))}
        self.folds_: TimeFolds = folds
        self.feature_names_in_ = tuple(feature_names)
        self.n_features_in_ = len(feature_names)
        self.classes_ = np.array([0, 1])
        self.best_iterations_ = [int(b.best_iteration or b.current_iteration())
                                 for b in self.boosters_]
        return self

    def to_dict(self) -> dict[str, Any]:
        """The fitted model as JSON-ready data: parameters, features, folds, calibration,
        interval, fold metrics, the linear base (when fitted) and per member its best
        iteration and LightGBM text model (`text`). `from_dict` is its inverse."""
        check_is_fitted(self, "boosters_")
        state: dict[str, Any] = {
            "features": list(self.feature_names_in_),
            "estimator_params": self.get_params(),
            "lightgbm_params": self.lgb_params(0),
            "folds": self.folds_.as_dict(),
            "calibration": self._calibration_record(),
            "interval": self.interval_.as_dict(),
            "metrics": self.fold_metrics_,
            "members": [{"best_iteration": k, "text": b.model_to_string(num_iteration=-1)}
                        for b, k in zip(self.boosters_, self.best_iterations_, strict=True)],
        }
        if self.linear_ is not None:
            state["linear_base"] = {
                "method": "logistic regression (L2) on every training row; log-odds = "
                          "intercept + X @ coef, a missing value replaced by fill",
                **self.linear_.as_dict()}
        return state

    def _calibration_record(self) -> dict[str, Any]:
        if self.platt_ is not None:
            a, b = self.platt_
            return {"method": "platt: sigmoid(intercept + slope * mean member logit)",
                    "intercept": a, "slope": b}
        return {"method": "isotonic on mean member logit, mixed with a tie_break share of "
                          "sigmoid(logit) to keep the ranking within steps",
                "x": self.calibration_x_.tolist(), "y": self.calibration_y_.tolist(),
                "tie_break": self.tie_break_}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> RiskModel:
        """The fitted model `to_dict` wrote (keys it does not write are ignored)."""
        params = dict(state["estimator_params"])
        model = cls(**params)
        boosters = []
        for member in state["members"]:
            booster = lgb.Booster(model_str=member["text"])
            booster.best_iteration = int(member["best_iteration"])
            boosters.append(booster)
        model.boosters_ = boosters
        model.best_iterations_ = [int(m["best_iteration"]) for m in state["members"]]
        cal = state["calibration"]
        if "slope" in cal:
            model.platt_ = (float(cal["intercept"]), float(cal["slope"]))
            model.calibration_x_ = model.calibration_y_ = np.empty(0)
            model.tie_break_ = 0.0
        else:
            model.platt_ = None
            model.calibration_x_ = np.asarray(cal["x"], dtype=np.float64)
            model.calibration_y_ = np.asarray(cal["y"], dtype=np.float64)
            model.tie_break_ = float(cal["tie_break"])
        model.linear_ = (LinearTerm.from_dict(state["linear_base"]) if "linear_base" in state
                         else None)
        model.interval_ = IntervalCalibration.from_dict(state["interval"])
        model.fold_metrics_ = state["metrics"]
        model.folds_ = TimeFolds.from_dict(state["folds"], horizon=int(params["horizon"]))
        model.feature_names_in_ = tuple(state["features"])
        model.n_features_in_ = len(model.feature_names_in_)
        model.classes_ = np.array([0, 1])
        return model

    def _member_logits(self, X: np.ndarray) -> np.ndarray:
        """(members, n) raw log-odds of each member (its trees plus the linear base)."""
        check_is_fitted(self, "boosters_")
        trees = np.stack([b.predict(X, raw_score=True, num_iteration=b.best_iteration or None,
                                    num_threads=self.threads) for b in self.boosters_])
        return trees if self.linear_ is None else trees + self.linear_.logit(X)[None]

    def _calibrate(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probability (n,) of mean member log-odds `logits` (n,): with
        `calibration="platt"` sigmoid(a + b * logits); otherwise the isotonic map mixed
        with a `tie_break_` share (`TIE_BREAK`, saved in the model's metadata) of
        sigmoid(logits), so that it is strictly increasing.

        Isotonic regression is a step function: the rows of one step (at the top, every row
        beyond the last threshold) would tie, and a budget of the top k areas would pick
        among them arbitrarily, blind to what the model ranks above what. The tie-break
        orders them by the model's log-odds, keeps every value inside [0, 1] and moves
        none by more than the share.
        """
        logits = np.asarray(logits, dtype=np.float64)
        platt = self.platt_
        if platt is not None:   # calibration="platt": strictly increasing already
            return 0.5 * (1.0 + np.tanh(0.5 * (platt[0] + platt[1] * logits)))
        p = np.interp(logits, self.calibration_x_, self.calibration_y_)
        share = self.tie_break_
        return (1.0 - share) * p + share * 0.5 * (1.0 + np.tanh(0.5 * logits))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, 2) calibrated probabilities [P(no case), P(case identified within H)]."""
        p = self._calibrate(self._member_logits(np.asarray(X, np.float32)).mean(0))
        return np.column_stack([1 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n,) class 1 where the calibrated risk is at least 0.5, else 0 (scikit-learn's
        classifier contract; the engine itself reads `predict_proba` / `predict_interval`)."""
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(np.intp)]

    def predict_spread(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(risk, member_sd), each (n,): calibrated risk and the standard deviation of the
        members' log-odds (what the interval is built from)."""
        logits = self._member_logits(np.asarray(X, np.float32))
        return self._calibrate(logits.mean(0)), logits.std(0)

    def predict_interval(self, X: np.ndarray, band: IntervalCalibration | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(risk, lo, hi), each (n,): calibrated risk and its nominal `interval` band for
        the true risk (see `riskmodel.models.interval`), with the calibration `band`
        (a refit at scoring) or else the calibration fold's."""
        risk, sd = self.predict_spread(X)
        lo, hi = predict_band(risk, sd, self.interval_ if band is None else band)
        return risk, lo, hi

    def predict_contrib(self, X: np.ndarray) -> np.ndarray:
        """(n, F) log-odds contributions per feature of member 0: LightGBM TreeSHAP of its
        trees plus, with a linear base, the linear term's own (coef_j * (x_j - fill_j), a
        missing value counting as the fill, the training mean), so they add up to the
        member's log-odds less a constant whatever the model.

        TreeSHAP costs about as much per member as scoring thousands of rows, so drivers come
        from the first member only; members share data and parameters and differ only in
        subsampling, so their drivers agree closely. The tree values are `pred_contrib`'s,
        computed once per distinct path of each tree (`riskmodel.models.contrib`).
        """
        check_is_fitted(self, "boosters_")
        b = self.boosters_[0]
        k = b.best_iteration or None
        cached = getattr(self, "_contrib_splits", None)
        if cached is None or cached[0] is not b:
            # the member's splits, parsed once per booster (a refit or load replaces it)
            self._contrib_splits = (b, tree_splits(b, k))
        contrib = contributions(b, X, num_iteration=k, threads=self.threads,
                                splits=self._contrib_splits[1])
        linear = self.linear_
        if linear is not None:
            # SHAP values of a linear term against its training mean: exact and additive
            # with the trees' (the member's log-odds are their sum).
            x = np.asarray(X, dtype=np.float64)
            contrib += np.where(np.isnan(x), 0.0, x - linear.fill) * linear.coef
        return contrib
