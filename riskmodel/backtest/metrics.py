"""Backtest metrics beyond ranking and calibration: probability scores, the budget of top-k
areas, and alert episodes.

ROC-AUC, PR-AUC and the reliability table / ECE come from `riskmodel.models.metrics` (one
implementation for `riskmodel evaluate` and the backtest). This module adds what only the
backtest needs. Budget and alert metrics are computed as integer tallies per origin, so
pooled values are ratios of summed tallies, not means of per-origin ratios.

- Budget: each month a partner can visit the top `k` areas (cells) by score; precision is
  the share of visited areas with a case identified in (t, t+H], recall the share of such
  areas that were visited. Tied scores at the cut share the remaining places in proportion,
  so no method gains from an arbitrary tie order.
- Alerts: an area alerts at month t when its probability is at least the threshold. Per
  origin and area: an *event* is a first identified case in the origin's evaluation window;
  a *hit* is an event with an alert in the H months before its first case; `hit_rate` =
  hits / events; `false_alarm_rate` = alerted areas without any case / areas without any
  case (probability of false detection); `false_alarm_ratio` = alerted areas without any
  case / alerted areas; `lead_time_months` = mean months from the area's first alert to its
  first case, over hits.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from riskmodel.models.metrics import average_precision, reliability, roc_auc

LOG_EPS = 1e-15  # probabilities are clipped to [eps, 1-eps] in the log loss, as scikit-learn did


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared difference between probability `p` and outcome `y` (both (n,))."""
    y, p = np.asarray(y, np.float64), np.asarray(p, np.float64)
    return float(np.mean((p - y) ** 2))


def brier_skill(y: np.ndarray, p: np.ndarray, reference: float | np.ndarray) -> float:
    """1 - Brier(p) / Brier(reference): the share of the reference forecast's error that `p`
    removes (1 perfect, 0 no better than the reference, < 0 worse). `reference` is the
    historical rate, a number or one per row (pooled origins each have their own)."""
    ref = brier(y, np.broadcast_to(np.asarray(reference, np.float64), np.shape(y)))
    return float("nan") if ref == 0 else 1.0 - brier(y, p) / ref


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood of outcomes `y` under probabilities `p` (natural log)."""
    y = np.asarray(y, np.float64)
    p = np.clip(np.asarray(p, np.float64), LOG_EPS, 1 - LOG_EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


@dataclass
class Tally:
    """Integer-like counts whose ratios give the budget and alert metrics; add to pool."""

    budget_hits: float = 0.0      # expected positives among the visited areas
    budget_visits: float = 0.0    # areas visited (k per month)
    positives: float = 0.0        # area-months with a case in (t, t+H]
    events: int = 0               # area-episodes with a first case in the window
    hits: int = 0                 # events with an alert in the H months before the case
    quiet: int = 0                # area-episodes without any case
    false_alarms: int = 0         # quiet episodes that alerted
    alerted: int = 0              # episodes that alerted at least once
    lead_sum: int = 0             # sum over hits of months from first alert to first case

    def __add__(self, other: Tally) -> Tally:
        return Tally(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                        for f in fields(self)})

    def metrics(self) -> dict[str, float]:
        """Precision/recall at budget, hit rate, false-alarm rate/ratio and mean lead time."""
        def ratio(a: float, b: float) -> float:
            return float(a) / float(b) if b else float("nan")
        return {"precision_at_budget": ratio(self.budget_hits, self.budget_visits),
                "recall_at_budget": ratio(self.budget_hits, self.positives),
                "hit_rate": ratio(self.hits, self.events),
                "false_alarm_rate": ratio(self.false_alarms, self.quiet),
                "false_alarm_ratio": ratio(self.false_alarms, self.alerted),
                "lead_time_months": ratio(self.lead_sum, self.hits)}


def budget_weights(score: np.ndarray, k: int) -> np.ndarray:
    """Visit weight (0..1) of each area of one month when the top `k` scores are visited.

    Areas scoring above the cut get 1; the areas tied at the cut share the places left,
    each getting (places left) / (areas tied); the weights sum to min(k, n).
    """
    s = np.asarray(score, np.float64)
    n = len(s)
    if k >= n:
        return np.ones(n)
    cut = np.partition(-s, k - 1)[k - 1] * -1.0  # the k-th highest score
    above = s > cut
    tied = s == cut
    out = above.astype(np.float64)
    out[tied] = (k - above.sum()) / tied.sum()
    return out


def budget_visits(score: np.ndarray, k: int) -> np.ndarray:
    """(months, areas) visit weights of `budget_weights` applied month by month."""
    return np.stack([budget_weights(row, k) for row in np.asarray(score)])


def budget_tally(y: np.ndarray, visits: np.ndarray) -> Tally:
    """Budget counts for (months, areas) outcomes `y` and visit weights `visits`."""
    y = np.asarray(y, np.float64)
    return Tally(budget_hits=float(np.sum(visits * y)), budget_visits=float(np.sum(visits)),
                 positives=float(np.sum(y)))


def alert_tally(prob: np.ndarray, identified: np.ndarray, threshold: float,
                horizon: int) -> Tally:
    """Alert-episode counts of one origin.

    `prob` (T, n): probabilities at the test months o..o+T-1; `identified` (T-1+H, n):
    cases identified in months o+1..o+T-1+H (every month a test label looks at). An area
    alerts at test month i when prob[i] >= threshold; see the module docstring.
    """
    prob = np.asarray(prob)
    cases = np.asarray(identified) > 0
    n_test = prob.shape[0]
    if cases.shape[0] != n_test - 1 + horizon:
        raise ValueError(f"identified has {cases.shape[0]} months, expected "
                         f"{n_test - 1 + horizon} (test months - 1 + horizon)")
    alert = prob >= threshold
    has_case = cases.any(0)
    # First case month, as an offset from the origin (case row j is month o+1+j).
    first_case = np.where(has_case, cases.argmax(0) + 1, np.iinfo(np.int64).max)
    months = np.arange(n_test)[:, None]
    before = alert & (months < first_case[None])
    window = before & (months >= first_case[None] - horizon)
    hit = has_case & window.any(0)
    first_alert = np.where(before.any(0), before.argmax(0), 0)
    alerted_any = alert.any(0)
    t = Tally()
    t.events = int(has_case.sum())
    t.hits = int(hit.sum())
    t.quiet = int((~has_case).sum())
    t.false_alarms = int((alerted_any & ~has_case).sum())
    t.alerted = int(alerted_any.sum())
    t.lead_sum = int((first_case - first_alert)[hit].sum())
    return t


METRIC_KEYS = ("auc", "pr_auc", "brier", "brier_skill", "log_loss", "ece",
               "precision_at_budget", "recall_at_budget", "hit_rate", "false_alarm_rate",
               "false_alarm_ratio", "lead_time_months")
# Direction of "better" for each metric (report arrows, docs): +1 higher, -1 lower, 0 neither.
BETTER = {"auc": 1, "pr_auc": 1, "brier": -1, "brier_skill": 1, "log_loss": -1, "ece": -1,
          "precision_at_budget": 1, "recall_at_budget": 1, "hit_rate": 1,
          "false_alarm_rate": -1, "false_alarm_ratio": -1, "lead_time_months": 0}


def forecast_metrics(y: np.ndarray, p: np.ndarray, reference: float | np.ndarray,
                     tally: Tally, bins: int) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Every metric of `METRIC_KEYS` for outcomes `y` and probabilities `p` (rows), with the
    budget and alert tallies already counted; also the reliability table's rows."""
    rel = reliability(y, p, bins=bins)
    out = {"auc": roc_auc(y, p), "pr_auc": average_precision(y, p), "brier": brier(y, p),
           "brier_skill": brier_skill(y, p, reference), "log_loss": log_loss(y, p),
           "ece": rel.ece, **tally.metrics()}
    return {k: out[k] for k in METRIC_KEYS}, rel.as_rows()
