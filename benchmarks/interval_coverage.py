"""The 80% interval's coverage on the report worlds, written into the scenario results.

The interval does not enter the score, so re-measuring it needs no new evaluation of the
other figures: for each scenario preset and report seed this fits the product model of
each target exactly as `riskmodel evaluate --seeds N` fits it (the same config, seed,
training table and `fit_model`; `selection/interval_worlds.py`, cached), fits the
interval with the method in `riskmodel.models.interval` as `riskmodel evaluate` does (the
calibration fold's fit, refitted at each held-out month on the newest months labelled by
then: `interval.monthly_refits`, `interval.monthly_bands`), and measures its coverage of
the world's probability of the label on the held-out months
(`riskmodel.models.evaluate.judge`'s `interval_coverage`).

Beside it, as a diagnosis (it reads the truth, so no method could), each seed records
`truth_fitted_coverage`: the held-out coverage of a band whose one spread was fitted on
the calibration fold *with the world's probability* to cover exactly 80% there. It is what
the best constant-spread band fitted on the calibration fold would reach, so a world that
misses [0.70, 0.90] even with it misses because the held-out months differ from the
calibration fold, not because of how the spread is estimated.

As a check that these are evaluate's models, the coverage of the method the stored figure
was measured with (the block's `interval_method`: the fold's fit with its weight power
and scale, or the refit with its settings; none recorded: weight power 2, no widening)
must reproduce the `interval_coverage` stored in the results file for the same seed; a
mismatch stops the script before anything is written. Then each seed's `interval_coverage` in
`benchmarks/results-evaluate-scenarios.json` is replaced by the current method's, the
summary recomputed (`riskmodel.models.seeds.summarise`), and the scenario records how the
figure was produced (`interval_method`).

Usage: python benchmarks/interval_coverage.py --seeds 10 [--scenario S ...] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository first: this folder's kernels.py would otherwise shadow the package.
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks" / "selection"))

from interval_worlds import band_coverage, collect, covering_spread  # noqa: E402
from riskmodel.config import load_config  # noqa: E402
from riskmodel.models import interval  # noqa: E402
from riskmodel.models.metrics import interval_coverage  # noqa: E402
from riskmodel.models.seeds import report_seeds, summarise  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results-evaluate-scenarios.json"
PRESETS = ("well-specified", "hidden-detection", "proxies", "drift", "nonlinear")
NOMINAL = 0.8
CHECK_TOLERANCE = 1e-9


def coverage(arrays: dict, weight_power: float, scale: float) -> float:
    """Held-out coverage of the oracle probability by the band with these settings."""
    cal = interval.fit_interval(arrays["cal_risk"], arrays["cal_sd"], arrays["cal_count"],
                                arrays["cal_weight"], NOMINAL, weight_power=weight_power,
                                scale=scale)
    lo, hi = interval.predict_band(arrays["test_risk"], arrays["test_sd"], cal)
    return interval_coverage(arrays["test_oracle"], lo, hi)


def refit_coverage(arrays: dict, horizon: int, months: int, weight_power: float,
                   scale: float, fold_power: float, fold_scale: float,
                   estimator: str) -> tuple[float, int]:
    """Held-out coverage of the band refitted at each held-out month with `estimator` (the
    fold's fit with `fold_power`, `fold_scale` as the fallback), and how many months fell
    back."""
    fold = interval.fit_interval(arrays["cal_risk"], arrays["cal_sd"], arrays["cal_count"],
                                 arrays["cal_weight"], NOMINAL, weight_power=fold_power,
                                 scale=fold_scale)
    rows = interval.LabelledRows(arrays["seq_risk"], arrays["seq_sd"], arrays["seq_count"],
                                 arrays["seq_month"])
    refits = interval.monthly_refits(arrays["test_month"], rows, horizon, fold,
                                     months=months, weight_power=weight_power, scale=scale,
                                     estimator=estimator)
    lo, hi = interval.monthly_bands(arrays["test_risk"], arrays["test_sd"],
                                    arrays["test_month"], refits)
    fell_back = sum(c.refit.source != "newest labelled months" for c in refits.values())
    return interval_coverage(arrays["test_oracle"], lo, hi), fell_back


def current_method() -> dict:
    """The settings of the current method, as recorded in a block's `interval_method`."""
    return {"method": interval.METHOD, **interval.refit_settings(),
            "min_refit_windows": interval.MIN_REFIT_WINDOWS,
            "weight_power": interval.WEIGHT_POWER, "scale": interval.SCALE}


def stored_coverage(arrays: dict, horizon: int, method: dict | None) -> float:
    """Coverage by the method the stored figure was measured with (see the docstring)."""
    if method is None:
        return coverage(arrays, 2.0, 1.0)
    if "refit_months" in method:
        return refit_coverage(arrays, horizon, method["refit_months"],
                              method["refit_weight_power"], method["refit_scale"],
                              method["weight_power"], method["scale"],
                              # recorded since the likelihood estimator exists
                              method.get("refit_estimator", "moment"))[0]
    return coverage(arrays, method["weight_power"], method["scale"])


def truth_fitted_coverage(arrays: dict) -> float:
    """Held-out coverage of the constant spread that covers 80% of the calibration fold's
    own oracle probabilities (a diagnosis: no method sees the oracle)."""
    return band_coverage(arrays, "test", covering_spread(arrays, "cal", NOMINAL), NOMINAL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10, help="report seeds 1..N")
    ap.add_argument("--scenario", action="append", choices=PRESETS,
                    help="only these presets (repeatable)")
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "interval-worlds"))
    args = ap.parse_args()
    doc = json.loads(RESULTS.read_text())
    seeds = report_seeds(args.seeds)
    for preset in args.scenario or PRESETS:
        block = doc["scenarios"][preset]
        horizon = load_config(ROOT / "configs" / "scenarios" / f"{preset}.toml").model.horizon
        rows = {r["seed"]: r for r in block["per_seed"]}
        previous = block.get("interval_method")
        diagnosis: dict[str, dict[str, float]] = {}
        fold_only: dict[str, dict[str, float]] = {}
        fell_back: dict[str, dict[str, int]] = {}
        for seed in seeds:
            arrays = collect(preset, seed, Path(args.cache))
            for target, a in arrays.items():
                old = stored_coverage(a, horizon, previous)
                stored = rows[seed][target]["interval_coverage"]
                if abs(old - stored) > CHECK_TOLERANCE:
                    raise SystemExit(f"{preset} seed {seed} {target}: the stored method "
                                     f"gives {old} here but {stored} in {RESULTS.name}: not "
                                     f"evaluate's model")
            key = str(seed)
            fold_only[key] = {t: coverage(a, interval.WEIGHT_POWER, interval.SCALE)
                              for t, a in arrays.items()}
            fell_back[key] = {}
            for target, a in arrays.items():
                rows[seed][target]["interval_coverage"], fell_back[key][target] = \
                    refit_coverage(a, horizon, interval.REFIT_MONTHS,
                                   interval.REFIT_WEIGHT_POWER, interval.REFIT_SCALE,
                                   interval.WEIGHT_POWER, interval.SCALE,
                                   interval.REFIT_ESTIMATOR)
            diagnosis[key] = {t: truth_fitted_coverage(a) for t, a in arrays.items()}
            print(preset, seed, {t: round(rows[seed][t]["interval_coverage"], 3)
                                 for t in arrays}, "fold only",
                  {t: round(v, 3) for t, v in fold_only[key].items()},
                  "truth-fitted on the calibration fold",
                  {t: round(v, 3) for t, v in diagnosis[key].items()}, flush=True)
        block["summary"] = summarise([{t: v for t, v in r.items() if t != "seed"}
                                      for r in block["per_seed"]])
        block["interval_method"] = {
            **current_method(),
            "measured_by": f"python benchmarks/interval_coverage.py --seeds {args.seeds}",
            "check": "the method recorded before (or, with none recorded, weight power 2 "
                     "and scale 1 on the calibration fold) reproduced every seed's stored "
                     "interval_coverage before it was replaced",
            "previous_method": previous and {k: v for k, v in previous.items()
                                             if k not in ("truth_fitted_coverage",
                                                          "fold_only_coverage",
                                                          "months_fallen_back",
                                                          "previous_method")},
            "fold_only_coverage": fold_only,
            "fold_only_meaning": ("held-out coverage of the calibration fold's fit alone "
                                  "(weight_power, scale), without the refit"),
            "months_fallen_back": fell_back,
            "truth_fitted_coverage": diagnosis,
            "truth_fitted_meaning": (
                "held-out coverage of the one spread that covers 80% of the calibration "
                "fold's oracle probabilities (fitted with the truth; a diagnosis: the best "
                "a constant-spread band fitted on the calibration fold could do)")}
        RESULTS.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
