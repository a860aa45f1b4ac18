"""Baselines the model must beat, fitted on the same origin's data as the model.

- persistence: each area's historical rate of the label over the training months, shrunk
  toward the overall rate by one pseudo-month so areas never seen positive keep a small
  probability (a zero would make the log loss infinite).
- logistic: scikit-learn logistic regression (L2, lbfgs) on the model's features and
  training rows (same sampling weights), after mean imputation (a missing value counts
  as average, as in the composite) and standardisation.
- composite: an equal-weight composite index of the standardised drivers, the INFORM-style
  approach: each feature is z-scored with training means and deviations and oriented by
  the sign of its training correlation with the label (only the sign is learnt, never a
  weight), the index is their mean, and a one-variable logistic fit maps it to a
  probability so it can be scored like the others.
- oracle (synthetic worlds only): the world's true probability of at least one identified
  case in (t, t+H], 1 - exp(-sum over t+1..t+H of true_rate * detection_prob), an upper
  reference no real system has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from riskmodel.errors import InputError
from riskmodel.models.estimator import PLATT_C, LinearTerm, fit_linear
from riskmodel.models.evaluate import window_probability
from riskmodel.models.table import Table

PERSISTENCE_PRIOR_MONTHS = 1.0


def persistence_rates(labels: np.ndarray, months: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Historical label rate per area (n_cells,) over `months` of `labels` (time, lat, lon)."""
    lab = labels[np.asarray(months)].reshape(len(months), -1)[:, cells].astype(np.float64)
    known = ~np.isnan(lab)
    k = np.where(known, lab, 0.0).sum(0)
    n = known.sum(0)
    overall = k.sum() / max(n.sum(), 1)
    return (k + PERSISTENCE_PRIOR_MONTHS * overall) / (n + PERSISTENCE_PRIOR_MONTHS)


def fit_logistic(table: Table, c: float, threads: int) -> LinearTerm:
    """Logistic regression on `table` (imputed, standardised, weighted like the model):
    the same fit as the model's linear base (`fit_linear`), with inverse strength `c`."""
    return fit_linear(table.X, table.y, table.weight, threads, c=c)


def predict_logistic(term: LinearTerm, X: np.ndarray) -> np.ndarray:
    """P(case) of the logistic baseline for rows `X`."""
    return expit(term.logit(X))


@dataclass(frozen=True)
class Composite:
    """A fitted composite index over the feature columns `keep`: their training mean,
    deviation and sign, and the Platt map from index to probability."""

    keep: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    sign: np.ndarray
    platt: LogisticRegression

    def index(self, X: np.ndarray) -> np.ndarray:
        """Equal-weight mean of the oriented z-scores; a missing value counts as average.

        Computed as (x @ a - observed @ (mean * a)) / K with a = sign / std, so no
        standardised copy of the matrix is made.
        """
        x = np.asarray(X)[:, self.keep]
        ok = ~np.isnan(x)
        a = self.sign / self.std
        filled = np.where(ok, x, 0.0)
        return (filled @ a - ok @ (self.mean * a)) / len(self.keep)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """P(case) for rows `X` (all feature columns, in training order)."""
        return self.platt.predict_proba(self.index(X)[:, None])[:, 1]


def fit_composite(table: Table) -> Composite:
    """Fit the composite index on `table` (weighted moments and correlation signs)."""
    ok = ~np.isnan(table.X)
    X = np.where(ok, table.X, 0.0).astype(np.float64)   # missing values add nothing below
    okf = ok.astype(np.float64)
    w = table.weight
    wsum = np.maximum(w @ okf, 1e-300)
    mean = (w @ X) / wsum
    std = np.sqrt(np.maximum((w @ (X * X)) / wsum - mean ** 2, 0.0))
    wy = w * (table.y - np.average(table.y, weights=w))
    # Weighted covariance with the label over each feature's observed rows.
    cov = X.T @ wy - mean * (okf.T @ wy)
    # Constant features (up to rounding of the one-pass variance) and features unrelated to
    # the label carry no orientation: drop them.
    keep = np.flatnonzero((std > 1e-6 * np.maximum(1.0, np.abs(mean))) & (cov != 0))
    if not len(keep):
        raise InputError("composite baseline: no feature varies with the label in the "
                         "training window")
    platt = LogisticRegression(C=PLATT_C)
    comp = Composite(keep, mean[keep], std[keep], np.sign(cov[keep]), platt)
    platt.fit(comp.index(table.X)[:, None], table.y, sample_weight=w)
    return comp


def oracle_probability(inputs: xr.Dataset, target: str, horizon: int) -> np.ndarray:
    """(time, lat, lon) true P(>= 1 identified case in (t, t+H]); NaN for the last H months
    and at sea. Raises `InputError` when the inputs carry no truth (real data)."""
    need = [f"true_rate_{target}", "detection_prob"]
    missing = [v for v in need if v not in inputs]
    if missing:
        raise InputError(f"oracle baseline needs {missing}, which only synthetic worlds have")
    rate = inputs[need[0]].values.astype(np.float64) * inputs[need[1]].values
    # The same formula `riskmodel evaluate` scores its oracle with.
    return window_probability(rate, horizon)
