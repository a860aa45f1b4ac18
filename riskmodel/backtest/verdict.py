"""The backtest's verdict: one short paragraph per target, computed from the differences.

For every target and each of `VERDICT_METRICS`, the model *beats* a baseline when the
bootstrap interval of model minus baseline excludes zero on the model's side, *loses to*
it when it excludes zero on the baseline's side, and shows *no clear difference*
otherwise (a degenerate, zero-width interval counts as no clear difference: the
resampling could not vary it). Against the logistic regression on PR-AUC it also says
whether the model is non-inferior: the lower bound of model minus logistic at least
-`NON_INFERIORITY_MARGIN`. Beside every difference stands the oracle's headroom over the
baseline (synthetic worlds): the most any forecast could lead that baseline by.

The same function writes the `verdict` of OUT.json, the top of the HTML report and the
verdict docs/backtest.md opens with, so the words cannot disagree with the numbers.
"""

from __future__ import annotations

from typing import Any

VERDICT_METRICS = ("pr_auc", "precision_at_budget")
METRIC_NAMES = {"pr_auc": "PR-AUC", "precision_at_budget": "precision at budget",
                "auc": "ROC-AUC", "brier": "Brier score"}
NON_INFERIORITY_MARGIN = 0.005
TARGET_NAMES = {"fl": "FL", "cl": "CL"}
BASELINE_ORDER = ("persistence", "logistic", "composite")


def _ordered(keys: Any, first: tuple[str, ...]) -> list[str]:
    """`keys` with `first` leading in that order, the rest sorted: the verdict reads the
    same whether the document came from memory or from key-sorted JSON."""
    keys = list(keys)
    return [k for k in first if k in keys] + sorted(k for k in keys if k not in first)


def outcome(d: dict[str, Any], metric: str) -> str:
    """"beats", "loses to" or "no clear difference" for one model-minus-baseline entry
    (`estimate`, `lo`, `hi`, `excludes_zero`, `degenerate`); for the Brier score a
    negative difference favours the model."""
    if not d.get("excludes_zero") or d.get("degenerate") or d.get("lo") is None:
        return "no clear difference"
    favours_model = d["hi"] < 0 if metric == "brier" else d["lo"] > 0
    return "beats" if favours_model else "loses to"


def _signed(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.3f}"


def _difference(d: dict[str, Any]) -> str:
    return f"{_signed(d['estimate'])} [{_signed(d['lo'])}, {_signed(d['hi'])}]"


def target_verdict(target: str, t: dict[str, Any]) -> dict[str, Any]:
    """The verdict of one target of OUT.json: per metric and baseline the outcome, the
    difference and the oracle's headroom over that baseline; the logistic non-inferiority
    on PR-AUC; and the sentences that say it."""
    name = TARGET_NAMES.get(target, target.upper())
    headroom = t.get("headroom", {})
    table: dict[str, dict[str, Any]] = {}
    sentences = []
    for metric in VERDICT_METRICS:
        table[metric] = {}
        groups: dict[str, list[str]] = {"beats": [], "loses to": [],
                                        "no clear difference": []}
        for base in _ordered(t["differences"], BASELINE_ORDER):
            ms = t["differences"][base]
            if base == "oracle" or metric not in ms:
                continue
            d = ms[metric]
            room = headroom.get(base, {}).get(metric)
            verdict = outcome(d, metric)
            table[metric][base] = {"outcome": verdict, "difference": d,
                                   "oracle_headroom": room}
            text = f"{base} {_difference(d)}"
            if room is not None:
                text += f", oracle headroom {_signed(room['estimate'])}"
            groups[verdict].append(text)
        parts = []
        if groups["beats"]:
            parts.append("beats " + "; ".join(groups["beats"]))
        if groups["loses to"]:
            parts.append("loses to " + "; ".join(groups["loses to"]))
        if groups["no clear difference"]:
            parts.append("shows no clear difference from "
                         + "; ".join(groups["no clear difference"]))
        sentences.append(f"{name}, {METRIC_NAMES[metric]}: the model " + ", ".join(parts)
                         + ".")
    logistic = t["differences"].get("logistic", {}).get("pr_auc")
    non_inferior = None
    if logistic is not None and logistic.get("lo") is not None:
        non_inferior = bool(logistic["lo"] >= -NON_INFERIORITY_MARGIN
                            and not logistic.get("degenerate"))
        sentences.append(
            f"{name}: the model is {'' if non_inferior else 'not shown '}non-inferior to "
            f"the logistic on PR-AUC (lower bound {_signed(logistic['lo'])}, margin "
            f"-{NON_INFERIORITY_MARGIN}).")
    model_room = headroom.get("model", {}).get("pr_auc")
    if model_room is not None:
        sentences.append(f"{name}: the oracle leads the model by {_difference(model_room)} "
                         f"PR-AUC.")
    return {"metrics": table, "non_inferior_to_logistic": non_inferior,
            "sentences": sentences}


def backtest_verdict(doc: dict[str, Any]) -> dict[str, Any]:
    """{"targets": {target: target_verdict}, "lines": [sentence, ...]} of an OUT.json
    document (its `targets` with `differences` and, on synthetic worlds, `headroom`)."""
    targets = {t: target_verdict(t, doc["targets"][t])
               for t in _ordered(doc["targets"], tuple(TARGET_NAMES))}
    return {"targets": targets,
            "lines": [s for v in targets.values() for s in v["sentences"]],
            "rule": (f"beats / loses to: the 95% bootstrap interval of model minus baseline "
                     f"excludes zero on that side; non-inferior: lower bound of model minus "
                     f"logistic PR-AUC >= -{NON_INFERIORITY_MARGIN}; oracle headroom: "
                     f"oracle minus the baseline")}
