"""The Poisson-log-normal likelihood of the interval's spread: the kernel against the
adaptive-quadrature reference, the spread of a known world recovered, weights as repeated
rows, and the interval's estimator switch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel.models.count_likelihood import (
    fit_sigma,
    log_likelihood_reference,
    row_log_likelihood,
)
from riskmodel.models.interval import IntervalCalibration, fit_interval, probability


def _rows(n: int, sigma: float, seed: int, member_sd: float = 0.0
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, lam_hat, member_sd) of a world whose log-rate error has spread
    sqrt(sigma^2 + member_sd^2) around lam_hat, mean-preserving."""
    rng = np.random.default_rng(seed)
    lam = np.exp(rng.uniform(np.log(0.02), np.log(3.0), n))
    d = rng.uniform(0.0, member_sd, n) if member_sd else np.zeros(n)
    s = np.sqrt(sigma ** 2 + d ** 2)
    count = rng.poisson(lam * np.exp(s * rng.standard_normal(n) - s ** 2 / 2))
    return count.astype(float), lam, d


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), sigma=st.floats(0.0, 2.5),
       log_lam=st.floats(-9.0, 2.6), max_count=st.integers(0, 40))
def test_kernel_matches_the_quadrature_reference(seed: int, sigma: float, log_lam: float,
                                                 max_count: int) -> None:
    rng = np.random.default_rng(seed)
    count = rng.integers(0, max_count + 1, 6).astype(float)
    lam = np.exp(log_lam + rng.normal(0, 0.5, 6))
    d = rng.uniform(0, 0.7, 6)
    got = row_log_likelihood(count, lam, d, sigma)
    ref = log_likelihood_reference(count, lam, d, sigma)
    # 6e-6 is the trapezoid grid's worst case at spreads near 2.5 (module constants)
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-5)


def test_no_spread_is_the_poisson_likelihood() -> None:
    count, lam = np.array([0.0, 1, 3, 12]), np.array([0.01, 0.7, 2.0, 9.0])
    from scipy.stats import poisson
    np.testing.assert_allclose(row_log_likelihood(count, lam, np.zeros(4), 0.0),
                               poisson.logpmf(count, lam), rtol=0, atol=1e-10)


@pytest.mark.parametrize("sigma", [0.0, 0.4, 0.9])
def test_fit_recovers_the_spread_of_a_known_world(sigma: float) -> None:
    count, lam, d = _rows(60_000, sigma, seed=int(sigma * 10), member_sd=0.3)
    got = fit_sigma(count, lam, d, np.ones(len(count)))
    assert got == pytest.approx(sigma, abs=0.08)


def test_a_weight_counts_as_that_many_copies_of_the_row() -> None:
    count, lam, d = _rows(3000, 0.6, seed=5)
    w = np.random.default_rng(6).integers(1, 4, len(count)).astype(float)
    rep = np.repeat(np.arange(len(count)), w.astype(int))
    assert fit_sigma(count, lam, d, w) == pytest.approx(
        fit_sigma(count[rep], lam[rep], d[rep], np.ones(len(rep))), abs=2e-4)


def test_bad_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        row_log_likelihood(np.array([1.0]), np.array([0.0]), np.array([0.1]), 0.5)
    with pytest.raises(ValueError, match="one length"):
        row_log_likelihood(np.array([1.0, 2.0]), np.array([1.0]), np.array([0.1]), 0.5)
    with pytest.raises(ValueError, match="one non-negative value per row"):
        fit_sigma(np.array([1.0]), np.array([1.0]), np.array([0.1]), np.ones(2))


def test_interval_likelihood_estimator_is_the_fitted_spread_times_scale() -> None:
    count, lam, d = _rows(20_000, 0.5, seed=7, member_sd=0.2)
    risk = probability(lam)
    cal = fit_interval(risk, d, count, np.ones(len(count)), 0.8, estimator="likelihood",
                       scale=1.2)
    assert cal.estimator == "likelihood"
    assert cal.sigma[0] == pytest.approx(1.2 * fit_sigma(count, lam, d,
                                                         np.ones(len(count))), rel=1e-6)
    back = IntervalCalibration.from_dict(json.loads(json.dumps(cal.as_dict())))
    assert back.estimator == "likelihood" and back.sigma.tolist() == cal.sigma.tolist()
    # metadata written before the estimator was recorded is the moment estimator's
    old = {k: v for k, v in cal.as_dict().items() if k != "estimator"}
    assert IntervalCalibration.from_dict(old).estimator == "moment"
    with pytest.raises(ValueError, match="expected one of moment, likelihood"):
        fit_interval(risk, d, count, np.ones(len(count)), 0.8, estimator="median")


def test_refit_with_the_likelihood_is_the_fit_on_the_newest_labelled_months() -> None:
    from riskmodel.models.interval import LabelledRows, refit_interval

    count, lam, d = _rows(12_000, 0.5, seed=8)
    month = np.repeat(np.arange(12), 1000)
    rows = LabelledRows(probability(lam), d, count, month)
    fallback = IntervalCalibration(0.8, np.array([0.0]), np.array([0.25]))
    cal = refit_interval(rows, 11 + 3, 3, fallback, months=6, scale=1.0,
                         estimator="likelihood")
    use = month >= 6   # the newest 6 months whose windows closed by month 14 (t + 3 <= 14)
    assert cal.estimator == "likelihood" and cal.refit.months == [6, 11]
    assert cal.sigma[0] == pytest.approx(fit_sigma(count[use], lam[use], d[use],
                                                   np.ones(int(use.sum()))), rel=1e-9)


def test_merging_rows_moves_the_fitted_spread_by_less_than_1e3() -> None:
    from riskmodel.models import count_likelihood as cl

    count, lam, d = _rows(40_000, 0.7, seed=9, member_sd=0.4)
    w = np.ones(len(count))
    merged = cl.grouped_rows(count, lam, d, w)
    assert len(merged[0]) < len(count) and merged[3].sum() == len(count)

    def loss(sigma: float) -> float:   # the unmerged likelihood, row by row
        return -float(row_log_likelihood(count, lam, d, sigma).sum())

    from scipy import optimize
    exact = optimize.minimize_scalar(loss, bounds=(0.0, 4.0), method="bounded",
                                     options={"xatol": 1e-5}).x
    assert fit_sigma(count, lam, d, w) == pytest.approx(exact, abs=1e-3)
    # the rows' order does not matter (beyond the order of the sums' rounding)
    order = np.random.default_rng(1).permutation(len(count))
    assert fit_sigma(count[order], lam[order], d[order], w) == pytest.approx(
        fit_sigma(count, lam, d, w), rel=1e-9)
