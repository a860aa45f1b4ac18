"""TreeSHAP by distinct path (`riskmodel.models.contrib`) against LightGBM's `pred_contrib`."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel.models.contrib import contributions, iterations, tree_splits

F = 6


def _booster(seed: int = 0, *, zero_as_missing: bool = False, rounds: int = 25,
             categorical: bool = False, leaves: int = 15) -> tuple[lgb.Booster, np.ndarray]:
    """A small binary booster on data with NaNs, exact zeros and repeated values (so splits
    meet missing values of both kinds and ties at thresholds), and its training matrix."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2000, F)).astype(np.float32)
    X[:, 1] = np.round(X[:, 1], 1)  # repeated values: rows exactly at thresholds
    X[rng.random(2000) < 0.3, 2] = 0.0
    X[rng.random(2000) < 0.2, 3] = np.nan
    X[:, 4] = rng.integers(0, 5, 2000)
    logit = X[:, 0] + np.nan_to_num(X[:, 3], nan=1.5) - 0.8 * (X[:, 2] == 0) + 0.5 * X[:, 4]
    y = (rng.random(2000) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"objective": "binary", "num_leaves": leaves, "min_data_in_leaf": 20,
              "verbose": -1, "deterministic": True, "num_threads": 1, "seed": seed,
              "zero_as_missing": zero_as_missing}
    ds = lgb.Dataset(X, y, categorical_feature=[4] if categorical else "auto",
                     params={"verbose": -1})
    return lgb.train(params, ds, num_boost_round=rounds), X


def _reference(b: lgb.Booster, X: np.ndarray, k: int | None = None) -> np.ndarray:
    return b.predict(X, pred_contrib=True, num_iteration=k)[:, :X.shape[1]]


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_equals_pred_contrib_with_nan_zero_and_ties(zero_as_missing: bool) -> None:
    b, X = _booster(1, zero_as_missing=zero_as_missing)
    splits = tree_splits(b)
    assert splits is not None and len(splits.iteration) > 0
    missing_kinds = set(np.unique(splits.missing))
    assert missing_kinds & {1, 2}, "the test booster should have missing-value splits"
    np.testing.assert_allclose(contributions(b, X), _reference(b, X), rtol=0, atol=1e-12)


def test_rows_at_thresholds_and_tiny_values_go_lightgbms_way() -> None:
    b, X = _booster(2)
    s = tree_splits(b)
    assert s is not None
    # one row per split, at its threshold as float32 rounds it and just beside, and at the
    # float32 values LightGBM reads as zero (+-1e-35 itself: splits between zero and the
    # negative or positive values sit exactly there)
    rows = []
    for f, thr in zip(s.feature, s.threshold, strict=True):
        for v in (np.float32(thr), np.nextafter(np.float32(thr), np.float32(np.inf)),
                  np.float32(1e-36), np.float32(-1e-36), np.float32(1e-35),
                  np.float32(-1e-35), np.float32(np.nan)):
            r = X[0].copy()
            r[f] = v
            rows.append(r)
    Xe = np.array(rows, np.float32)
    np.testing.assert_allclose(contributions(b, Xe), _reference(b, Xe), rtol=0, atol=1e-12)


def test_best_iteration_and_all_iterations() -> None:
    b, X = _booster(3, rounds=30)
    assert iterations(b, None) == 30  # no best iteration: every tree, as predict does
    assert iterations(b, 0) == 30 and iterations(b, 12) == 12 and iterations(b, 99) == 30
    np.testing.assert_allclose(contributions(b, X[:300], num_iteration=12),
                               _reference(b, X[:300], 12), rtol=0, atol=1e-12)
    b.best_iteration = 7
    np.testing.assert_allclose(contributions(b, X[:300]), _reference(b, X[:300]),
                               rtol=0, atol=1e-12)


def test_many_internal_nodes_use_several_key_words() -> None:
    b, X = _booster(4, leaves=100, rounds=5)  # > 64 internal nodes in a tree: two words
    s = tree_splits(b)
    assert s is not None and np.diff(s.start).max() > 64
    np.testing.assert_allclose(contributions(b, X), _reference(b, X), rtol=0, atol=1e-12)


def test_categorical_splits_fall_back_to_pred_contrib() -> None:
    b, X = _booster(5, categorical=True)
    assert tree_splits(b) is None
    np.testing.assert_allclose(contributions(b, X[:200]), _reference(b, X[:200]),
                               rtol=0, atol=1e-12)


def test_single_leaf_trees_empty_input_and_duplicates() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, F)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    # min_data_in_leaf above half the rows: no split is possible, every tree is one leaf
    b = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 150,
                   "num_threads": 1}, lgb.Dataset(X, y), num_boost_round=3)
    s = tree_splits(b)
    assert s is not None and len(s.iteration) == 0
    np.testing.assert_array_equal(contributions(b, X), np.zeros((200, F)))
    b2, X2 = _booster(7)
    assert contributions(b2, X2[:0]).shape == (0, F)
    dup = np.repeat(X2[:5], 50, axis=0)  # 5 distinct rows: 5 paths per tree at most
    np.testing.assert_allclose(contributions(b2, dup), _reference(b2, dup), rtol=0, atol=1e-12)


def test_same_bytes_on_every_call() -> None:
    b, X = _booster(8)
    assert contributions(b, X).tobytes() == contributions(b, X).tobytes()


_BOOSTER = _booster(9)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_property_random_rows_from_split_values(data: st.DataObject) -> None:
    """Rows built from the booster's own thresholds, their float32 neighbours, zeros, tiny
    values and NaN (where decisions are most fragile) get pred_contrib's values."""
    b, _ = _BOOSTER
    s = tree_splits(b)
    assert s is not None
    n = data.draw(st.integers(0, 40))
    pool = np.concatenate([s.threshold.astype(np.float32),
                           np.nextafter(s.threshold.astype(np.float32), np.float32(-np.inf)),
                           np.array([0.0, -0.0, 1e-36, 1e-35, -1e-35, np.nan, 3.0, -3.0],
                                    np.float32)])
    idx = data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=n * F, max_size=n * F))
    X = pool[np.array(idx, dtype=np.int64)].reshape(n, F).astype(np.float32)
    got = contributions(b, X)
    assert got.shape == (n, F)
    if n:
        np.testing.assert_allclose(got, _reference(b, X), rtol=0, atol=1e-12)
