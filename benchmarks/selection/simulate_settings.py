"""Choose the loop settings of the simulation presets on the selection seeds only.

Each candidate below (how outcomes feed the model: training rows, area offsets, their
weight and prior) runs the closed loop (`riskmodel.simulate`, policy `top`) on the worlds
of the selection seeds of both simulation presets (configs/simulate/well-specified.toml
and hidden-detection.toml); the other settings (budget, months, explore share, retraining
every 3 months, sites per visit) are the presets' and are not searched. The candidate with
the highest median, over seeds and both presets, of `loop_gain_top` (cases per visit with
the loop on minus off after the simulated months) is chosen, ties broken by the higher
median `loop_concordance_gain_top`. Report seeds are never touched.

The output (`simulate_settings.json` beside this script) records every candidate, the
per-seed figures, the rule and the choice; tests/test_simulate.py checks that the presets'
`[simulate]` tables hold the chosen candidate.

Usage: python benchmarks/selection/simulate_settings.py [--seeds N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from riskmodel.models.seeds import SELECTION_SEEDS  # noqa: E402
from riskmodel.simulate.loop import Simulation, prepare  # noqa: E402
from riskmodel.simulate.settings import load_simulation  # noqa: E402
from riskmodel.simulate.summary import seed_figures  # noqa: E402

PRESETS = ("well-specified", "hidden-detection")
CANDIDATES: dict[str, dict[str, object]] = {
    "rows-and-offsets": {"outcome_rows": True, "outcome_offsets": True,
                         "outcome_weight": 1.0, "prior_sd": 1.0},
    "rows-only": {"outcome_rows": True, "outcome_offsets": False, "outcome_weight": 1.0},
    "offsets-prior-1": {"outcome_rows": False, "outcome_offsets": True, "prior_sd": 1.0},
    "offsets-prior-0.5": {"outcome_rows": False, "outcome_offsets": True, "prior_sd": 0.5},
}
CRITERION = "loop_gain_top"
TIE_BREAK = "loop_concordance_gain_top"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=len(SELECTION_SEEDS),
                    help="use the first N selection seeds")
    ap.add_argument("--json", default=str(Path(__file__).with_name("simulate_settings.json")))
    args = ap.parse_args()
    seeds = SELECTION_SEEDS[:args.seeds]
    t0 = time.perf_counter()
    per: dict[str, dict[str, list[dict[str, float]]]] = {c: {p: [] for p in PRESETS}
                                                         for c in CANDIDATES}
    for preset in PRESETS:
        cfg, base = load_simulation(ROOT / "configs" / "simulate" / f"{preset}.toml")
        for seed in seeds:
            sw = prepare(cfg, seed, base.months)
            for name, cand in CANDIDATES.items():
                settings = base.model_copy(update={**cand, "policy": "top"})
                for target in cfg.targets:
                    run = Simulation(sw, target, settings, ("top",)).run(settings.months)
                    fig = seed_figures(run, ("top",))
                    per[name][preset].append({"seed": seed, "target": target, **fig})
                print(f"{preset} seed {seed} {name}: {CRITERION} "
                      f"{per[name][preset][-1][CRITERION]:+.3f}", flush=True)
    table = {}
    for name in CANDIDATES:
        rows = [r for p in PRESETS for r in per[name][p]]
        table[name] = {"median_" + k: float(np.median([r[k] for r in rows]))
                       for k in (CRITERION, TIE_BREAK)}
    chosen = max(CANDIDATES, key=lambda n: (table[n]["median_" + CRITERION],
                                            table[n]["median_" + TIE_BREAK]))
    out = {"rule": f"highest median {CRITERION} over selection seeds and presets "
                   f"{', '.join(PRESETS)}; ties: higher median {TIE_BREAK}",
           "seeds": list(seeds), "presets": list(PRESETS), "candidates": CANDIDATES,
           "medians": table, "chosen": chosen, "chosen_settings": CANDIDATES[chosen],
           "per_seed": per, "seconds": round(time.perf_counter() - t0, 1),
           "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": platform.machine(), "python": platform.python_version()}
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({"medians": table, "chosen": chosen}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
