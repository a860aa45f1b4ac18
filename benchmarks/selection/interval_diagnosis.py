"""How far each refit estimator's spread lies from the spread each selection world needed.

A diagnosis on the selection worlds of `select_interval_refit.py` (it reads the world's
probabilities, so no method could do this): for every (world, target) the "needed"
spread is the one constant residual spread whose band covers exactly 80% of the held-out
rows' oracle probabilities (bisection, with the rows' member spreads as the band uses
them). Beside it, the mean over the held-out months of each estimator's refitted spread
at scale 1 (`monthly_spread_at_scale_1` of `interval-refit.json`), and per estimator the
median ratio estimate / needed, the standard deviation of log(ratio) between worlds and
the correlation of the two across worlds. A band lands in [0.70, 0.90] only when its
spread is within roughly -20% / +25% of the needed one, so the standard deviation of
log(ratio) says how often an estimator can; the widening `scale` only moves the median.

Usage: python benchmarks/selection/interval_diagnosis.py [--cache DIR] [--json OUT]
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

from interval_worlds import collect, covering_spread  # noqa: E402
from record import write_record  # noqa: E402

SELECTION = Path(__file__).with_name("interval-refit.json")
NOMINAL = 0.8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "interval-worlds"))
    ap.add_argument("--json", default=str(Path(__file__).with_name("interval-diagnosis.json")))
    args = ap.parse_args()
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    selection = json.loads(SELECTION.read_text())
    spreads = selection["monthly_spread_at_scale_1"]
    per_world: dict[str, dict[str, float]] = {}
    for world in selection["worlds"]:
        preset, seed = world.rsplit(":", 1)
        for target, a in collect(preset, int(seed), Path(args.cache)).items():
            key = f"{preset}/{seed}/{target}"
            per_world[key] = {"needed": covering_spread(a, "test", NOMINAL),
                              **{e: float(np.mean(s[key])) for e, s in spreads.items()}}
    needed = np.array([w["needed"] for w in per_world.values()])
    summary = {"needed_sd_log": float(np.std(np.log(needed)))}
    for estimator in spreads:
        est = np.array([w[estimator] for w in per_world.values()])
        ratio = est / needed
        summary[estimator] = {"median_ratio": float(np.median(ratio)),
                              "sd_log_ratio": float(np.std(np.log(ratio))),
                              "correlation": float(np.corrcoef(needed, est)[0, 1])}
        print(estimator, json.dumps(summary[estimator]), flush=True)
    print("needed spread, sd of log between worlds", round(summary["needed_sd_log"], 3))
    doc = {"what": "each refit estimator's mean monthly spread (scale 1) against the spread "
                   "each selection world needed for 80% held-out coverage (a diagnosis "
                   "with the truth; nothing is chosen here)",
           "command": "python benchmarks/selection/interval_diagnosis.py",
           "selection": SELECTION.name, "worlds": selection["worlds"],
           "summary": summary, "per_world": per_world}
    write_record(args.json, doc, t0, load0)


if __name__ == "__main__":
    main()
