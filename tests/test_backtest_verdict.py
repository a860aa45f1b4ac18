"""The backtest verdict is computed from the differences: it says beats / loses to / no
clear difference as the intervals do, flips when they flip, and names the logistic
non-inferiority and the oracle's headroom."""

from __future__ import annotations

import copy

from riskmodel.backtest.verdict import NON_INFERIORITY_MARGIN, backtest_verdict, outcome
from riskmodel.report.backtest_report import verdict_html


def _d(estimate: float, lo: float, hi: float, degenerate: bool = False) -> dict:
    return {"estimate": estimate, "lo": lo, "hi": hi, "degenerate": degenerate,
            "excludes_zero": (lo > 0 or hi < 0) and not degenerate}


def _doc() -> dict:
    fl = {"differences": {
        "persistence": {"pr_auc": _d(0.08, 0.04, 0.13), "precision_at_budget": _d(0.14, 0.05, 0.3)},
        "logistic": {"pr_auc": _d(-0.032, -0.054, -0.022),
                     "precision_at_budget": _d(0.01, -0.02, 0.04)},
        "composite": {"pr_auc": _d(0.11, 0.07, 0.14), "precision_at_budget": _d(0.2, 0.1, 0.3)},
        "oracle": {"pr_auc": _d(-0.06, -0.08, -0.04),
                   "precision_at_budget": _d(-0.05, -0.1, 0.01)}},
        "headroom": {"persistence": {"pr_auc": _d(0.14, 0.1, 0.18),
                                     "precision_at_budget": _d(0.19, 0.1, 0.3)},
                     "logistic": {"pr_auc": _d(0.03, 0.02, 0.04),
                                  "precision_at_budget": _d(0.06, 0.0, 0.1)},
                     "composite": {"pr_auc": _d(0.17, 0.1, 0.2),
                                   "precision_at_budget": _d(0.25, 0.2, 0.3)},
                     "model": {"pr_auc": _d(0.06, 0.04, 0.08),
                               "precision_at_budget": _d(0.05, -0.01, 0.1)}}}
    return {"targets": {"fl": fl}}


def test_outcome_follows_the_interval() -> None:
    assert outcome(_d(0.02, 0.01, 0.03), "pr_auc") == "beats"
    assert outcome(_d(-0.02, -0.03, -0.01), "pr_auc") == "loses to"
    assert outcome(_d(0.01, -0.01, 0.03), "pr_auc") == "no clear difference"
    assert outcome(_d(0.01, 0.01, 0.01, degenerate=True), "pr_auc") == "no clear difference"
    # Brier: lower is better, so a negative difference is the model's win
    assert outcome(_d(-0.002, -0.003, -0.001), "brier") == "beats"


def test_verdict_flips_when_the_numbers_do() -> None:
    doc = _doc()
    v = backtest_verdict(doc)["targets"]["fl"]
    assert v["metrics"]["pr_auc"]["persistence"]["outcome"] == "beats"
    assert v["metrics"]["pr_auc"]["logistic"]["outcome"] == "loses to"
    assert v["metrics"]["precision_at_budget"]["logistic"]["outcome"] == "no clear difference"
    assert v["non_inferior_to_logistic"] is False
    line = v["sentences"][0]
    assert line.startswith("FL, PR-AUC: the model beats persistence +0.080")
    assert "loses to logistic -0.032 [-0.054, -0.022], oracle headroom +0.030" in line
    assert "oracle" not in [b for b in v["metrics"]["pr_auc"]]   # the ceiling, not a rival

    flipped = copy.deepcopy(doc)
    flipped["targets"]["fl"]["differences"]["logistic"]["pr_auc"] = _d(0.004, -0.004, 0.01)
    flipped["targets"]["fl"]["differences"]["persistence"]["pr_auc"] = _d(-0.05, -0.08, -0.02)
    w = backtest_verdict(flipped)["targets"]["fl"]
    assert w["metrics"]["pr_auc"]["logistic"]["outcome"] == "no clear difference"
    assert w["metrics"]["pr_auc"]["persistence"]["outcome"] == "loses to"
    assert w["non_inferior_to_logistic"] is True
    assert "non-inferior to the logistic" in " ".join(w["sentences"])
    assert "not shown non-inferior" not in " ".join(w["sentences"])
    # just outside the margin
    edge = copy.deepcopy(doc)
    edge["targets"]["fl"]["differences"]["logistic"]["pr_auc"] = _d(
        0.0, -NON_INFERIORITY_MARGIN - 1e-4, 0.01)
    assert backtest_verdict(edge)["targets"]["fl"]["non_inferior_to_logistic"] is False


def test_report_opens_with_the_verdict_and_says_where_settings_differ() -> None:
    doc = _doc()
    doc["verdict"] = backtest_verdict(doc)
    doc["deployed_model"] = {"config": "configs/demo.toml", "same": False, "differences": {
        "linear_base": {"backtest": True, "deployed": False}}}
    text = verdict_html(doc)
    assert "loses to logistic" in text
    assert "not the deployed one" in text and "linear_base True here, False deployed" in text
    doc["deployed_model"] = {"config": "configs/demo.toml", "same": True, "differences": {}}
    assert "settings the nightly run deploys" in verdict_html(doc)
