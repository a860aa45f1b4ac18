"""Baselines: persistence rates, composite orientation, logistic, and the oracle formula."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from riskmodel.backtest.baselines import (
    fit_composite,
    fit_logistic,
    oracle_probability,
    persistence_rates,
    predict_logistic,
)
from riskmodel.errors import InputError
from riskmodel.models.table import Table


def _table(n: int = 2000, seed: int = 0) -> Table:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    X[:, 2] = 0.3                       # constant: carries no orientation
    X[rng.random(n) < 0.05, 0] = np.nan  # missing values count as average
    eta = -1.0 + 1.5 * np.nan_to_num(X[:, 0]) - 1.0 * X[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.float32)
    return Table(X, y, np.ones(n), np.zeros(n, np.int32), np.arange(n), ("a", "b", "c"))


def test_persistence_is_the_shrunk_historical_rate() -> None:
    labels = np.zeros((10, 1, 3), np.float32)
    labels[:4, 0, 0] = 1            # cell 0: 4 of 5 training months
    labels[2, 0, 2] = np.nan        # an unknown label is not counted
    rates = persistence_rates(labels, np.arange(5), np.array([0, 1, 2]))
    overall = 4 / 14
    assert rates[0] == pytest.approx((4 + overall) / 6)
    assert rates[1] == pytest.approx(overall / 6)
    assert rates[2] == pytest.approx(overall / 5)


def test_composite_learns_signs_not_weights() -> None:
    comp = fit_composite(_table())
    assert comp.keep.tolist() == [0, 1]            # the constant column is dropped
    assert comp.sign.tolist() == [1.0, -1.0]
    t = _table(seed=1)
    p = comp.predict(t.X)
    assert np.all((p > 0) & (p < 1))
    # Equal weights: the index is the mean of the oriented z-scores, whatever their size.
    x = np.array([[comp.mean[0] + 2 * comp.std[0], comp.mean[1] + comp.std[1], 5.0]])
    assert comp.index(x)[0] == pytest.approx((2.0 - 1.0) / 2)
    hi = comp.predict(np.array([[3, -3, 0.3]], np.float32))
    lo = comp.predict(np.array([[-3, 3, 0.3]], np.float32))
    assert hi[0] > 0.5 > lo[0]


def test_logistic_beats_chance_on_its_own_signal() -> None:
    term = fit_logistic(_table(), 1.0, threads=1)
    t = _table(seed=2)
    p = predict_logistic(term, t.X)
    assert p[t.y == 1].mean() > p[t.y == 0].mean() + 0.1


def test_logistic_is_scikit_learns_pipeline_folded_to_raw_units() -> None:
    # The baseline (and the model's linear base) fold the standardisation into the
    # coefficients; scores must be scikit-learn's imputer -> scaler -> logistic pipeline.
    t = _table()
    X = t.X.astype(np.float64)
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(t.y))
    pipe = make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True),
                         StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
    pipe.fit(X, t.y, logisticregression__sample_weight=w)
    term = fit_logistic(Table(X, t.y, w, t.month, t.cell, t.features), 0.5, threads=1)
    other = _table(seed=4).X.astype(np.float64)
    np.testing.assert_allclose(predict_logistic(term, other), pipe.predict_proba(other)[:, 1],
                               rtol=1e-9, atol=1e-12)


def test_oracle_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    rate = rng.uniform(0, 0.5, (8, 2, 2))
    rate[:, 0, 0] = np.nan  # sea
    det = rng.uniform(0.1, 0.9, (8, 2, 2))
    ds = xr.Dataset({"true_rate_fl": (("time", "lat", "lon"), rate),
                     "detection_prob": (("time", "lat", "lon"), det)})
    out = oracle_probability(ds, "fl", 3)
    t, i, j = 2, 1, 0
    expect = 1 - np.exp(-sum(rate[s, i, j] * det[s, i, j] for s in range(t + 1, t + 4)))
    assert out[t, i, j] == pytest.approx(expect)
    assert np.isnan(out[-3:]).all() and np.isnan(out[:, 0, 0]).all()
    with pytest.raises(InputError, match="only synthetic worlds"):
        oracle_probability(ds.drop_vars("detection_prob"), "fl", 3)
