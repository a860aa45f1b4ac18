"""riskmodel.models.metrics against their scikit-learn twins on small arrays (with ties,
weights and edge cases)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, precision_score, roc_auc_score

from riskmodel.models import metrics


def _sample(seed: int, n: int = 300, ties: bool = True):
    rng = np.random.default_rng(seed)
    s = rng.random(n)
    if ties:
        s = np.round(s, 1)  # many tied scores
    y = (rng.random(n) < 0.2 + 0.6 * s).astype(float)
    w = rng.uniform(0.1, 3.0, n)
    return y, s, w


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [True, False])
def test_auc_and_pr_auc_match_sklearn(seed: int, ties: bool) -> None:
    y, s, w = _sample(seed, ties=ties)
    assert metrics.roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert metrics.roc_auc(y, s, w) == pytest.approx(roc_auc_score(y, s, sample_weight=w),
                                                     abs=1e-12)
    assert metrics.average_precision(y, s) == pytest.approx(average_precision_score(y, s),
                                                            abs=1e-12)
    assert metrics.average_precision(y, s, w) == pytest.approx(
        average_precision_score(y, s, sample_weight=w), abs=1e-12)


def test_auc_edge_cases() -> None:
    assert np.isnan(metrics.roc_auc(np.zeros(5), np.arange(5.0)))
    assert np.isnan(metrics.average_precision(np.zeros(5), np.arange(5.0)))
    assert metrics.roc_auc([0, 1], [0.1, 0.9]) == 1.0
    assert metrics.roc_auc([0, 1], [0.5, 0.5]) == 0.5
    with pytest.raises(ValueError, match="NaN"):
        metrics.roc_auc([0, 1], [np.nan, 0.2])
    with pytest.raises(ValueError, match="length"):
        metrics.roc_auc([0, 1, 1], [0.1, 0.2])


def test_precision_at_budget_matches_sklearn_on_flags() -> None:
    y, s, _ = _sample(3, n=400, ties=False)
    month = np.repeat(np.arange(4), 100)
    flags = metrics.budget_flags(s, month, 0.05)
    assert flags.sum() == 4 * 5
    for m in range(4):  # the top 5 of each month, nothing else
        rows = month == m
        assert set(np.flatnonzero(flags & rows)) == set(
            np.flatnonzero(rows)[np.argsort(-s[rows])[:5]])
    assert metrics.precision_at_budget(y, s, month, 0.05) == pytest.approx(
        precision_score(y, flags.astype(int)))
    with pytest.raises(ValueError, match="budget share"):
        metrics.budget_flags(s, month, 0.0)


def test_reliability_matches_calibration_curve_and_hand_ece() -> None:
    rng = np.random.default_rng(5)
    p = rng.random(200)  # distinct values, 200 rows: 10 bins of exactly 20
    y = (rng.random(200) < p).astype(float)
    rel = metrics.reliability(y, p, bins=10)
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    np.testing.assert_allclose(rel.observed, observed, atol=1e-12)
    np.testing.assert_allclose(rel.predicted, predicted, atol=1e-12)
    assert rel.ece == pytest.approx(np.mean(np.abs(observed - predicted)))
    # By hand: two bins, predictions 0.1 (observed 0.0) and 0.9 (observed 1.0).
    small = metrics.reliability([0, 0, 1, 1], [0.1, 0.1, 0.9, 0.9], bins=2)
    assert small.ece == pytest.approx(0.1)
    assert [r["rows"] for r in small.as_rows()] == [2.0, 2.0]
    with pytest.raises(ValueError, match="at least 10 rows"):
        metrics.reliability([0, 1], [0.1, 0.2])


def test_interval_coverage_and_registry_table() -> None:
    truth = np.array([0.1, 0.2, 0.3, 0.4])
    assert metrics.interval_coverage(truth, truth - 0.05, truth + 0.05) == 1.0
    assert metrics.interval_coverage(truth, truth + 0.01, truth + 0.05) == 0.0
    assert metrics.interval_coverage(truth, [0, 0, 0.35, 0], [1, 1, 1, 0.39]) == 0.5
    assert set(metrics.METRICS) == {"auc", "pr_auc", "precision_at_budget", "ece",
                                    "interval_coverage"}
    assert all(m.twin and m.meaning for m in metrics.METRICS.values())
