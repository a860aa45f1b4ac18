"""The backtest report: one HTML page with PNG figures (matplotlib, Agg) beside it.

Per target: pooled metrics of every method, model-minus-baseline differences with their
bootstrap intervals, metric per origin with the baselines, the reliability diagram,
precision-recall curves, maps of predicted and true risk at the last origin, and feature
importance by domain. Numbers come from the OUT.json document, curves and maps from the
run's pooled rows. Synthetic-world results carry a banner: they are evidence about the
method, never about a real place.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from riskmodel.backtest.runner import BacktestRun
from riskmodel.backtest.verdict import backtest_verdict
from riskmodel.io.atomic import write_text
from riskmodel.report.maps import save_figure, save_map
from riskmodel.report.run_report import CSS, TARGET_NAMES

COLORS = {"model": "#c0392b", "persistence": "#7f8c8d", "logistic": "#2980b9",
          "composite": "#8e44ad", "oracle": "#27ae60"}
PER_ORIGIN = ("pr_auc", "precision_at_budget", "auc", "brier_skill")
TABLE_METRICS = ("auc", "pr_auc", "brier", "brier_skill", "log_loss", "ece",
                 "precision_at_budget", "recall_at_budget", "hit_rate", "false_alarm_rate",
                 "lead_time_months")
HEADROOM_METRICS = ("pr_auc", "precision_at_budget", "auc")
CURVE_POINTS = 400
SYNTHETIC_NOTE = "SYNTHETIC WORLD - not evidence about any real place"


def plot_per_origin(doc_target: dict[str, Any], methods: list[str], dest: Path,
                    title: str, note: str | None) -> Path:
    """Four panels: `PER_ORIGIN` metrics at each origin, one line per method."""
    origins = [o["origin"] for o in doc_target["origins"]]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), dpi=100, sharex=True)
    for ax, metric in zip(axes.ravel(), PER_ORIGIN):
        for m in methods:
            vals = [np.nan if o[m][metric] is None else o[m][metric]
                    for o in doc_target["origins"]]
            ax.plot(range(len(origins)), vals, marker="o", ms=3, color=COLORS.get(m),
                    lw=2.2 if m == "model" else 1.2, label=m)
        ax.set_title(metric.replace("_", " "), fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xticks(range(len(origins)), origins, rotation=60, fontsize=7)
        ax.set_xlabel("origin")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    save_figure(fig, dest, note)
    return dest


def plot_reliability(doc_target: dict[str, Any], methods: list[str], dest: Path,
                     title: str, note: str | None) -> Path:
    """Reliability diagram: observed rate against mean predicted probability per bin."""
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=100)
    top = 0.0
    for m in methods:
        rows = doc_target["reliability"][m]
        x = [r["predicted"] for r in rows]
        y = [r["observed"] for r in rows]
        top = max(top, *x, *y)
        ax.plot(x, y, marker="o", ms=3, color=COLORS.get(m), label=m,
                lw=2.2 if m == "model" else 1.2)
    ax.plot([0, top], [0, top], ls="--", color="0.5", lw=0.8, label="perfect")
    ax.set_xlabel("mean predicted probability (equal-mass bins)")
    ax.set_ylabel("observed rate")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, dest, note)
    return dest


def pr_curve(y: np.ndarray, p: np.ndarray, points: int = CURVE_POINTS
             ) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) at up to `points` thresholds spread over the ranking (ties kept
    together), enough to draw the curve of a million rows."""
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    ends = np.r_[np.flatnonzero(np.diff(ps) != 0), len(ps) - 1]
    tp = np.cumsum(ys)[ends]
    seen = ends + 1.0
    pick = np.unique(np.linspace(0, len(ends) - 1, min(points, len(ends))).astype(int))
    return tp[pick] / max(tp[-1], 1.0), tp[pick] / seen[pick]


def plot_pr_curves(y: np.ndarray, preds: dict[str, np.ndarray], dest: Path, title: str,
                   note: str | None) -> Path:
    """Pooled precision-recall curve of every method, with the base rate."""
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=100)
    for m, p in preds.items():
        r, pr = pr_curve(y, p)
        ax.plot(r, pr, color=COLORS.get(m), label=m, lw=2.2 if m == "model" else 1.2)
    ax.axhline(float(y.mean()), ls="--", color="0.5", lw=0.8, label="base rate")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, dest, note)
    return dest


def plot_importance(importance: dict[str, Any], dest: Path, title: str,
                    note: str | None) -> Path:
    """Bar chart of mean |log-odds contribution| summed per feature domain."""
    domains = importance["domains"]
    names = sorted(domains, key=lambda d: domains[d])
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.barh(names, [domains[d] for d in names], color="#c0392b")
    ax.set_xlabel("mean |log-odds contribution| (pred_contrib), summed per domain")
    ax.set_title(title, fontsize=11)
    save_figure(fig, dest, note)
    return dest


def _field(run: BacktestRun, values: np.ndarray) -> xr.DataArray:
    grid = run.grid["country_id"]
    flat = np.full(grid.size, np.nan, dtype=np.float32)
    flat[run.cells] = values
    return xr.DataArray(flat.reshape(grid.shape), coords={"lat": grid["lat"],
                                                          "lon": grid["lon"]},
                        dims=("lat", "lon"))


def _excludes(d: dict[str, Any]) -> str:
    if d.get("degenerate"):
        return "degenerate"
    return "yes" if d["excludes_zero"] else "no"


def _fmt(v: Any) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def verdict_html(doc: dict[str, Any]) -> str:
    """The report's opening: the verdict sentences of OUT.json (`riskmodel.backtest.verdict`)
    and, when the run compared them, where the judged model settings differ from the
    deployed ones."""
    esc = html.escape
    verdict = doc.get("verdict") or backtest_verdict(doc)
    out = ["<section class='verdict'><h2>Verdict</h2><ul>"]
    out += [f"<li>{esc(line)}</li>" for line in verdict["lines"]]
    out.append(f"</ul><p class='small'>{esc(verdict['rule'])}.</p>")
    deployed = doc.get("deployed_model")
    if deployed is not None:
        if deployed["same"]:
            out.append(f"<p>The model judged here has the [model] settings the nightly run "
                       f"deploys ({esc(deployed['config'])}).</p>")
        else:
            out.append(
                f"<p><strong>The model judged here is not the deployed one.</strong> Its "
                f"[model] settings differ from {esc(deployed['config'])} in: " + "; ".join(
                    f"{esc(k)} {esc(str(v['backtest']))} here, {esc(str(v['deployed']))} "
                    f"deployed" for k, v in deployed["differences"].items()) + ".</p>")
    out.append("</section>")
    return "".join(out)


def write_backtest_report(dest: Path | str, doc: dict[str, Any], run: BacktestRun) -> Path:
    """Write the HTML report of backtest `doc` (OUT.json) and `run` to `dest`."""
    dest = Path(dest)
    figs = dest.with_name(dest.stem + "-figures")
    rel = figs.name
    note = SYNTHETIC_NOTE if doc["synthetic"] else None
    esc = html.escape
    methods = list(doc["methods"])
    parts = [(f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
              f"<title>riskmodel backtest</title><style>{CSS}</style></head><body>")]
    if doc["synthetic"]:
        parts.append("<div class='banner'><strong>Synthetic world.</strong> "
                     f"{esc(doc['note'])} The numbers below judge the method on a world "
                     "whose truth is known.</div>")
    parts.append("<h1>Rolling-origin backtest</h1>")
    parts.append(verdict_html(doc))
    s = doc["settings"]
    parts.append(f"<h2>Setup</h2><p>{len(doc['origins'])} origins from "
                 f"{esc(doc['origins'][0])} to {esc(doc['origins'][-1])}, every "
                 f"{s['step_months']} months; horizon H = {doc['horizon']} months; each origin "
                 f"retrains every method on labels known by then (expanding window) and scores "
                 f"the months up to the next origin. Areas: {doc['areas']} grid cells; budget "
                 f"{s['budget']} areas a month; alerts at probability &ge; "
                 f"{s['alert_threshold']}; bootstrap: {s['bootstrap']} replicates over admin-1 "
                 f"units. Config hash {esc(doc['config_hash'])}, code {esc(doc['code_version'])}."
                 f"</p>")
    parts.append("<h2>Methods</h2><table>" + "".join(
        f"<tr><th>{esc(m)}</th><td>{esc(v)}</td></tr>" for m, v in doc["methods"].items())
        + "</table>")
    for target, t in doc["targets"].items():
        name = TARGET_NAMES.get(target, target)
        res = run.targets[target]
        parts.append(f"<h2>{esc(name.capitalize())} ({esc(target)})</h2>"
                     f"<p>{t['rows']} area-months pooled, {t['positives']} with a case "
                     f"identified in (t, t+H].</p>")
        parts.append("<table><tr><th>method</th>" + "".join(
            f"<th>{esc(k.replace('_', ' '))}</th>" for k in TABLE_METRICS) + "</tr>")
        for m in methods:
            parts.append(f"<tr><th>{esc(m)}</th>" + "".join(
                f"<td class='num'>{_fmt(t['pooled'][m][k])}</td>" for k in TABLE_METRICS)
                + "</tr>")
        parts.append("</table>")
        parts.append("<h3>Model minus baseline (95% bootstrap interval)</h3><table><tr>"
                     "<th>baseline</th><th>metric</th><th>difference</th><th>interval</th>"
                     "<th>excludes 0</th></tr>")
        for base, ms in t["differences"].items():
            for k, d in ms.items():
                parts.append(f"<tr><td>{esc(base)}</td><td>{esc(k)}</td>"
                             f"<td class='num'>{_fmt(d['estimate'])}</td>"
                             f"<td class='num'>{_fmt(d['lo'])} to {_fmt(d['hi'])}</td>"
                             f"<td>{_excludes(d)}</td></tr>")
        parts.append("</table><p>Brier: negative differences favour the model; other "
                     "metrics: positive. <em>degenerate</em>: every bootstrap replicate gave "
                     "the same difference, so the interval says nothing.</p>")
        if "visited_units" in t:
            parts.append("<p>Admin-1 units holding the areas visited at budget (all rows; "
                         "smallest over the replicates): " + ", ".join(
                             f"{esc(m)} {v['estimate']:.0f} ({v['replicate_min']:.0f})"
                             for m, v in t["visited_units"].items()) + ".</p>")
        if "headroom" in t:
            parts.append(
                "<h3>Headroom: oracle minus each method (95% bootstrap interval)</h3><p>"
                "The room the world leaves: how much better the truth ranks than each "
                "method. No model can be expected to lead a baseline by more than the "
                "baseline's headroom.</p><table><tr><th>method</th>" + "".join(
                    f"<th>{esc(k.replace('_', ' '))}</th>" for k in HEADROOM_METRICS)
                + "</tr>")
            for m, ms in t["headroom"].items():
                parts.append(f"<tr><td>{esc(m)}</td>" + "".join(
                    f"<td class='num'>{_fmt(ms[k]['estimate'])} ({_fmt(ms[k]['lo'])} to "
                    f"{_fmt(ms[k]['hi'])})</td>" for k in HEADROOM_METRICS) + "</tr>")
            parts.append("</table>")
        title = f"{name.capitalize()}"
        pngs = [
            plot_per_origin(t, methods, figs / f"{target}_per_origin.png",
                            f"{title}: metrics per origin", note),
            plot_reliability(t, methods, figs / f"{target}_reliability.png",
                             f"{title}: reliability (pooled)", note),
            plot_pr_curves(res.pooled("y"), {m: res.pooled(m) for m in methods},
                           figs / f"{target}_pr_curves.png",
                           f"{title}: precision-recall (pooled)", note),
            plot_importance(t["importance"], figs / f"{target}_importance.png",
                            f"{title}: importance by domain", note),
        ]
        last = doc["origins"][-1]
        for m in ("model", "oracle"):
            if m in res.last_maps:
                what = "true" if m == "oracle" else "predicted"
                pngs.append(save_map(_field(run, res.last_maps[m]),
                                     figs / f"{target}_map_{m}.png", vmin=0.0,
                                     vmax=float(max(np.nanmax(v) for v in
                                                    res.last_maps.values())),
                                     title=f"{title}: {what} risk at origin {last}",
                                     label=f"P(case identified within {doc['horizon']} "
                                           f"months)", note=note,
                                     borders=run.grid["country_id"]))
        parts.append("".join(f"<img src='{esc(rel)}/{p.name}' alt='{esc(p.stem)}'>"
                             for p in pngs))
        parts.append("<details><summary>Per origin</summary><table><tr><th>origin</th>"
                     "<th>train months</th><th>test months</th><th>positives</th>" + "".join(
                         f"<th>{esc(m)} PR-AUC</th>" for m in methods) + "</tr>")
        for o in t["origins"]:
            parts.append(f"<tr><td>{esc(o['origin'])}</td><td>{esc(' to '.join(o['train_months']))}"
                         f"</td><td>{esc(' to '.join(o['test_months']))}</td>"
                         f"<td class='num'>{o['positives']}</td>" + "".join(
                             f"<td class='num'>{_fmt(o[m]['pr_auc'])}</td>" for m in methods)
                         + "</tr>")
        parts.append("</table></details>")
    parts.append("<h2>Metrics</h2><table>" + "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v['meaning'])}</td></tr>"
        for k, v in doc["metrics"].items()) + "</table>")
    parts.append("<h2>Run</h2><table>" + "".join(
        f"<tr><th>{esc(k)}</th><td class='num'>{v:.1f} s</td></tr>"
        for k, v in run.timings.items()) + "</table></body></html>")
    write_text(dest, "\n".join(parts))
    return dest
