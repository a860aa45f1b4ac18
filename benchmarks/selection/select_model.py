"""Choose the scenario presets' model settings on the selection seeds only.

Every candidate `[model]` setting below is evaluated (`riskmodel.models.seeds`) on the
worlds of the selection seeds of the well-specified and nonlinear presets; the candidate
with the highest median, over seeds, targets and both presets, of
`auc_truth_standard_detection` (the product's purpose: ranking true incidence at standard
detection) is chosen, ties broken by the lower median ECE. The report seeds are never
touched here, so figures reported on them were not used to choose.

The output (`model-settings.json` beside this script) records every candidate, the
per-seed figures, the rule and the choice; `tests/test_selection.py` checks that the
presets' `[model]` sections are the chosen candidate.

Usage: python benchmarks/selection/select_model.py [--seeds N] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from record import write_record  # noqa: E402
from riskmodel.config import load_config  # noqa: E402
from riskmodel.models.seeds import SELECTION_SEEDS, evaluate_seeds  # noqa: E402

PRESETS = ("well-specified", "nonlinear")
CANDIDATES: dict[str, dict[str, object]] = {
    # the estimator's defaults
    "defaults": {},
    # every positive row, 15% of negatives, small trees with many rows per leaf
    "all-positives-small-trees": {"positive_rate": 1.0, "negative_rate": 0.15,
                                  "num_leaves": 15, "min_child_samples": 200},
    # the same rows, larger trees: room for the interactions of the nonlinear world
    "all-positives-large-trees": {"positive_rate": 1.0, "negative_rate": 0.15,
                                  "num_leaves": 31, "min_child_samples": 100},
}
CRITERION = "auc_truth_standard_detection"


def evaluate_candidate(name: str, settings: dict[str, object],
                       seeds: tuple[int, ...]) -> dict[str, object]:
    """Per preset: the seeds' summaries of `settings` on the selection worlds."""
    out: dict[str, object] = {}
    for preset in PRESETS:
        cfg = load_config(ROOT / "configs" / "scenarios" / f"{preset}.toml")
        base = cfg.model.model_dump()
        for key in ("positive_rate", "negative_rate", "num_leaves", "min_child_samples"):
            base.pop(key)
        model = type(cfg.model)(**{**base, **settings})
        result = evaluate_seeds(cfg.model_copy(update={"model": model}), seeds,
                                note=lambda m: print(f"  {name} {preset}: {m}", flush=True))
        out[preset] = {"per_seed": result["per_seed"], "summary": result["summary"]}
    return out


def score(result: dict[str, object]) -> tuple[float, float]:
    """(median criterion, -median ECE) over presets, seeds and targets: larger is better."""
    crit, ece = [], []
    for preset in PRESETS:
        for row in result[preset]["per_seed"]:
            for target in ("fl", "cl"):
                crit.append(row[target][CRITERION])
                ece.append(row[target]["ece"])
    return float(np.median(crit)), -float(np.median(ece))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=len(SELECTION_SEEDS),
                    help=f"how many of the selection seeds (at most {len(SELECTION_SEEDS)})")
    ap.add_argument("--json", default=str(Path(__file__).with_name("model-settings.json")))
    args = ap.parse_args()
    seeds = SELECTION_SEEDS[:args.seeds]
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    tried = {}
    for name, settings in CANDIDATES.items():
        tried[name] = {"settings": settings, **evaluate_candidate(name, settings, seeds)}
        tried[name]["score"] = score(tried[name])
        print(f"{name}: median {CRITERION} {tried[name]['score'][0]:.4f}, median ECE "
              f"{-tried[name]['score'][1]:.4f}", flush=True)
    chosen = max(tried, key=lambda n: tried[n]["score"])
    doc = {"what": "model settings of configs/scenarios/*.toml", "rule": (
        f"highest median {CRITERION} over selection seeds, targets and presets "
        f"{list(PRESETS)}; ties: lower median ECE"), "seeds": list(seeds),
        "presets": list(PRESETS), "chosen": chosen, "chosen_settings": CANDIDATES[chosen],
        "tried": tried}
    write_record(args.json, doc, t0, load0)
    print(f"chosen: {chosen} {CANDIDATES[chosen]}")


if __name__ == "__main__":
    main()
