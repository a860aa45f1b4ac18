"""Choose the risk interval's estimator settings on the selection seeds only.

The interval (`riskmodel.models.interval`) measures the residual log-rate spread from the
overdispersion of identified counts on the calibration fold, each row weighted by
L_hat^weight_power, and widens it by `scale`. For every preset in `configs/scenarios/` and
every selection seed given, the product model of each target is fitted once, exactly as
`riskmodel evaluate` fits it (`interval_worlds.collect`, cached), and every candidate
(weight_power, scale) below is fitted on the calibration fold and judged on the held-out
months by its 80% coverage of the world's probability of the label (the quantity the band
estimates, never the 0/1 label). Rule: the candidate with the largest share of
(world, target) coverages in [0.70, 0.90]; ties by the median closest to the nominal 0.80,
then by the smaller scale (the narrower band). The report seeds are never touched here.

The output (`interval-method.json` beside this script) records every candidate's coverage
per world and target, the rule and the choice; `tests/test_selection.py` checks that
`riskmodel.models.interval` uses the chosen settings.

Usage: python benchmarks/selection/select_interval.py [--seeds N | --world PRESET:SEED ...]
       [--cache DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from interval_worlds import collect  # noqa: E402
from record import write_record  # noqa: E402
from riskmodel.models.interval import fit_interval, predict_band  # noqa: E402
from riskmodel.models.metrics import interval_coverage  # noqa: E402
from riskmodel.models.seeds import SELECTION_SEEDS  # noqa: E402

PRESETS = ("well-specified", "hidden-detection", "proxies", "drift", "nonlinear")
WEIGHT_POWERS = (2.0, 1.5, 1.0, 0.5)     # 2: the classic overdispersion estimator
SCALES = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)  # 1: no widening
NOMINAL = 0.8
LOW, HIGH = 0.70, 0.90


def coverage(arrays: dict[str, np.ndarray], weight_power: float, scale: float) -> float:
    """Held-out coverage of the oracle probability by the band fitted with the settings."""
    cal = fit_interval(arrays["cal_risk"], arrays["cal_sd"], arrays["cal_count"],
                       arrays["cal_weight"], NOMINAL, weight_power=weight_power, scale=scale)
    lo, hi = predict_band(arrays["test_risk"], arrays["test_sd"], cal)
    return interval_coverage(arrays["test_oracle"], lo, hi)


def judge(per_world: dict[str, float]) -> dict[str, float]:
    """Share of coverages in [LOW, HIGH], median, min and max of one candidate."""
    v = np.array(list(per_world.values()))
    return {"share_in_range": float(np.mean((v >= LOW) & (v <= HIGH))),
            "median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}


def rank_key(name: str, tried: dict[str, dict]) -> tuple[float, float, float]:
    """Larger is better: share in range, closeness of the median to nominal, -scale."""
    s = tried[name]["summary"]
    return (s["share_in_range"], -abs(s["median"] - NOMINAL), -tried[name]["scale"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=2,
                    help=f"how many of the selection seeds (at most {len(SELECTION_SEEDS)})")
    ap.add_argument("--world", action="append", metavar="PRESET:SEED",
                    help="only these worlds (repeatable; each seed a selection seed)")
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "interval-worlds"),
                    help="where the fitted worlds' rows are kept between runs")
    ap.add_argument("--json", default=str(Path(__file__).with_name("interval-method.json")))
    args = ap.parse_args()
    plan = [(p, s) for p in PRESETS for s in SELECTION_SEEDS[:args.seeds]]
    if args.world:
        plan = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in args.world]
    for preset, seed in plan:
        if preset not in PRESETS or seed not in SELECTION_SEEDS:
            raise SystemExit(f"--world {preset}:{seed}: expected a preset of {PRESETS} and "
                             f"a selection seed {SELECTION_SEEDS[0]}-{SELECTION_SEEDS[-1]}")
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    worlds: dict[str, dict[str, np.ndarray]] = {}
    for preset, seed in plan:
        for target, arrays in collect(preset, seed, Path(args.cache)).items():
            worlds[f"{preset}/{seed}/{target}"] = arrays
        print(f"{preset} {seed}: fitted", flush=True)
    tried: dict[str, dict] = {}
    for power in WEIGHT_POWERS:
        for scale in SCALES:
            name = f"power-{power:g}-scale-{scale:g}"
            per_world = {k: coverage(a, power, scale) for k, a in worlds.items()}
            tried[name] = {"weight_power": power, "scale": scale, "coverage": per_world,
                           "summary": judge(per_world)}
    chosen = max(tried, key=lambda n: rank_key(n, tried))
    for name in sorted(tried, key=lambda n: rank_key(n, tried), reverse=True)[:5]:
        print(name, json.dumps(tried[name]["summary"]), flush=True)
    doc = {"what": "weight_power and scale of riskmodel/models/interval.py",
           "rule": (f"largest share of (world, target) 80% interval coverages of the oracle "
                    f"probability in [{LOW}, {HIGH}] on the held-out months of riskmodel "
                    f"evaluate; ties: median closest to {NOMINAL}, then the smaller scale"),
           "command": "python benchmarks/selection/select_interval.py" + "".join(
               f" --world {p}:{s}" for p, s in plan),
           "worlds": [f"{p}:{s}" for p, s in plan], "chosen": chosen,
           "chosen_settings": {"weight_power": tried[chosen]["weight_power"],
                               "scale": tried[chosen]["scale"]},
           "tried": tried}
    write_record(args.json, doc, t0, load0)
    print(f"chosen: {chosen}")


if __name__ == "__main__":
    main()
