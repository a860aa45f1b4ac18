"""Choose the backtest's model variant on the selection seeds only.

Every candidate `[model]` variant below is backtested (`riskmodel.backtest`) with
`configs/backtest-scenarios.toml` on the worlds of the selection seeds of the
well-specified and nonlinear presets, pooled per preset as `riskmodel backtest --selection`
pools them. The rule: the candidate whose worst (preset, target) lower bound of model
minus logistic PR-AUC is highest (the backtest's hardest aim is not to lose to the
logistic regression); ties by the higher mean of those lower bounds. The deployed
settings (`configs/demo.toml`) are a candidate, so the choice says whether the deployed
model is also the best variant tried; when it is not, the backtest report says where the
judged settings differ from the deployed ones. Report seeds are never touched here.

The output (`backtest-variant.json` beside this script) records every candidate, its
pooled differences per preset and target, the rule and the choice.

Usage: python benchmarks/selection/select_backtest.py [--seeds N] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from record import write_record  # noqa: E402
from riskmodel.backtest import backtest_json, load_backtest_config  # noqa: E402
from riskmodel.backtest import run_backtest_worlds  # noqa: E402
from riskmodel.models.seeds import SELECTION_SEEDS  # noqa: E402

CONFIG = ROOT / "configs" / "backtest-scenarios.toml"
PRESETS = ("well-specified", "nonlinear")
CANDIDATES: dict[str, dict[str, object]] = {
    # what configs/demo.toml deploys (the config's own [model])
    "deployed": {},
    # the same trees on a linear base, Platt-calibrated (configs/backtest.toml's variant)
    "deployed-linear-base": {"linear_base": True, "calibration": "platt"},
}


def evaluate_candidate(name: str, settings: dict[str, object], seeds: list[int],
                       config: Path) -> dict[str, object]:
    """Per preset: model minus logistic and the oracle headroom, pooled over `seeds`."""
    base = load_backtest_config(config)
    model = base.model.model_copy(update=settings)
    out: dict[str, object] = {}
    for preset in PRESETS:
        cfg = base.model_copy(update={"model": model, "world": base.world.model_copy(
            update={"scenario": preset})})
        print(f"{name} {preset}: backtesting seeds {seeds}", flush=True)
        doc = backtest_json(run_backtest_worlds(cfg, seeds, source=str(config)))
        out[preset] = {t: {"model_minus_logistic": v["differences"]["logistic"],
                           "model_minus_persistence": v["differences"]["persistence"],
                           "model_minus_composite": v["differences"]["composite"],
                           "headroom": v.get("headroom", {}), "pooled": v["pooled"]}
                       for t, v in doc["targets"].items()}
    return out


def score(result: dict[str, object]) -> tuple[float, float]:
    """(worst, mean) lower bound of model minus logistic PR-AUC over presets and targets."""
    lows = [t["model_minus_logistic"]["pr_auc"]["lo"]
            for p in PRESETS for t in result[p].values()]
    return min(lows), sum(lows) / len(lows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3,
                    help=f"how many of the selection seeds (at most {len(SELECTION_SEEDS)})")
    ap.add_argument("--config", type=Path, default=CONFIG, help="backtest config")
    ap.add_argument("--json", default=str(Path(__file__).with_name("backtest-variant.json")))
    args = ap.parse_args()
    seeds = list(SELECTION_SEEDS[:args.seeds])
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    tried = {}
    for name, settings in CANDIDATES.items():
        tried[name] = {"settings": settings,
                       **evaluate_candidate(name, settings, seeds, args.config)}
        tried[name]["score"] = score(tried[name])
        print(f"{name}: worst / mean lower bound of model - logistic PR-AUC "
              f"{tried[name]['score'][0]:+.4f} / {tried[name]['score'][1]:+.4f}", flush=True)
    chosen = max(tried, key=lambda n: tried[n]["score"])
    doc = {"what": "[model] variant of configs/backtest-scenarios.toml",
           "config": str(args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT)
                         else args.config),
           "rule": ("highest worst-case (over presets and targets) lower bound of model minus "
                    "logistic PR-AUC, pooled over the selection seeds; ties: higher mean"),
           "seeds": seeds, "presets": list(PRESETS), "chosen": chosen,
           "chosen_settings": CANDIDATES[chosen], "tried": tried}
    write_record(args.json, doc, t0, load0)
    print(f"chosen: {chosen} {CANDIDATES[chosen]}")


if __name__ == "__main__":
    main()
