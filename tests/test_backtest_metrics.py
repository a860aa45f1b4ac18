"""Backtest metrics and bootstrap against scikit-learn twins and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.metrics import log_loss as sk_log_loss

from riskmodel.backtest.bootstrap import (
    bootstrap_replicates,
    differences,
    rank_rows,
    weighted_auc_ap,
)
from riskmodel.backtest.metrics import (
    Tally,
    alert_tally,
    brier,
    brier_skill,
    budget_tally,
    budget_visits,
    budget_weights,
    forecast_metrics,
    log_loss,
)


def _data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, n)
    y = (rng.uniform(size=n) < p).astype(float)
    return y, np.round(p, 2)  # rounding makes ties


def test_brier_and_log_loss_match_sklearn() -> None:
    y, p = _data()
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert log_loss(y, p) == pytest.approx(sk_log_loss(y, p), abs=1e-12)


def test_brier_skill_is_zero_for_the_reference_and_one_for_perfect() -> None:
    y, _ = _data()
    rate = y.mean()
    assert brier_skill(y, np.full(len(y), rate), rate) == pytest.approx(0.0, abs=1e-12)
    assert brier_skill(y, y, rate) == pytest.approx(1.0)
    # A per-row reference (pooled origins) equals the scalar one when constant.
    p = np.clip(y * 0.7 + 0.1, 0, 1)
    assert brier_skill(y, p, np.full(len(y), 0.3)) == pytest.approx(brier_skill(y, p, 0.3))


def test_budget_weights_share_ties_at_the_cut() -> None:
    w = budget_weights(np.array([0.9, 0.5, 0.5, 0.5, 0.1]), 2)
    assert w.tolist() == pytest.approx([1.0, 1 / 3, 1 / 3, 1 / 3, 0.0])
    assert budget_weights(np.array([0.3, 0.2]), 5).tolist() == [1.0, 1.0]


def test_budget_precision_equals_expected_precision_under_random_tie_breaking() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=(1, 30)).astype(float)
    s = rng.integers(0, 5, size=(1, 30)).astype(float)  # many ties
    k = 7
    t = budget_tally(y, budget_visits(s, k))
    draws = []
    for _ in range(4000):
        order = np.lexsort((rng.random(30), -s[0]))[:k]
        draws.append(y[0, order].mean())
    assert t.metrics()["precision_at_budget"] == pytest.approx(np.mean(draws), abs=0.01)
    assert t.metrics()["recall_at_budget"] == pytest.approx(
        t.budget_hits / y.sum())


def test_alert_tally_hand_worked() -> None:
    # 4 test months, H = 2, 4 areas; cases in months o+1 .. o+5 (5 rows).
    prob = np.array([[0.1, 0.6, 0.6, 0.1],
                     [0.7, 0.1, 0.6, 0.1],
                     [0.1, 0.1, 0.1, 0.1],
                     [0.1, 0.1, 0.1, 0.1]])
    cases = np.zeros((5, 4))
    cases[1, 0] = 1   # area 0: first case at o+2, alert at o+1 -> hit, lead 1
    cases[4, 1] = 1   # area 1: first case at o+5, alert only at o -> too early: miss
    # area 2: alerts, never a case -> false alarm; area 3: quiet, no alert
    t = alert_tally(prob, cases, threshold=0.5, horizon=2)
    assert (t.events, t.hits, t.quiet, t.false_alarms, t.alerted) == (2, 1, 2, 1, 3)
    m = t.metrics()
    assert m["hit_rate"] == 0.5 and m["false_alarm_rate"] == 0.5
    assert m["false_alarm_ratio"] == pytest.approx(1 / 3) and m["lead_time_months"] == 1.0
    with pytest.raises(ValueError, match="expected 5"):
        alert_tally(prob, cases[:4], threshold=0.5, horizon=2)


def test_tallies_pool_as_sums_not_means() -> None:
    a = Tally(budget_hits=1, budget_visits=10, positives=2)
    b = Tally(budget_hits=9, budget_visits=10, positives=18)
    assert (a + b).metrics()["precision_at_budget"] == 0.5
    assert np.isnan(Tally().metrics()["hit_rate"])


def test_forecast_metrics_has_every_contract_key() -> None:
    y, p = _data()
    out, rel = forecast_metrics(y, p, 0.5, Tally(), bins=5)
    for key in ("auc", "pr_auc", "brier", "brier_skill", "log_loss", "ece",
                "precision_at_budget", "recall_at_budget", "hit_rate", "false_alarm_rate",
                "lead_time_months"):
        assert key in out
    assert out["auc"] == pytest.approx(roc_auc_score(y, p))
    assert out["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert len(rel) == 5


def test_weighted_auc_ap_matches_sklearn_with_unit_weights() -> None:
    y, p = _data(600, seed=5)
    unit = np.arange(600) % 17
    weights = np.random.default_rng(1).integers(0, 3, 17).astype(float)
    auc, ap = weighted_auc_ap(rank_rows(y, p, unit), weights)
    w = weights[unit]
    assert auc == pytest.approx(roc_auc_score(y, p, sample_weight=w), abs=1e-12)
    assert ap == pytest.approx(average_precision_score(y, p, sample_weight=w), abs=1e-12)


def test_bootstrap_differences_paired_and_deterministic() -> None:
    y, p = _data(800, seed=2)
    noisy = np.clip(p + np.random.default_rng(4).normal(0, 0.3, len(p)), 0, 1)
    cluster = np.arange(800) // 20
    group = np.arange(800) // 100
    args = (y, {"model": p, "noisy": noisy, "same": p}, cluster, group)
    a = differences(bootstrap_replicates(*args, budget=10, n_boot=60, seed=9), "model")
    b = differences(bootstrap_replicates(*args, budget=10, n_boot=60, seed=9), "model")
    assert a == b
    # The same forecast differs from itself by exactly zero in every replicate: a
    # degenerate interval, never significant.
    for d in a["same"].values():
        assert d["estimate"] == 0 and d["lo"] == 0 and d["hi"] == 0
        assert not d["excludes_zero"] and d["degenerate"]
    assert not a["noisy"]["auc"]["degenerate"]
    d = a["noisy"]["auc"]
    assert d["estimate"] == pytest.approx(roc_auc_score(y, p) - roc_auc_score(y, noisy))
    assert d["lo"] > 0 and d["excludes_zero"]
    assert a["noisy"]["brier"]["hi"] < 0


def _budget_precision_by_hand(y, p, unit, group, budget, unit_weight):
    """Precision at budget of one replicate the slow way: every row repeated as often as
    its unit was drawn, the top `budget` copies of each group visited (ties share)."""
    hits = visits = 0.0
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        reps = np.repeat(rows, unit_weight[unit[rows]].astype(int))
        if len(reps) == 0:
            continue
        w = budget_weights(p[reps], budget)
        hits += float(np.sum(w * y[reps]))
        visits += float(np.sum(w))
    return hits / visits


def test_precision_at_budget_reselects_top_k_in_each_replicate() -> None:
    rng = np.random.default_rng(3)
    n = 600
    y = (rng.random(n) < 0.2).astype(float)
    p = np.round(rng.random(n), 2)          # ties at the cut on purpose
    unit = rng.integers(0, 15, n)
    group = np.arange(n) // 100
    r = bootstrap_replicates(y, {"m": p}, unit, group, budget=7, n_boot=25, seed=2)
    # Row 0 (the estimate) equals the full-sample budget precision of metrics.
    visits = budget_visits(p.reshape(6, 100), 7)
    assert r.estimate["m"]["precision_at_budget"] == pytest.approx(
        float(np.sum(visits.ravel() * y) / np.sum(visits)), abs=1e-12)
    counts = np.random.default_rng(2).multinomial(15, np.full(15, 1 / 15), size=25)
    for b in range(25):
        assert r.replicates["m"]["precision_at_budget"][b] == pytest.approx(
            _budget_precision_by_hand(y, p, unit, group, 7, counts[b].astype(float)),
            abs=1e-12)


def test_budget_interval_does_not_collapse_when_visits_sit_in_one_unit() -> None:
    """Both methods visit only cells of unit 0 on the full sample. Keeping those visits in
    every replicate gives the same ratio in each (zero width, reported as significant);
    re-selecting the top-k lets replicates without unit 0 visit elsewhere."""
    rng = np.random.default_rng(0)
    n_units, cells, months = 30, 20, 4
    unit = np.tile(np.repeat(np.arange(n_units), cells), months)
    group = np.repeat(np.arange(months), n_units * cells)
    y = (rng.random(unit.size) < 0.3).astype(float)
    base = rng.random(unit.size) * 0.5
    model = np.where(unit == 0, 0.9 + 0.01 * y, base)
    other = np.where(unit == 0, 0.9 - 0.01 * y, base + 0.1 * y)
    r = bootstrap_replicates(y, {"model": model, "other": other}, unit, group, budget=5,
                             n_boot=200, seed=1)
    d = differences(r, "model")["other"]["precision_at_budget"]
    # The old way: visits fixed at the full sample's, ratios per replicate.
    fixed = {m: budget_visits(q.reshape(months, -1), 5).ravel()
             for m, q in (("model", model), ("other", other))}
    counts = np.random.default_rng(1).multinomial(n_units, np.full(n_units, 1 / n_units),
                                                  size=200)
    w = counts[:, unit]
    with np.errstate(invalid="ignore"):   # replicates without unit 0 visit nothing
        old = ((w @ (fixed["model"] * y)) / (w @ fixed["model"])
               - (w @ (fixed["other"] * y)) / (w @ fixed["other"]))
    old = old[np.isfinite(old)]
    assert np.ptp(old) == pytest.approx(0.0, abs=1e-12)     # the collapse, reproduced
    assert d["hi"] - d["lo"] > 0.05
    assert not d["degenerate"]
    assert r.estimate["model"]["visited_units"] == 1
    assert np.min(r.replicates["model"]["visited_units"]) >= 1
    assert np.max(r.replicates["model"]["visited_units"]) > 1
