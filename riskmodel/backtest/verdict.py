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


# The many-worlds backtest (pooled over report seeds, one document per scenario preset):
# the aims each preset is held to; the other presets report how much of each advantage
# survives against the well-specified world instead.
BEAT_BASELINES = ("persistence", "composite")
SCENARIO_AIMS: dict[str, tuple[str, ...]] = {
    "well-specified": ("beats persistence and composite", "non-inferior to the logistic"),
    "nonlinear": ("beats persistence and composite", "beats the logistic"),
}
REFERENCE_SCENARIO = "well-specified"
# The order the suite runs and the docs list the presets in: the ones with aims first.
SUITE_SCENARIOS = ("well-specified", "nonlinear", "hidden-detection", "proxies", "drift")


def _figure(d: dict[str, Any] | None, room: dict[str, Any] | None) -> str:
    """'+0.012 [+0.004, +0.020] (headroom +0.050)' for a difference and the oracle's
    headroom over the same baseline."""
    if d is None:
        return "not measured"
    text = _difference(d)
    if room is not None:
        text += f" (headroom {_signed(room['estimate'])})"
    return text


def scenario_aims(scenario: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The aims of `SCENARIO_AIMS[scenario]` judged on one pooled backtest document, one
    entry per aim and target: {"aim", "target", "met", "checks": [{"baseline", "metric",
    "outcome", "difference", "oracle_headroom"}]}. Beating a baseline needs the interval
    to exclude zero on the model's side on both PR-AUC and precision at budget;
    non-inferiority is the lower bound of model minus logistic PR-AUC at least
    -`NON_INFERIORITY_MARGIN` (a degenerate interval never counts)."""
    out = []
    for aim in SCENARIO_AIMS.get(scenario, ()):
        for target in _ordered(doc["targets"], tuple(TARGET_NAMES)):
            t = doc["targets"][target]
            headroom = t.get("headroom", {})
            if aim == "beats persistence and composite":
                pairs = [(b, m) for b in BEAT_BASELINES for m in VERDICT_METRICS]
            else:
                pairs = [("logistic", "pr_auc")]
            checks, met = [], True
            for base, metric in pairs:
                d = t["differences"].get(base, {}).get(metric)
                verdict = "not measured" if d is None else outcome(d, metric)
                if aim == "non-inferior to the logistic":
                    ok = (d is not None and d.get("lo") is not None and not d.get("degenerate")
                          and d["lo"] >= -NON_INFERIORITY_MARGIN)
                else:
                    ok = verdict == "beats"
                met = met and ok
                checks.append({"baseline": base, "metric": metric, "outcome": verdict,
                               "ok": ok, "difference": d,
                               "oracle_headroom": headroom.get(base, {}).get(metric)})
            out.append({"aim": aim, "target": target, "met": met, "checks": checks})
    return out


def survival(doc: dict[str, Any], reference: dict[str, Any]) -> list[dict[str, Any]]:
    """How much of each of the model's leads on the `reference` (well-specified) document
    is left in `doc`: per target, baseline and verdict metric the two estimates, the share
    kept (`doc` / `reference`, only where the reference lead is positive; for the Brier
    score none), the outcome in `doc` and the oracle's headroom there."""
    rows = []
    for target in _ordered(doc["targets"], tuple(TARGET_NAMES)):
        t, r = doc["targets"][target], reference["targets"].get(target)
        if r is None:
            continue
        for base in _ordered(t["differences"], BASELINE_ORDER):
            if base == "oracle":
                continue
            for metric in VERDICT_METRICS:
                d = t["differences"][base].get(metric)
                ref = r["differences"].get(base, {}).get(metric)
                if d is None or ref is None:
                    continue
                share = (d["estimate"] / ref["estimate"]
                         if ref["estimate"] is not None and d["estimate"] is not None
                         and ref["estimate"] > 0 else None)
                rows.append({"target": target, "baseline": base, "metric": metric,
                             "reference": ref, "difference": d, "share_kept": share,
                             "outcome": outcome(d, metric),
                             "oracle_headroom": t.get("headroom", {}).get(base, {}).get(metric)})
    return rows


def _seeds(seeds: list[int]) -> str:
    """'1-5' for consecutive seeds, else '1, 3, 4'."""
    s = sorted(seeds)
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}-{s[-1]}"
    return ", ".join(str(x) for x in s)


def _cell(d: dict[str, Any] | None) -> str:
    return "-" if d is None else _difference(d)


def _differences_table(doc: dict[str, Any]) -> list[str]:
    """Model minus each baseline and oracle minus it, per target: the pooled table."""
    rows = ["| target | model minus | PR-AUC [95% interval] | oracle headroom | precision at "
            "budget [95% interval] | oracle headroom |", "| --- | --- | --- | --- | --- | --- |"]
    for target in _ordered(doc["targets"], tuple(TARGET_NAMES)):
        t = doc["targets"][target]
        room = t.get("headroom", {})
        for base in _ordered(t["differences"], BASELINE_ORDER):
            if base == "oracle":
                continue
            ms = t["differences"][base]
            rows.append(f"| {TARGET_NAMES.get(target, target)} | {base} | "
                        f"{_cell(ms.get('pr_auc'))} | "
                        f"{_cell(room.get(base, {}).get('pr_auc'))} | "
                        f"{_cell(ms.get('precision_at_budget'))} | "
                        f"{_cell(room.get(base, {}).get('precision_at_budget'))} |")
        model_room = room.get("model", {})
        if model_room:
            rows.append(f"| {TARGET_NAMES.get(target, target)} | (oracle minus model) | "
                        f"{_cell(model_room.get('pr_auc'))} | | "
                        f"{_cell(model_room.get('precision_at_budget'))} | |")
    return rows


def _aim_line(a: dict[str, Any]) -> str:
    """One aim and target as a markdown item: met or missed, every figure with the oracle's
    headroom, and beside each figure that misses, why in the numbers' own terms: no clear
    difference or a loss, and whether even the oracle's lead over that baseline is
    detectable (its interval excluding zero) on these rows."""
    name = TARGET_NAMES.get(a["target"], a["target"].upper())
    parts = []
    for c in a["checks"]:
        text = (f"{c['baseline']} {METRIC_NAMES[c['metric']]} "
                f"{_figure(c['difference'], c['oracle_headroom'])}")
        if not c["ok"]:
            if a["aim"] == "non-inferior to the logistic":
                text += f": lower bound below -{NON_INFERIORITY_MARGIN}"
            else:
                text += f": {c['outcome']}"
            room = c["oracle_headroom"]
            if room is not None and not room.get("excludes_zero"):
                text += (f"; even the oracle's lead over it, {_difference(room)}, has an "
                         f"interval including zero")
        parts.append(text)
    return (f"- {name}, {a['aim']}: **{'met' if a['met'] else 'missed'}** ("
            + "; ".join(parts) + ").")


def _survival_table(rows: list[dict[str, Any]], scenario: str) -> list[str]:
    out = [f"| target | model minus | metric | {REFERENCE_SCENARIO} | {scenario} | share "
           f"kept | outcome | oracle headroom |", "| --- | --- | --- | --- | --- | --- | --- "
           "| --- |"]
    for r in rows:
        share = "-" if r["share_kept"] is None else f"{r['share_kept']:.2f}"
        room = r["oracle_headroom"]
        out.append(f"| {TARGET_NAMES.get(r['target'], r['target'])} | {r['baseline']} | "
                   f"{METRIC_NAMES[r['metric']]} | {_signed(r['reference']['estimate'])} | "
                   f"{_difference(r['difference'])} | {share} | {r['outcome']} | "
                   f"{'-' if room is None else _signed(room['estimate'])} |")
    return out


def suite_markdown(results: dict[str, Any], scenarios: tuple[str, ...]) -> str:
    """The many-worlds backtest's results as markdown (docs/backtest.md's generated
    block), from the suite document `benchmarks/backtest_scenarios.py` writes: per
    scenario preset in `scenarios` order, the aims met or missed with every figure and
    the oracle's headroom beside it, the table of differences, and (presets without
    aims) how much of each well-specified lead survives; presets not in the document are
    listed as not run."""
    runs = results["scenarios"]
    lines = []
    variant = results.get("variant", {})
    first = next(iter(runs.values()))["backtest"] if runs else {}
    deployed = first.get("deployed_model")
    judged = f"`{results['config']}`"
    if variant:
        judged += (f" with the `{variant['chosen']}` variant of "
                   f"`{variant['file']}`, chosen on the selection seeds")
    if deployed is None:
        lines.append(f"Judged model: {judged}.")
    elif deployed["same"]:
        lines.append(f"Judged model: {judged}; its `[model]` settings are the ones "
                     f"`{deployed['config']}` deploys.")
    else:
        keys = ", ".join(f"`{k}` {v['backtest']} here, {v['deployed']} deployed"
                         for k, v in sorted(deployed["differences"].items()))
        lines.append(f"Judged model: {judged}; it differs from what `{deployed['config']}` "
                     f"deploys in {keys}.")
    reference = runs.get(REFERENCE_SCENARIO, {}).get("backtest")
    for name in scenarios:
        if name not in runs:
            continue
        doc = runs[name]["backtest"]
        t0 = next(iter(doc["targets"].values()))
        lines += ["", f"#### {name}", "",
                  f"Report seeds {_seeds(doc['seeds'])}, origins {', '.join(doc['origins'])} "
                  f"({doc['settings']['step_months']} months each), pooled: "
                  f"{t0['rows']:,} area-months per target, "
                  + ", ".join(f"{TARGET_NAMES.get(k, k)} {doc['targets'][k]['positives']:,}"
                              for k in _ordered(doc["targets"], tuple(TARGET_NAMES)))
                  + " positive.", ""]
        aims = scenario_aims(name, doc)
        lines += [_aim_line(a) for a in aims]
        if aims:
            lines.append("")
        lines += _differences_table(doc)
        if not aims and reference is not None and name != REFERENCE_SCENARIO:
            lines += ["", f"What is left of each lead the model has on the "
                          f"{REFERENCE_SCENARIO} worlds (share kept: {name} estimate / "
                          f"{REFERENCE_SCENARIO} estimate, where that is positive):", ""]
            lines += _survival_table(survival(doc, reference), name)
    missing = [s for s in scenarios if s not in runs]
    if missing:
        lines += ["", "Not run: " + ", ".join(missing) + "."]
    return "\n".join(lines)
