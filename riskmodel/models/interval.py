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
  (L_true - L_hat)^2 for every row, so ((N - L_hat)^2 - N) / L_hat^2 is an unbiased
  estimate of the row's relative squared error (L_true / L_hat - 1)^2. Its weighted mean
  over the calibration fold, r^2, estimates exp(s^2) - 1 of a log-normal band, and
  sigma_res^2 = max(log(1 + r^2) - mean(sd_members^2), 0) (means with the same weights).

Which rows the mean leans on is the method's one real choice. Row i is weighted by
w_i x L_hat_i^`WEIGHT_POWER`: a power of 2 (the classic overdispersion estimator) is the
least noisy, because the information sits in windows with two or more cases, but it
measures the error of the highest-risk cells, while the band must hold for the typical
cell, whose relative error is larger and invisible to counts of one. A power of 1 leans on
lower-risk rows (noisier, still unbiased when the error does not depend on the score). The
spread so measured is then widened by `SCALE`: the band is used on months after the
calibration fold, further from the members' training rows, and errors grow with that
distance. Both constants were chosen on the selection worlds only
(benchmarks/selection/select_interval.py, whose output records every candidate tried);
docs/models.md reports the coverage on report worlds. The estimate is pooled over all
calibration rows (`BINS` = 1): per-score bins leave too few multi-case windows in the
low-risk bins and gave zero spreads there.

So the band says where the true risk of a cell lies, given its score, for about `nominal`
of the cells; it does not cover the 0/1 outcome. Counts overdispersed beyond Poisson
(cases found in batches) widen it, which errs on the side of caution.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

BINS = 1
# Chosen on the selection worlds (benchmarks/selection/interval-method.json); see above.
WEIGHT_POWER = 1.0
SCALE = 1.3
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
    spread sigma_res there (`scale` already applied); `nominal` the coverage the band aims
    at; `weight_power` and `scale` the estimator's settings (module docstring).
    """

    nominal: float
    centres: np.ndarray
    sigma: np.ndarray
    weight_power: float = WEIGHT_POWER
    scale: float = SCALE

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the model metadata."""
        return {"method": "log-normal band on log expected cases; residual spread from "
                          "Poisson count overdispersion on the calibration fold (rows "
                          "weighted by L_hat^weight_power, widened by scale), plus member "
                          "spread",
                "nominal": self.nominal, "centres": self.centres.tolist(),
                "sigma": self.sigma.tolist(), "weight_power": self.weight_power,
                "scale": self.scale}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IntervalCalibration:
        """Inverse of `as_dict`."""
        return cls(float(d["nominal"]), np.asarray(d["centres"], dtype=np.float64),
                   np.asarray(d["sigma"], dtype=np.float64),
                   float(d.get("weight_power", 2.0)), float(d.get("scale", 1.0)))


def _equal_weight_bins(order_key: np.ndarray, weight: np.ndarray, bins: int) -> np.ndarray:
    """Bin index (0..bins-1) per row, bins of equal total weight along `order_key`."""
    order = np.argsort(order_key, kind="stable")
    cum = np.cumsum(weight[order])
    edges = cum[-1] * np.arange(1, bins) / bins
    b = np.empty(len(order_key), dtype=np.int64)
    b[order] = np.searchsorted(edges, cum - 0.5 * weight[order])
    return b


def fit_interval(risk: np.ndarray, member_sd: np.ndarray, count: np.ndarray,
                 weight: np.ndarray, nominal: float, bins: int = BINS,
                 weight_power: float = WEIGHT_POWER, scale: float = SCALE
                 ) -> IntervalCalibration:
    """Fit the residual spread from calibration-fold rows (see the module docstring).

    `risk` (n,) calibrated probabilities, `member_sd` (n,) standard deviation of the
    members' log-odds, `count` (n,) identified cases in each row's label window,
    `weight` (n,) sampling weights; rows count with weight x L_hat^`weight_power` and the
    spread is multiplied by `scale`. Bins with too little information get sigma 0.
    """
    if not (0.0 <= weight_power <= 2.0 and scale > 0):
        raise ValueError(f"weight_power {weight_power} must be in [0, 2] and scale "
                         f"{scale} positive")
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
        # Unbiased per row for (L_true / L_hat - 1)^2 when N ~ Poisson(L_true).
        rel_sq = ((count[m] - lam[m]) ** 2 - count[m]) / lam[m] ** 2
        v = w * lam[m] ** weight_power  # the weight each row carries in r^2
        r2 = max(np.sum(v * rel_sq), 0.0) / np.sum(v)
        members = np.sum(v * member_sd[m] ** 2) / np.sum(v)
        sigma[k] = scale * np.sqrt(max(np.log1p(r2) - members, 0.0))
    return IntervalCalibration(float(nominal), centres, sigma, float(weight_power),
                               float(scale))


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
