"""Choose the settings of the interval's refit at scoring on the selection seeds only.

At each scored month m the interval re-estimates its residual spread on the newest K
months labelled by m (label window (t, t+H] complete: t + H <= m) with an estimator (the
moment estimator, rows weighted by L_hat^weight_power, or the Poisson-log-normal maximum
likelihood), widens it by `scale`, and keeps the fold's calibration when those months
hold fewer than `MIN_REFIT_WINDOWS` windows with >= 2 cases
(`riskmodel.models.interval.refit_interval`). For every selection world given, the
product model of each target is fitted once, exactly as `riskmodel evaluate` fits it
(`interval_worlds.collect`, cached), and every candidate (estimator, K, weight_power,
scale) below scores each held-out month with its own refit, judged by the 80% coverage
of the world's probability of the label over the held-out months (never the 0/1 label).
Both estimators' spreads are proportional to `scale`, so each (estimator, K) is refitted
once per month at scale 1 and the scales multiply its spread (as `fit_interval` does).
Rule (as for the fold's settings, `select_interval.py`): the candidate with the largest
share of (world, target) coverages in [0.70, 0.90]; ties by the median
closest to the nominal 0.80, then by the smaller scale, then the larger K (the steadier
estimate). (An earlier round on 8 of these worlds, the moment estimator only, K 3-24,
chose K 24, power 1, scale 1.3; this round widens the worlds, adds the likelihood and
longer windows.) The fold's own method (`interval.WEIGHT_POWER`, `interval.SCALE` on the
calibration fold) is judged beside them on the same worlds, as the baseline. The report
seeds are never touched here.

The output (`interval-refit.json` beside this script) records every candidate's coverage
per world and target, the rule and the choice; `tests/test_selection.py` checks that
`riskmodel.models.interval` uses the chosen settings.

Usage: python benchmarks/selection/select_interval_refit.py [--world PRESET:SEED ...]
       [--cache DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from interval_worlds import collect  # noqa: E402
from record import write_record  # noqa: E402
from riskmodel.config import load_config  # noqa: E402
from riskmodel.models import interval  # noqa: E402
from riskmodel.models.metrics import interval_coverage  # noqa: E402
from riskmodel.models.seeds import SELECTION_SEEDS  # noqa: E402

PRESETS = ("well-specified", "hidden-detection", "proxies", "drift", "nonlinear")
# Every preset on four selection seeds: 40 (world, target) coverages per candidate.
WORLDS = tuple(f"{p}:{s}" for s in (9001, 9002, 9003, 9004) for p in PRESETS)
# (estimator, weight power, window lengths K in months): the power weights the moment
# estimator's rows only. Windows beyond 24 months only for the moment estimator with L_hat
# weights: a round with every estimator at 12 and 24 months chose it at 24, the edge of
# that grid, and the others lost at both lengths (and the likelihood is the slowest to
# refit).
ESTIMATORS = (("moment", 2.0, (12, 24)), ("moment", 1.0, (12, 24, 36, 48)),
              ("likelihood", 1.0, (12, 24)))
SCALES = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)
NOMINAL = 0.8
LOW, HIGH = 0.70, 0.90


def stem(estimator: str, months: int, power: float) -> str:
    """The name of a refit variant in the record (before its "-scale-S")."""
    return (f"{estimator}-months-{months}" if estimator == "likelihood" else
            f"{estimator}-months-{months}-power-{power:g}")


def fold_calibration(a: dict[str, np.ndarray]) -> interval.IntervalCalibration:
    """The calibration fold's fit with the current settings (the refit's fallback)."""
    return interval.fit_interval(a["cal_risk"], a["cal_sd"], a["cal_count"], a["cal_weight"],
                                 NOMINAL)


def labelled(a: dict[str, np.ndarray]) -> interval.LabelledRows:
    """The world's labelled rows (before and in the held-out period)."""
    return interval.LabelledRows(a["seq_risk"], a["seq_sd"], a["seq_count"], a["seq_month"])


Refits = dict[int, interval.IntervalCalibration]


def monthly_refits(a: dict[str, np.ndarray], horizon: int, months: int, estimator: str,
                   weight_power: float) -> Refits:
    """Each held-out month's refitted calibration at scale 1."""
    return interval.monthly_refits(a["test_month"], labelled(a), horizon,
                                   fold_calibration(a), months=months,
                                   weight_power=weight_power, scale=1.0,
                                   estimator=estimator)


def refit_coverage(a: dict[str, np.ndarray], refits: Refits,
                   scale: float) -> tuple[float, int]:
    """Held-out coverage of the oracle probability with each month's refit (`refits`, at
    scale 1) widened by `scale` (a month that fell back keeps the fold's calibration, as
    `refit_interval` does), and how many months fell back."""
    fell_back = 0
    scaled = {}
    for t, cal in refits.items():
        if cal.refit.source == "newest labelled months":
            cal = replace(cal, sigma=cal.sigma * scale)
        else:
            fell_back += 1
        scaled[t] = cal
    lo, hi = interval.monthly_bands(a["test_risk"], a["test_sd"], a["test_month"], scaled)
    return interval_coverage(a["test_oracle"], lo, hi), fell_back


def fold_coverage(a: dict[str, np.ndarray]) -> float:
    """Held-out coverage of the fold's calibration alone (the method without refit)."""
    lo, hi = interval.predict_band(a["test_risk"], a["test_sd"], fold_calibration(a))
    return interval_coverage(a["test_oracle"], lo, hi)


def judge(per_world: dict[str, float]) -> dict[str, float]:
    """Share of coverages in [LOW, HIGH], median, min and max of one candidate."""
    v = np.array(list(per_world.values()))
    return {"share_in_range": float(np.mean((v >= LOW) & (v <= HIGH))),
            "median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}


def rank_key(c: dict) -> tuple[float, float, float, int]:
    """Larger is better: share in range, closeness of the median to nominal, -scale, K."""
    s = c["summary"]
    return (s["share_in_range"], -abs(s["median"] - NOMINAL), -c["scale"], c["months"])


def spreads(refits: Refits) -> list[float]:
    """The spread (scale 1) each held-out month's refit gave, ascending months."""
    return [round(float(c.sigma[0]), 4) for c in refits.values()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", action="append", metavar="PRESET:SEED",
                    help=f"only these worlds (repeatable; default {' '.join(WORLDS)})")
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "interval-worlds"),
                    help="where the fitted worlds' rows are kept between runs")
    ap.add_argument("--json", default=str(Path(__file__).with_name("interval-refit.json")))
    args = ap.parse_args()
    plan = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in args.world or WORLDS]
    for preset, seed in plan:
        if preset not in PRESETS or seed not in SELECTION_SEEDS:
            raise SystemExit(f"--world {preset}:{seed}: expected a preset of {PRESETS} and "
                             f"a selection seed {SELECTION_SEEDS[0]}-{SELECTION_SEEDS[-1]}")
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    worlds: dict[str, tuple[dict[str, np.ndarray], int]] = {}
    for preset, seed in plan:
        horizon = load_config(ROOT / "configs" / "scenarios" / f"{preset}.toml").model.horizon
        for target, arrays in collect(preset, seed, Path(args.cache)).items():
            worlds[f"{preset}/{seed}/{target}"] = (arrays, horizon)
        print(f"{preset} {seed}: fitted ({time.perf_counter() - t0:.0f} s)", flush=True)
    baseline = {k: fold_coverage(a) for k, (a, _) in worlds.items()}
    tried: dict[str, dict] = {}
    unscaled: dict[str, dict[str, list[float]]] = {}
    for estimator, power, lengths in ESTIMATORS:
        for months in lengths:
            refits = {k: monthly_refits(a, horizon, months, estimator, power)
                      for k, (a, horizon) in worlds.items()}
            name = stem(estimator, months, power)
            unscaled[name] = {k: spreads(r) for k, r in refits.items()}
            print(f"{name}: refitted ({time.perf_counter() - t0:.0f} s)", flush=True)
            for scale in SCALES:
                per_world, fell_back = {}, {}
                for k, (a, _) in worlds.items():
                    per_world[k], fell_back[k] = refit_coverage(a, refits[k], scale)
                tried[f"{name}-scale-{scale:g}"] = {
                    "estimator": estimator, "months": months, "weight_power": power,
                    "scale": scale, "coverage": per_world, "months_fallen_back": fell_back,
                    "summary": judge(per_world)}
    ranked = sorted(tried, key=lambda n: rank_key(tried[n]), reverse=True)
    chosen = ranked[0]
    for name in ranked[:6]:
        print(name, json.dumps(tried[name]["summary"]), flush=True)
    print("fold calibration alone", json.dumps(judge(baseline)), flush=True)
    doc = {"what": "REFIT_ESTIMATOR, REFIT_MONTHS, REFIT_WEIGHT_POWER and REFIT_SCALE of "
                   "riskmodel/models/interval.py (the spread refitted at each scored month)",
           "rule": (f"largest share of (world, target) 80% interval coverages of the oracle "
                    f"probability in [{LOW}, {HIGH}] on the held-out months of riskmodel "
                    f"evaluate, each month's band refitted on the newest K months labelled "
                    f"by it; ties: median closest to {NOMINAL}, then the smaller scale, "
                    f"then the larger K"),
           "command": "python benchmarks/selection/select_interval_refit.py" + "".join(
               f" --world {p}:{s}" for p, s in plan),
           "worlds": [f"{p}:{s}" for p, s in plan],
           "min_refit_windows": interval.MIN_REFIT_WINDOWS,
           "chosen": chosen,
           "chosen_settings": {k: tried[chosen][k] for k in ("estimator", "months",
                                                             "weight_power", "scale")},
           "baseline_fold_calibration": {
               "settings": {"weight_power": interval.WEIGHT_POWER, "scale": interval.SCALE},
               "coverage": baseline, "summary": judge(baseline)},
           "tried": tried,
           "monthly_spread_at_scale_1": unscaled}
    write_record(args.json, doc, t0, load0)
    print(f"chosen: {chosen}")


if __name__ == "__main__":
    main()
