"""Choose the loop design of the simulation presets on the selection seeds only.

Two rounds, both on the worlds of the selection seeds of both simulation presets
(configs/simulate/well-specified.toml and hidden-detection.toml), policy `top`; report
seeds are never touched.

- Round 1 (`ROUND1`, how outcomes feed the model: training rows, area offsets, prior):
  rule `highest median loop_gain_top`; its results are carried in the output as they were
  measured (the simulation of those candidates is unchanged since), not re-run.
- Round 2 (`ROUND2`, the design of the measurement around the round-1 choice: offsets
  refitted every month, outcome weight, prior, offsets without rows, visit budget): the
  target asks for an interval of the median loop gain that excludes zero, so the rule is
  the highest lower end of the order-statistic interval of the median of `loop_gain_top`
  over the 20 selection worlds (`riskmodel.models.seeds.median_interval`), ties broken by
  the higher median. Not searched: 24 simulated months (the target's), 5 sites per visit
  (what a visit is), explore share; monthly retraining is left out because its report run
  (about three times the fits) does not fit the compute available.
- Report seeds: with the chosen candidate's per-seed gains on each preset, the chance that
  n report seeds give an interval excluding zero is estimated by resampling (bootstrap,
  `BOOT` draws); the report uses the smallest n of `REPORT_SEED_CHOICES` with that chance
  at least `POWER` on both presets, else the largest.

The output (`simulate_settings.json` beside this script) records every candidate of both
rounds with per-seed figures, the rules and the choices; tests/test_simulate.py checks that
the presets' `[simulate]` tables hold the chosen candidate.

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
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from riskmodel.models.seeds import SELECTION_SEEDS, median_interval  # noqa: E402
from riskmodel.simulate.loop import FitCache, Simulation, prepare  # noqa: E402
from riskmodel.simulate.settings import load_simulation  # noqa: E402
from riskmodel.simulate.summary import seed_figures  # noqa: E402

PRESETS = ("well-specified", "hidden-detection")
ROUND1: dict[str, dict[str, object]] = {
    "rows-and-offsets": {"outcome_rows": True, "outcome_offsets": True,
                         "outcome_weight": 1.0, "prior_sd": 1.0},
    "rows-only": {"outcome_rows": True, "outcome_offsets": False, "outcome_weight": 1.0},
    "offsets-prior-1": {"outcome_rows": False, "outcome_offsets": True, "prior_sd": 1.0},
    "offsets-prior-0.5": {"outcome_rows": False, "outcome_offsets": True, "prior_sd": 0.5},
}
_BASE2 = {"outcome_rows": True, "outcome_offsets": True, "outcome_weight": 1.0,
          "prior_sd": 1.0, "budget": 4}
ROUND2: dict[str, dict[str, object]] = {
    "rows-and-offsets": {**_BASE2, "offsets_monthly": False},
    "monthly-offsets": {**_BASE2, "offsets_monthly": True},
    "monthly-offsets-prior-2": {**_BASE2, "offsets_monthly": True, "prior_sd": 2.0},
    "monthly-offsets-prior-0.5": {**_BASE2, "offsets_monthly": True, "prior_sd": 0.5},
    "monthly-offsets-weight-3": {**_BASE2, "offsets_monthly": True, "outcome_weight": 3.0},
    "monthly-offsets-weight-10": {**_BASE2, "offsets_monthly": True, "outcome_weight": 10.0},
    "monthly-offsets-only": {**_BASE2, "offsets_monthly": True, "outcome_rows": False},
    "monthly-offsets-budget-8": {**_BASE2, "offsets_monthly": True, "budget": 8},
}
CRITERION = "loop_gain_top"
TIE_BREAK = "loop_concordance_gain_top"
REPORT_SEED_CHOICES = (10, 15, 20)
POWER = 0.8
BOOT = 2000


def power(values: list[float], n: int, rng: np.random.Generator) -> float:
    """Share of `BOOT` resamples of n values whose interval of the median lies above 0."""
    v = np.asarray(values, np.float64)
    hits = sum(median_interval(rng.choice(v, n, replace=True))[0] > 0 for _ in range(BOOT))
    return hits / BOOT


def round1_record(path: Path) -> dict[str, Any]:
    """Round 1 as measured, from an earlier output (its own layout or this one's)."""
    old = json.loads(path.read_text())
    if "rounds" in old:
        return old["rounds"][0]
    return {"rule": old["rule"], "candidates": old["candidates"], "medians": old["medians"],
            "chosen": old["chosen"], "per_seed": old["per_seed"], "seeds": old["seeds"],
            "seconds": old["seconds"], "date": old["date"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=len(SELECTION_SEEDS),
                    help="use the first N selection seeds")
    ap.add_argument("--json", default=str(Path(__file__).with_name("simulate_settings.json")))
    args = ap.parse_args()
    seeds = SELECTION_SEEDS[:args.seeds]
    first = round1_record(Path(args.json))
    t0 = time.perf_counter()
    per: dict[str, dict[str, list[dict[str, float]]]] = {c: {p: [] for p in PRESETS}
                                                         for c in ROUND2}
    for preset in PRESETS:
        cfg, base = load_simulation(ROOT / "configs" / "simulate" / f"{preset}.toml")
        for seed in seeds:
            sw = prepare(cfg, seed, base.months)
            for target in cfg.targets:
                cache = FitCache()   # the loop-off fits are the same for every candidate
                for name, cand in ROUND2.items():
                    settings = base.model_copy(update={**cand, "policy": "top"})
                    run = Simulation(sw, target, settings, ("top",),
                                     cache=cache).run(settings.months)
                    fig = seed_figures(run, ("top",))
                    per[name][preset].append({"seed": seed, "target": target, **fig})
                    print(f"{preset} seed {seed} {name}: {CRITERION} {fig[CRITERION]:+.3f} "
                          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    table = {}
    for name in ROUND2:
        v = [r[CRITERION] for p in PRESETS for r in per[name][p]]
        lo, hi, level = median_interval(v)
        table[name] = {"median_" + CRITERION: float(np.median(v)), "lo_" + CRITERION: lo,
                       "hi_" + CRITERION: hi, "level": level,
                       "share_positive": float(np.mean(np.asarray(v) > 0)),
                       "median_" + TIE_BREAK: float(np.median(
                           [r[TIE_BREAK] for p in PRESETS for r in per[name][p]])),
                       **{f"{p}_median_{CRITERION}": float(np.median(
                           [r[CRITERION] for r in per[name][p]])) for p in PRESETS},
                       **{f"{p}_share_positive": float(np.mean(
                           [r[CRITERION] > 0 for r in per[name][p]])) for p in PRESETS}}
    chosen = max(ROUND2, key=lambda n: (table[n]["lo_" + CRITERION],
                                        table[n]["median_" + CRITERION]))
    rng = np.random.default_rng(0)
    chance = {p: {str(n): power([r[CRITERION] for r in per[chosen][p]], n, rng)
                  for n in REPORT_SEED_CHOICES} for p in PRESETS}
    enough = [n for n in REPORT_SEED_CHOICES if all(chance[p][str(n)] >= POWER
                                                    for p in PRESETS)]
    n_report = enough[0] if enough else REPORT_SEED_CHOICES[-1]
    second = {"rule": f"highest lower end of the interval of the median {CRITERION} over "
                      f"selection seeds and presets {', '.join(PRESETS)}; ties: higher "
                      f"median {CRITERION}",
              "candidates": ROUND2, "summary": table, "chosen": chosen,
              "per_seed": per, "seeds": list(seeds),
              "seconds": round(time.perf_counter() - t0, 1),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    out = {"what": "the loop design of configs/simulate/*.toml, chosen on the selection "
                   "seeds (docs/simulate.md)",
           "presets": list(PRESETS), "rounds": [first, second],
           "chosen": chosen, "chosen_settings": ROUND2[chosen],
           "report_seeds": {"rule": f"smallest n of {list(REPORT_SEED_CHOICES)} whose "
                                    f"bootstrap chance ({BOOT} resamples of the chosen "
                                    f"candidate's per-seed {CRITERION}) of an interval "
                                    f"excluding zero is >= {POWER} on both presets, else "
                                    f"the largest",
                            "chance": chance, "chosen": n_report},
           "machine": platform.machine(), "python": platform.python_version()}
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({"summary": table, "chosen": chosen, "report_seeds": out["report_seeds"]},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
