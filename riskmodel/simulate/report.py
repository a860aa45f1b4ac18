"""The simulation report: one HTML page with PNG figures (matplotlib, Agg) beside it.

Per target: the figures table (median over seeds with the interval of the median, share of
seeds where a difference is positive), the curves of cumulative cases per visit, confirmed
share and C-index against the true prevalence over the simulated months (median over seeds
with its interval as a band), one line per arm, and the paired loop gain (loop on minus
off per seed, then the median and its interval) month by month. Numbers come from the
simulation document (`riskmodel.simulate.runner.simulate_seeds`). Synthetic worlds only:
the banner says so.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from riskmodel.io.atomic import write_text
from riskmodel.models.seeds import median_interval
from riskmodel.report.maps import save_figure
from riskmodel.report.run_report import CSS, TARGET_NAMES

SYNTHETIC_NOTE = "SYNTHETIC WORLD - not evidence about any real place"
COLORS = {"random": "#7f8c8d", "oracle": "#27ae60", "top_off": "#e59866", "top_on": "#c0392b",
          "explore_off": "#85c1e9", "explore_on": "#1f618d"}
CURVES = (("cases_per_visit", "cumulative cases found per visit"),
          ("confirmed_share", "cumulative share of visits confirmed"),
          ("concordance", "C-index of the area ranking vs true prevalence"))


def paired_gain(per_seed: list[dict[str, Any]], target: str, policy: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per month: median over seeds of cumulative cases per visit, loop on minus off, for
    `policy`, and the interval of that median."""
    d = np.array([np.subtract(r[target]["curves"][f"{policy}_on"]["cases_per_visit"],
                              r[target]["curves"][f"{policy}_off"]["cases_per_visit"])
                  for r in per_seed])
    bounds = np.array([median_interval(col)[:2] for col in d.T])
    return np.median(d, 0), bounds[:, 0], bounds[:, 1]


def plot_curves(summary_curves: dict[str, Any], dest: Path, title: str,
                gains: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Path:
    """Three panels (`CURVES`), per arm the median over seeds and its interval band, and
    a fourth with the paired loop gain per policy (`paired_gain`)."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 4), dpi=100)
    ax = axes[3]
    for policy, (med, lo, hi) in gains.items():
        x = np.arange(1, len(med) + 1)
        color = COLORS[f"{policy}_on"]
        ax.plot(x, med, color=color, lw=2, label=policy)
        ax.fill_between(x, lo, hi, color=color, alpha=0.15, lw=0)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_title("loop on minus off: cumulative cases per visit", fontsize=10)
    ax.set_xlabel("simulated month")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    for ax, (key, label) in zip(axes[:3], CURVES, strict=True):
        for arm, c in summary_curves.items():
            med = np.asarray(c[key]["median"], np.float64)
            if not np.isfinite(med).any():
                continue   # random visits rank nothing
            x = np.arange(1, len(med) + 1)
            color = COLORS.get(arm)
            ax.plot(x, med, color=color, lw=2 if arm.endswith("_on") else 1.2,
                    ls="--" if arm.endswith("_off") else "-", label=arm)
            ax.fill_between(x, c[key]["median_lo"], c[key]["median_hi"], color=color,
                            alpha=0.12, lw=0)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("simulated month")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    save_figure(fig, dest, SYNTHETIC_NOTE)
    return dest


def _row(name: str, f: dict[str, Any]) -> str:
    return (f"<tr><td>{html.escape(name)}</td><td>{f['median']:.3f}</td>"
            f"<td>[{f['median_lo']:.3f}, {f['median_hi']:.3f}]</td>"
            f"<td>{f['share_positive']:.0%}</td><td>{f['n']}</td></tr>")


def write_simulation_report(dest: Path | str, doc: dict[str, Any]) -> Path:
    """Write the HTML report of simulation `doc` to `dest` (figures in DEST-figures/)."""
    dest = Path(dest)
    figs = dest.with_name(dest.stem + "-figures")
    figs.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    s = doc["settings"]
    level = next(iter(doc["summary"].values()))["figures"]
    level = next(iter(level.values()))["median_level"]
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>riskmodel simulation</title><style>{CSS}</style></head><body>",
             "<div class='banner'><strong>Synthetic world.</strong> Every world here is "
             "generated; the figures judge the feedback loop on worlds whose truth is known, "
             "never any real place.</div>",
             f"<h1>Closed-loop simulation: {esc(str(doc['scenario']))}</h1>",
             f"<p>{len(doc['seeds'])} seeds ({esc(', '.join(map(str, doc['seeds'])))}); "
             f"{s['months']} months; budget {s['budget']} admin-1 areas a month per target "
             f"(of {doc['per_seed'][0][doc['targets'][0]]['areas']}); a visit checks "
             f"{s['sites_per_visit']} workplaces; explore share {s['explore_share']}; "
             f"retraining every {s['retrain_every']} months; outcome rows "
             f"{'on' if s['outcome_rows'] else 'off'} (weight {s['outcome_weight']}), area "
             f"offsets {'on' if s['outcome_offsets'] else 'off'} (prior sd "
             f"{s['prior_sd']}). Intervals: {esc(doc['interval_meaning'])}; with these "
             f"seeds the coverage is {level:.1%}.</p>",
             "<p>Arms: <code>random</code> visits uniform areas; <code>oracle</code> the "
             "areas of highest true prevalence; <code>POLICY_off</code> the model trained "
             "on identified cases only; <code>POLICY_on</code> the model fed back with its "
             "own visits' outcomes. <code>top</code> visits the highest-scored areas; "
             "<code>explore</code> spends a share of the budget on the areas the model is "
             "least sure of.</p>"]
    for target in doc["targets"]:
        summ = doc["summary"][target]
        name = TARGET_NAMES.get(target, target)
        parts.append(f"<h2>{esc(name)}</h2><table><tr><th>figure</th><th>median</th>"
                     f"<th>interval of the median</th><th>seeds &gt; 0</th><th>n</th></tr>")
        parts += [_row(k, f) for k, f in summ["figures"].items()]
        parts.append("</table>")
        gains = {p: paired_gain(doc["per_seed"], target, p) for p in doc["policies"]}
        png = plot_curves(summ["curves"], figs / f"curves-{target}.png",
                          f"{name}: {doc['scenario']}, median over {len(doc['seeds'])} seeds",
                          gains)
        parts.append(f"<img src='{esc(figs.name)}/{esc(png.name)}' alt='curves of "
                     f"{esc(name)}'>")
    parts.append("</body></html>")
    write_text(dest, "\n".join(parts))
    return dest
