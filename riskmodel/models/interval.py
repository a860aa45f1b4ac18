"""The risk interval: how far the true risk may lie from the calibrated score.

The risk is p = P(at least one case identified in (t, t+H]) = 1 - exp(-L), where L is the
expected number of identified cases in the window. The interval is built on log L (the
complementary log-log scale of p) as a log-normal band around the score:

    log L_true ~ Normal(log L_hat - s^2 / 2, s^2),   s^2 = sigma_res(p)^2 + sd_members^2

- `sd_members` is the spread of the ensemble members' log-odds for the row (model
  uncertainty from resampling: rows the members disagree on get wider bands).
- `sigma_res(p)` is everything else the score gets wrong (missing drivers, local
  effects, smoothing). It is not identifiable from 0/1 outcomes, but it is from counts: if
  identified cases N in a window are Poisson(L_true), then E[(N - L_hat)^2 - N] =
  (L_true - L_hat)^2 for every row, so on the calibration fold the weighted mean of
  (N - L_hat)^2 - N, divided by the mean of L_hat^2, estimates the relative squared error
  r^2 = E[(L_true / L_hat - 1)^2] = exp(s^2) - 1 of a log-normal band, and
  sigma_res^2 = max(log(1 + r^2) - mean(sd_members^2), 0) (means weighted by L_hat^2 like
  r^2). The information sits in windows with two or more cases, so the estimate is pooled
  over all calibration rows by default (`BINS` = 1: one residual spread, measured on the
  demo world to vary little with the score); a world with too few such windows yields
  sigma_res = 0 and the band shrinks to the member spread, which the evaluation shows.

So the band says where the true risk of a cell lies, given its score, for `nominal` of the
cells with that score; it does not cover the 0/1 outcome. Counts overdispersed beyond
Poisson (cases found in batches) widen it, which errs on the side of caution.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

BINS = 1
_P_MIN, _P_MAX = 1e-6, 1 - 1e-6


def expected_count(p: np.ndarray) -> np.ndarray:
    """L = -log(1 - p): the expected identified cases behind a probability of >= 1 case."""
    return -np.log1p(-np.clip(np.asarray(p, dtype=np.float64), _P_MIN, _P_MAX))


def probability(expected: np.ndarray) -> np.ndarray:
    """p = 1 - exp(-L): probability of at least one case given expected cases L."""
    return -np.expm1(-np.asarray(expected, dtype=np.float64))


@dataclass(frozen=True)
class IntervalCalibration:
    """Residual log-rate spread per score bin, fitted on the calibration fold.

    `centres` (bins,) mean log L_hat of each bin (ascending), `sigma` (bins,) the residual
    spread sigma_res there; `nominal` the coverage the band aims at.
    """

    nominal: float
    centres: np.ndarray
    sigma: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the model metadata."""
        return {"method": "log-normal band on log expected cases; residual spread from "
                          "Poisson count overdispersion on the calibration fold, plus "
                          "member spread",
                "nominal": self.nominal, "centres": self.centres.tolist(),
                "sigma": self.sigma.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IntervalCalibration:
        """Inverse of `as_dict`."""
        return cls(float(d["nominal"]), np.asarray(d["centres"], dtype=np.float64),
                   np.asarray(d["sigma"], dtype=np.float64))


def _equal_weight_bins(order_key: np.ndarray, weight: np.ndarray, bins: int) -> np.ndarray:
    """Bin index (0..bins-1) per row, bins of equal total weight along `order_key`."""
    order = np.argsort(order_key, kind="stable")
    cum = np.cumsum(weight[order])
    edges = cum[-1] * np.arange(1, bins) / bins
    b = np.empty(len(order_key), dtype=np.int64)
    b[order] = np.searchsorted(edges, cum - 0.5 * weight[order])
    return b


def fit_interval(risk: np.ndarray, member_sd: np.ndarray, count: np.ndarray,
                 weight: np.ndarray, nominal: float, bins: int = BINS
                 ) -> IntervalCalibration:
    """Fit the residual spread from calibration-fold rows (see the module docstring).

    `risk` (n,) calibrated probabilities, `member_sd` (n,) standard deviation of the
    members' log-odds, `count` (n,) identified cases in each row's label window,
    `weight` (n,) sampling weights. Bins with too little information get sigma 0.
    """
    risk, member_sd, count, weight = (np.asarray(a, dtype=np.float64) for a in
                                      (risk, member_sd, count, weight))
    if not (len(risk) == len(member_sd) == len(count) == len(weight)):
        raise ValueError("risk, member_sd, count and weight differ in length")
    if len(risk) < bins:
        raise ValueError(f"need at least {bins} calibration rows for the interval")
    lam = expected_count(risk)
    b = _equal_weight_bins(lam, weight, bins)
    centres, sigma = np.zeros(bins), np.zeros(bins)
    for k in range(bins):
        m = b == k
        w = weight[m]
        centres[k] = np.average(np.log(lam[m]), weights=w)
        # Unbiased per row for (L_true - L_hat)^2 when N ~ Poisson(L_true).
        sq_err = np.sum(w * ((count[m] - lam[m]) ** 2 - count[m]))
        info = w * lam[m] ** 2  # the weight each row carries in r^2
        r2 = max(sq_err, 0.0) / np.sum(info)
        members = np.sum(info * member_sd[m] ** 2) / np.sum(info)
        sigma[k] = np.sqrt(max(np.log1p(r2) - members, 0.0))
    return IntervalCalibration(float(nominal), centres, sigma)


def predict_band(risk: np.ndarray, member_sd: np.ndarray, cal: IntervalCalibration
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi), each (n,): the `cal.nominal` band of the true risk around `risk`.

    Always lo <= risk <= hi, both strictly inside [0, 1] for risk inside (0, 1).
    """
    risk = np.asarray(risk, dtype=np.float64)
    log_lam = np.log(expected_count(risk))
    s = np.sqrt(np.interp(log_lam, cal.centres, cal.sigma) ** 2
                + np.asarray(member_sd, dtype=np.float64) ** 2)
    z = NormalDist().inv_cdf(0.5 + cal.nominal / 2)
    centre = log_lam - 0.5 * s ** 2
    lo = probability(np.exp(centre - z * s))
    hi = probability(np.exp(centre + z * s))
    return np.minimum(lo, risk), np.maximum(hi, risk)
