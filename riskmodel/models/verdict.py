"""What the multi-seed evaluation says, in words computed from its numbers.

`evaluation_verdict` reads the document of `riskmodel evaluate --seeds N` suites, one per
scenario (`{"scenarios": {name: {"per_seed", "summary", ...}}}`, as
benchmarks/results-evaluate-scenarios.json), and judges each aim in `AIMS` on its
scenarios: a median over seeds against a bound, or the share of seeds meeting a
condition against a required share. It returns one sentence per scenario ("the model
meets ... / misses ... on ...") with the figures beside each claim; `scenario_table`
renders the table of medians docs/models.md shows. Both are written into the document by
`benchmarks/evaluate_docs.py`, and a test checks the document holds what they render, so
the words cannot drift from the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskmodel.models import interval
from riskmodel.models.interval import METHOD as INTERVAL_METHOD

TARGETS = ("fl", "cl")
ALL = ("well-specified", "hidden-detection", "proxies", "drift", "nonlinear")
COVERAGE_RANGE = (0.70, 0.90)
# A scenario whose interval coverage was not re-measured with the interval's current
# method (its block's `interval_method` names another, or none) says so beside the figure.
PREVIOUS = "(interval settings before the current ones)"


def interval_current(block: dict[str, Any]) -> bool:
    """Whether a scenario's interval coverage was measured with the current method
    (`riskmodel.models.interval.METHOD`) and, where its block records them, the current
    refit settings."""
    method = block.get("interval_method", {})
    return method.get("method") == INTERVAL_METHOD and all(
        method.get(k, v) == v for k, v in interval.refit_settings().items())


@dataclass(frozen=True)
class Aim:
    """One aim: its words, the scenarios it applies to, and how a target's figure is read
    (`value`) and judged (`met`) from a scenario's block."""

    name: str
    scenarios: tuple[str, ...]
    value: Callable[[dict[str, Any], str], float]
    met: Callable[[float], bool]
    shown: Callable[[float], str]


def _median(key: str) -> Callable[[dict[str, Any], str], float]:
    return lambda block, target: float(block["summary"][target][key]["median"])


def _share_in_coverage_range(block: dict[str, Any], target: str) -> float:
    lo, hi = COVERAGE_RANGE
    vals = [row[target]["interval_coverage"] for row in block["per_seed"]]
    return sum(lo <= v <= hi for v in vals) / len(vals)


def _share(key: str) -> Callable[[dict[str, Any], str], float]:
    return lambda block, target: float(block["summary"][target][key])


AIMS = (
    Aim("chance-corrected AUC ratio >= 0.90", ("well-specified",),
        _median("auc_ratio_chance_corrected"), lambda v: v >= 0.90, lambda v: f"{v:.3f}"),
    Aim("precision at budget / oracle >= 0.85", ("well-specified",),
        _median("precision_ratio"), lambda v: v >= 0.85, lambda v: f"{v:.3f}"),
    Aim("ECE <= 0.02", ("well-specified",), _median("ece"), lambda v: v <= 0.02,
        lambda v: f"{v:.3f}"),
    Aim("standard detection beats naive on true incidence in >= 80% of seeds",
        ("well-specified",), _share("share_sd_beats_naive"), lambda v: v >= 0.8,
        lambda v: f"{v:.0%}"),
    Aim("80% interval coverage in [0.70, 0.90] in >= 90% of seeds", ALL,
        _share_in_coverage_range, lambda v: v >= 0.9, lambda v: f"{v:.0%}"),
    Aim("ECE <= 0.03", ALL[1:], _median("ece"), lambda v: v <= 0.03,
        lambda v: f"{v:.3f}"),
)


def judge(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (aim, scenario, target) of `AIMS` the document has: value and whether met."""
    rows = []
    for aim in AIMS:
        for scenario in aim.scenarios:
            block = doc["scenarios"].get(scenario)
            if block is None:
                continue
            for target in TARGETS:
                v = aim.value(block, target)
                shown = aim.shown(v)
                if aim.value is _share_in_coverage_range and not interval_current(block):
                    shown += " " + PREVIOUS
                rows.append({"aim": aim.name, "scenario": scenario, "target": target,
                             "value": v, "shown": shown, "met": aim.met(v)})
    return rows


def evaluation_verdict(doc: dict[str, Any]) -> list[str]:
    """One sentence per scenario: the aims met and missed, each with its figure."""
    lines = []
    rows = judge(doc)
    for scenario in ALL:
        mine = [r for r in rows if r["scenario"] == scenario]
        if not mine:
            continue
        parts = []
        for verb, met in (("meets", True), ("misses", False)):
            aims: dict[str, list[str]] = {}
            for r in mine:
                if r["met"] == met:
                    aims.setdefault(r["aim"], []).append(
                        f"{r['target'].upper()} {r['shown']}")
            if aims:
                parts.append(f"{verb} " + "; ".join(f"{a}: {', '.join(v)}"
                                                    for a, v in aims.items()))
        lines.append(f"- **{scenario}**: the model " + "; it ".join(parts) + ".")
    lines.append("")
    lines.append("Figures are medians over the report seeds, or shares of those seeds where "
                 "a share is named.")
    return lines


TABLE_COLUMNS = (
    ("chance-corrected AUC ratio", "auc_ratio_chance_corrected", ".3f"),
    ("precision at budget / oracle", "precision_ratio", ".3f"),
    ("ECE", "ece", ".3f"),
    ("80% interval coverage (of the oracle probability)", "interval_coverage", ".3f"),
    ("standard detection - naive (true-incidence AUC)", "sd_minus_naive", ".3f"),
    ("standard detection - coverage-blind model", "sd_minus_without_coverage", ".3f"),
)


def scenario_table(doc: dict[str, Any]) -> str:
    """Markdown table: per scenario and target the median [order-statistic interval] of
    `TABLE_COLUMNS`, seeds with coverage in range, and the share of seeds where standard
    detection beats naive."""
    head = (["scenario", "target"] + [c for c, _, _ in TABLE_COLUMNS]
            + ["seeds with coverage in [0.70, 0.90]", "seeds where standard detection "
               "beats naive"])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for scenario in ALL:
        block = doc["scenarios"].get(scenario)
        if block is None:
            continue
        for target in TARGETS:
            s = block["summary"][target]
            cells = [f"{s[k]['median']:{f}} [{s[k]['median_lo']:{f}}, "
                     f"{s[k]['median_hi']:{f}}]" for _, k, f in TABLE_COLUMNS]
            n = len(block["per_seed"])
            inside = f"{round(_share_in_coverage_range(block, target) * n)}/{n}"
            if not interval_current(block):
                inside += " " + PREVIOUS
            cells += [inside, f"{s['share_sd_beats_naive']:.0%}"]
            lines.append(f"| {scenario} | {target.upper()} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
