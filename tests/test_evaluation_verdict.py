"""The evaluation's verdict and scenario table in docs/models.md are what the committed
results say, and the verdict follows the numbers."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

from riskmodel.models.interval import METHOD
from riskmodel.models.verdict import PREVIOUS, evaluation_verdict, judge, scenario_table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = json.loads((ROOT / "benchmarks" / "results-evaluate-scenarios.json").read_text())


def _docs_module():
    spec = importlib.util.spec_from_file_location("evaluate_docs",
                                                  ROOT / "benchmarks" / "evaluate_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_models_doc_holds_the_rendered_verdict_and_table() -> None:
    text = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    assert _docs_module().render(text, RESULTS, "docs/models.md") == text, (
        "docs/models.md is stale: run python benchmarks/evaluate_docs.py --write")
    # the verdict opens the page, before the detail
    assert text.index("<!-- verdict:begin -->") < text.index("## Target and horizon")


def _ws_line(doc: dict) -> str:
    return next(line for line in evaluation_verdict(doc) if "**well-specified**" in line)


def test_verdict_flips_when_the_numbers_do() -> None:
    doc = copy.deepcopy(RESULTS)
    ws = doc["scenarios"]["well-specified"]
    ws["summary"]["fl"]["auc_ratio_chance_corrected"]["median"] = 0.85
    for row in ws["per_seed"]:
        row["cl"]["interval_coverage"] = 0.95
    line = _ws_line(doc)
    missed = line.split("it misses", 1)[1]
    assert "chance-corrected AUC ratio >= 0.90: FL 0.850" in missed
    assert "CL 0%" in missed

    ws["summary"]["fl"]["auc_ratio_chance_corrected"]["median"] = 0.93
    for row in ws["per_seed"]:
        row["fl"]["interval_coverage"] = row["cl"]["interval_coverage"] = 0.8
    line = _ws_line(doc)
    met = line.split("it misses", 1)[0]
    assert "chance-corrected AUC ratio >= 0.90: FL 0.930" in met
    assert "80% interval coverage in [0.70, 0.90] in >= 90% of seeds: FL 100%, CL 100%" in met
    rows = [r for r in judge(doc) if r["scenario"] == "well-specified"
            and r["aim"].startswith("80% interval")]
    assert all(r["met"] for r in rows)


def test_unmeasured_interval_settings_are_marked() -> None:
    doc = copy.deepcopy(RESULTS)
    for block in doc["scenarios"].values():
        block.pop("interval_method", None)
    assert PREVIOUS in _ws_line(doc)
    assert PREVIOUS in scenario_table(doc)
    # measured with an earlier method: still marked
    doc["scenarios"]["well-specified"]["interval_method"] = {"weight_power": 1.0}
    assert PREVIOUS in _ws_line(doc)
    doc["scenarios"]["well-specified"]["interval_method"] = {"method": METHOD}
    assert PREVIOUS not in _ws_line(doc)
    # the current method with other refit settings than the deployed ones: still marked
    doc["scenarios"]["well-specified"]["interval_method"] = {"method": METHOD,
                                                             "refit_months": 1}
    assert PREVIOUS in _ws_line(doc)
