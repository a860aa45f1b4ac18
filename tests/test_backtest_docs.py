"""The many-worlds backtest's aims are judged from the pooled differences (met flips to
missed when an interval does), how much of each lead survives is computed against the
well-specified worlds, and docs/backtest.md holds what the committed results say, which
judge the variant chosen on the selection seeds on report seeds only."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

from riskmodel.backtest.verdict import (NON_INFERIORITY_MARGIN, SUITE_SCENARIOS,
                                        scenario_aims, suite_markdown, survival)
from riskmodel.config import load_config

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results-backtest-scenarios.json"


def _d(estimate: float, lo: float, hi: float, degenerate: bool = False) -> dict:
    return {"estimate": estimate, "lo": lo, "hi": hi, "degenerate": degenerate,
            "excludes_zero": (lo > 0 or hi < 0) and not degenerate}


def _target(logistic_pr: dict) -> dict:
    both = {"pr_auc": _d(0.05, 0.02, 0.08), "precision_at_budget": _d(0.1, 0.04, 0.2)}
    return {"rows": 1000, "positives": 50,
            "differences": {"persistence": copy.deepcopy(both),
                            "composite": copy.deepcopy(both),
                            "logistic": {"pr_auc": logistic_pr,
                                         "precision_at_budget": _d(0.01, -0.02, 0.04)}},
            "headroom": {"persistence": {"pr_auc": _d(0.09, 0.05, 0.12),
                                         "precision_at_budget": _d(0.2, 0.1, 0.3)},
                         "logistic": {"pr_auc": _d(0.03, 0.02, 0.04),
                                      "precision_at_budget": _d(0.05, -0.01, 0.1)},
                         "composite": {"pr_auc": _d(0.1, 0.06, 0.14),
                                       "precision_at_budget": _d(0.2, 0.1, 0.3)},
                         "model": {"pr_auc": _d(0.03, 0.02, 0.04),
                                   "precision_at_budget": _d(0.04, -0.01, 0.09)}}}


def _doc(logistic_pr: dict) -> dict:
    return {"targets": {"fl": _target(logistic_pr), "cl": _target(logistic_pr)},
            "seeds": [1, 2, 3, 4, 5], "origins": ["2019-01", "2020-01"],
            "settings": {"step_months": 12},
            "deployed_model": {"config": "configs/demo.toml", "same": True,
                               "differences": {}}}


def _met(aims: list[dict], aim: str, target: str) -> bool:
    return next(a["met"] for a in aims if a["aim"] == aim and a["target"] == target)


def test_aims_follow_the_intervals() -> None:
    doc = _doc(_d(0.002, -0.004, 0.008))
    aims = scenario_aims("well-specified", doc)
    assert _met(aims, "beats persistence and composite", "fl")
    assert _met(aims, "non-inferior to the logistic", "cl")
    # one metric of one baseline inside the noise: the aim is missed for that target only
    doc["targets"]["fl"]["differences"]["composite"]["precision_at_budget"] = _d(
        0.02, -0.01, 0.05)
    aims = scenario_aims("well-specified", doc)
    assert not _met(aims, "beats persistence and composite", "fl")
    assert _met(aims, "beats persistence and composite", "cl")
    # non-inferiority at the margin's edge
    doc["targets"]["cl"]["differences"]["logistic"]["pr_auc"] = _d(
        0.0, -NON_INFERIORITY_MARGIN - 1e-4, 0.01)
    assert not _met(scenario_aims("well-specified", doc), "non-inferior to the logistic", "cl")
    doc["targets"]["cl"]["differences"]["logistic"]["pr_auc"] = _d(
        0.0, -NON_INFERIORITY_MARGIN, 0.01)
    assert _met(scenario_aims("well-specified", doc), "non-inferior to the logistic", "cl")
    # a degenerate interval never counts
    doc["targets"]["cl"]["differences"]["logistic"]["pr_auc"] = _d(0.01, 0.01, 0.01, True)
    assert not _met(scenario_aims("well-specified", doc), "non-inferior to the logistic", "cl")


def test_nonlinear_needs_an_interval_excluding_zero_against_the_logistic() -> None:
    aims = scenario_aims("nonlinear", _doc(_d(0.002, -0.004, 0.008)))
    assert not _met(aims, "beats the logistic", "fl")     # non-inferior is not enough
    aims = scenario_aims("nonlinear", _doc(_d(0.012, 0.004, 0.02)))
    assert _met(aims, "beats the logistic", "fl") and _met(aims, "beats the logistic", "cl")
    assert scenario_aims("proxies", _doc(_d(0.012, 0.004, 0.02))) == []   # no aims there


def test_survival_is_the_share_of_the_well_specified_lead() -> None:
    ws = _doc(_d(0.01, 0.004, 0.02))
    hidden = _doc(_d(0.004, -0.002, 0.01))
    hidden["targets"]["fl"]["differences"]["persistence"]["pr_auc"] = _d(0.02, 0.01, 0.03)
    rows = survival(hidden, ws)
    row = next(r for r in rows if r["target"] == "fl" and r["baseline"] == "persistence"
               and r["metric"] == "pr_auc")
    assert abs(row["share_kept"] - 0.4) < 1e-12 and row["outcome"] == "beats"
    row = next(r for r in rows if r["target"] == "fl" and r["baseline"] == "logistic"
               and r["metric"] == "pr_auc")
    assert abs(row["share_kept"] - 0.4) < 1e-12 and row["outcome"] == "no clear difference"
    # no lead to keep on the reference: no share
    ws["targets"]["cl"]["differences"]["logistic"]["pr_auc"] = _d(-0.01, -0.02, 0.0)
    row = next(r for r in survival(hidden, ws) if r["target"] == "cl"
               and r["baseline"] == "logistic" and r["metric"] == "pr_auc")
    assert row["share_kept"] is None


def test_markdown_says_met_missed_headroom_and_what_was_not_run() -> None:
    ws = _doc(_d(0.002, -0.008, 0.008))
    results = {"config": "configs/backtest-scenarios.toml",
               "scenarios": {"well-specified": {"backtest": ws},
                             "proxies": {"backtest": _doc(_d(0.001, -0.01, 0.01))}}}
    text = suite_markdown(results, SUITE_SCENARIOS)
    assert ("- FL, non-inferior to the logistic: **missed** (logistic PR-AUC +0.002 "
            "[-0.008, +0.008] (headroom +0.030): lower bound below -0.005).") in text
    assert "- CL, beats persistence and composite: **met**" in text
    assert "Not run: nonlinear, hidden-detection, drift." in text
    assert "| FL | logistic | PR-AUC | +0.002 | +0.001 [-0.010, +0.010] | 0.50 |" in text
    assert "settings are the ones `configs/demo.toml` deploys" in text
    # a miss says why: no clear difference, and whether even the oracle's lead is detectable
    ws["targets"]["cl"]["differences"]["persistence"]["precision_at_budget"] = _d(
        0.03, -0.01, 0.07)
    text = suite_markdown(results, SUITE_SCENARIOS)
    assert ("persistence precision at budget +0.030 [-0.010, +0.070] (headroom +0.200): "
            "no clear difference;") in text
    assert "even the oracle" not in text
    ws["targets"]["cl"]["headroom"]["persistence"]["precision_at_budget"] = _d(
        0.2, -0.05, 0.3)
    assert ("no clear difference; even the oracle's lead over it, +0.200 [-0.050, +0.300], "
            "has an interval including zero") in suite_markdown(results, SUITE_SCENARIOS)
    ws["deployed_model"] = {"config": "configs/demo.toml", "same": False, "differences": {
        "linear_base": {"backtest": True, "deployed": False}}}
    assert "`linear_base` True here, False deployed" in suite_markdown(results, SUITE_SCENARIOS)


def _docs_module():
    spec = importlib.util.spec_from_file_location("backtest_docs",
                                                  ROOT / "benchmarks" / "backtest_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_backtest_doc_holds_the_rendered_results() -> None:
    text = (ROOT / "docs" / "backtest.md").read_text(encoding="utf-8")
    results = json.loads(RESULTS.read_text())
    assert _docs_module().render(text, results, "docs/backtest.md") == text, (
        "docs/backtest.md is stale: run python benchmarks/backtest_docs.py --write")


def test_results_judge_the_variant_chosen_on_selection_seeds_only() -> None:
    variant = json.loads((ROOT / "benchmarks" / "selection" / "backtest-variant.json")
                         .read_text())
    results = json.loads(RESULTS.read_text())
    assert results["variant"]["chosen"] == variant["chosen"]
    suite = _suite_module()
    cfg = suite.judged_config(suite.CONFIG, variant)
    deployed = load_config(ROOT / suite.DEPLOYED).model
    for key, value in variant["chosen_settings"].items():
        assert getattr(cfg.model, key) == value
    for name, run in results["scenarios"].items():
        doc = run["backtest"]
        assert doc["scenario"] == name and len(doc["seeds"]) >= 5
        assert not set(doc["seeds"]) & set(variant["seeds"]), "a report seed chose settings"
        # the judged [model] differs from the deployed one exactly where the choice does
        judged = {k: v["backtest"] for k, v in doc["deployed_model"]["differences"].items()}
        assert judged == {k: v for k, v in variant["chosen_settings"].items()
                          if getattr(deployed, k) != v}


def _suite_module():
    spec = importlib.util.spec_from_file_location("backtest_scenarios",
                                                  ROOT / "benchmarks" / "backtest_scenarios.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
