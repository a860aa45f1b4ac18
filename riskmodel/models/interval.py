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

Refit at scoring (`refit_interval`). The calibration fold ends H months and more before
the months a deployed model scores, and a spread fitted there misses on later months (the
model's error grows and changes as its training rows age). Every scoring therefore
re-estimates sigma_res with the same estimator on the newest `REFIT_MONTHS` months that
are labelled by the scored month m, i.e. whose label windows (t, t+H] are complete
(t + H <= m): every land cell of those months (on grids of more than
`riskmodel.scoring.REFIT_CELLS` land cells, that many chosen by a fixed hash of the cell
index), scored by the same model at its actual inspection coverage, with the cases
identified in its window. Nothing after m is read.
The estimator stays the fold's: it needs no truth, and the window's rows are as many as
the fold's or more (every land cell of `REFIT_MONTHS` months), so only the months it
reads change. Its settings (`REFIT_ESTIMATOR`, `REFIT_MONTHS`, `REFIT_WEIGHT_POWER`,
`REFIT_SCALE`) were chosen on the selection worlds only
(benchmarks/selection/select_interval_refit.py), among them the Poisson-log-normal
maximum likelihood (`estimator="likelihood"`, `count_likelihood`), which the moment
estimator beat there. When those months hold fewer than `MIN_REFIT_WINDOWS` windows with
two or more cases (the rows that carry the estimate), the fold's calibration is kept;
`IntervalCalibration.refit` records which spread was used, from which months and rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any

import numpy as np

from riskmodel.models.count_likelihood import fit_sigma

BINS = 1
# How sigma_res is estimated from the rows' counts: "moment" (squared count residuals,
# rows weighted by L_hat^weight_power) or "likelihood" (maximum likelihood of the
# Poisson-log-normal model, `count_likelihood`; weight_power unused).
ESTIMATORS = ("moment", "likelihood")
ESTIMATOR = "moment"
# The method's name in the results files (benchmarks/interval_coverage.py): a figure
# measured with another is marked as such in docs/models.md.
METHOD = "spread refitted at each scored month on the newest labelled months"
# Chosen on the selection worlds (benchmarks/selection/interval-method.json); see above.
WEIGHT_POWER = 1.0
SCALE = 1.3
_P_MIN, _P_MAX = 1e-6, 1 - 1e-6
# The refit at scoring; chosen on the selection worlds
# (benchmarks/selection/interval-refit.json); see above.
REFIT_MONTHS = 36
REFIT_ESTIMATOR = "moment"
REFIT_WEIGHT_POWER = 1.0
REFIT_SCALE = 1.2
# Fewer windows with >= 2 identified cases than this in the newest labelled months: the
# estimate rests on too few rows, and the fold's calibration is kept. A guard, not a
# tuned setting: no month of any selection world fell back with it.
MIN_REFIT_WINDOWS = 30


def refit_settings() -> dict[str, Any]:
    """The deployed refit's settings, as the interval's results record them."""
    return {"refit_estimator": REFIT_ESTIMATOR, "refit_months": REFIT_MONTHS,
            "refit_weight_power": REFIT_WEIGHT_POWER, "refit_scale": REFIT_SCALE}


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
    at; `estimator`, `weight_power` and `scale` the estimator's settings (module
    docstring).
    """

    nominal: float
    centres: np.ndarray
    sigma: np.ndarray
    weight_power: float = WEIGHT_POWER
    scale: float = SCALE
    # Set by `refit_interval` only: which spread a scoring used (`RefitRecord`).
    refit: RefitRecord | None = None
    estimator: str = "moment"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the model metadata (and, with `refit`, the run's record)."""
        d = {"method": "log-normal band on log expected cases; residual spread from "
                       "the identified counts on the calibration fold (estimator: moment "
                       "= Poisson overdispersion, rows weighted by L_hat^weight_power; "
                       "likelihood = Poisson-log-normal maximum likelihood), widened by "
                       "scale, plus member spread",
             "estimator": self.estimator,
             "nominal": self.nominal, "centres": self.centres.tolist(),
             "sigma": self.sigma.tolist(), "weight_power": self.weight_power,
             "scale": self.scale}
        if self.refit is not None:
            d["refit"] = self.refit.as_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IntervalCalibration:
        """Inverse of `as_dict`."""
        refit = RefitRecord(**d["refit"]) if "refit" in d else None
        return cls(float(d["nominal"]), np.asarray(d["centres"], dtype=np.float64),
                   np.asarray(d["sigma"], dtype=np.float64),
                   float(d.get("weight_power", 2.0)), float(d.get("scale", 1.0)), refit,
                   str(d.get("estimator", "moment")))


@dataclass(frozen=True)
class RefitRecord:
    """Which spread one scoring used: `source` "newest labelled months" (refitted) or
    "calibration fold" (kept, `reason` says why); `scored_month` the time index scored,
    `months` [first, last] time index of the labelled months read (empty when none),
    `rows` and `multi_case_windows` (rows with >= 2 identified cases) among them, and
    `sigma` the spread the band used (scale applied)."""

    source: str
    scored_month: int
    months: list[int]
    rows: int
    multi_case_windows: int
    sigma: float
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "scored_month": self.scored_month,
                "months": list(self.months), "rows": self.rows,
                "multi_case_windows": self.multi_case_windows, "sigma": self.sigma,
                "reason": self.reason}


@dataclass(frozen=True)
class LabelledRows:
    """Rows a refit may read, each (n,): the model's calibrated `risk` at actual
    inspection coverage, the members' log-odds spread `member_sd`, the cases identified in
    the row's label window (t, t+H] `count`, and the row's month `month` (time index t);
    `months` (set here) its distinct months. Rows whose window is not complete by a scored month are never read for it."""

    risk: np.ndarray
    member_sd: np.ndarray
    count: np.ndarray
    month: np.ndarray
    months: np.ndarray = field(init=False, repr=False, compare=False)  # distinct, ascending

    def __post_init__(self) -> None:
        n = {len(self.risk), len(self.member_sd), len(self.count), len(self.month)}
        if len(n) != 1:
            raise ValueError("LabelledRows: risk, member_sd, count and month differ in "
                             "length")
        # distinct months, once (a refit per scored month reads them every time)
        object.__setattr__(self, "months", np.unique(np.asarray(self.month, np.int64)))


def labelled_months(month: np.ndarray, scored_month: int, horizon: int,
                    months: int = REFIT_MONTHS) -> np.ndarray:
    """The newest `months` distinct values of `month` whose label window (t, t+H] is
    complete by `scored_month` (t + `horizon` <= `scored_month`), ascending."""
    ready = np.unique(np.asarray(month, dtype=np.int64))
    ready = ready[ready + horizon <= scored_month]
    return ready[-months:] if months > 0 else ready[:0]


def refit_interval(rows: LabelledRows, scored_month: int, horizon: int,
                   fallback: IntervalCalibration, months: int = REFIT_MONTHS,
                   weight_power: float = REFIT_WEIGHT_POWER, scale: float = REFIT_SCALE,
                   min_windows: int = MIN_REFIT_WINDOWS,
                   estimator: str = REFIT_ESTIMATOR) -> IntervalCalibration:
    """The calibration to score month `scored_month` with: sigma_res re-estimated by
    `fit_interval` (equal row weights, `estimator`, `weight_power`, `scale`) on the `rows` of the newest
    `months` months labelled by then (`labelled_months`), or `fallback` (the model's
    calibration-fold fit) when they hold fewer than `min_windows` windows with >= 2
    identified cases. Either way `.refit` records the source, months, rows and sigma."""
    use = labelled_months(rows.months, scored_month, horizon, months)
    # `use` holds every distinct month of the rows between its ends
    m = (rows.month >= use[0]) & (rows.month <= use[-1]) if len(use) else \
        np.zeros(len(rows.month), bool)
    m &= np.isfinite(rows.count) & np.isfinite(rows.risk) & np.isfinite(rows.member_sd)
    span = [int(use[0]), int(use[-1])] if len(use) else []
    multi = int(np.sum(rows.count[m] >= 2))
    if multi < min_windows:
        record = RefitRecord("calibration fold", int(scored_month), span, int(m.sum()), multi,
                             float(np.max(fallback.sigma)),
                             f"{multi} windows with >= 2 identified cases in the labelled "
                             f"months, fewer than {min_windows}")
        return replace(fallback, refit=record)
    cal = fit_interval(rows.risk[m], rows.member_sd[m], rows.count[m], np.ones(int(m.sum())),
                       fallback.nominal, bins=1, weight_power=weight_power, scale=scale,
                       estimator=estimator)
    record = RefitRecord("newest labelled months", int(scored_month), span, int(m.sum()),
                         multi, float(cal.sigma[0]))
    return replace(cal, refit=record)


def monthly_refits(month: np.ndarray, labelled: LabelledRows, horizon: int,
                   fallback: IntervalCalibration, **refit: Any
                   ) -> dict[int, IntervalCalibration]:
    """{scored month: its `refit_interval` on `labelled`} for every distinct value of
    `month` (ascending; `refit`: the refit's settings)."""
    return {int(t): refit_interval(labelled, int(t), horizon, fallback, **refit)
            for t in np.unique(month)}


def monthly_bands(risk: np.ndarray, member_sd: np.ndarray, month: np.ndarray,
                  refits: dict[int, IntervalCalibration]) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi): the band of every scored row (`risk`, `member_sd`, `month`, each (n,)),
    each with its month's calibration in `refits` (`monthly_refits`)."""
    lo, hi = np.empty(len(risk)), np.empty(len(risk))
    for t in np.unique(month):
        m = month == t
        lo[m], hi[m] = predict_band(risk[m], member_sd[m], refits[int(t)])
    return lo, hi


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
                 weight_power: float = WEIGHT_POWER, scale: float = SCALE,
                 estimator: str = ESTIMATOR) -> IntervalCalibration:
    """Fit the residual spread from calibration-fold rows (see the module docstring).

    `risk` (n,) calibrated probabilities, `member_sd` (n,) standard deviation of the
    members' log-odds, `count` (n,) identified cases in each row's label window,
    `weight` (n,) sampling weights. `estimator` "moment": rows count with weight x
    L_hat^`weight_power` in the mean squared count residual (bins with too little
    information get sigma 0); "likelihood": the Poisson-log-normal maximum-likelihood
    sigma with the rows' weights (`count_likelihood.fit_sigma`). Either spread is
    multiplied by `scale`.
    """
    if not (0.0 <= weight_power <= 2.0 and scale > 0):
        raise ValueError(f"weight_power {weight_power} must be in [0, 2] and scale "
                         f"{scale} positive")
    if estimator not in ESTIMATORS:
        raise ValueError(f"interval estimator {estimator!r}: expected one of "
                         f"{', '.join(ESTIMATORS)}")
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
        if estimator == "likelihood":
            sigma[k] = scale * fit_sigma(count[m], lam[m], member_sd[m], w)
            continue
        # Unbiased per row for (L_true / L_hat - 1)^2 when N ~ Poisson(L_true).
        rel_sq = ((count[m] - lam[m]) ** 2 - count[m]) / lam[m] ** 2
        v = w * lam[m] ** weight_power  # the weight each row carries in r^2
        r2 = max(np.sum(v * rel_sq), 0.0) / np.sum(v)
        members = np.sum(v * member_sd[m] ** 2) / np.sum(v)
        sigma[k] = scale * np.sqrt(max(np.log1p(r2) - members, 0.0))
    return IntervalCalibration(float(nominal), centres, sigma, float(weight_power),
                               float(scale), estimator=estimator)


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
