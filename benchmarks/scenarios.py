"""How much of each scenario world's true log-odds the observable features can explain.

For every preset in `configs/scenarios/` and each seed given, the world is generated, the
feature cube built from its observed drivers, and the true log-odds (logit of
`true_prevalence_<target>`) of land cell-months after the feature warm-up regressed on the
features:

- `r2_linear`: ordinary least squares on the standardised features (missing values set to
  the feature mean), fitted on the even admin-1 units and judged on the odd ones;
- `r2_gbm`: a LightGBM regression with the same split (what a flexible model of the
  observed features could reach).

The detection side is reported too: `detection_r2_coverage`, the share of the variance of
the logit of the detection probability that observed inspection coverage explains
(linear), which is 1 when detection depends on coverage only.

Usage: python benchmarks/scenarios.py --seeds 3 --json benchmarks/results-scenarios.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import sys

import lightgbm as lgb
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# The repository first: this folder's kernels.py would otherwise shadow the package.
sys.path.insert(0, str(ROOT))

import features  # noqa: E402
from features import WARMUP_MONTHS  # noqa: E402
from riskmodel.config import load_config  # noqa: E402
from riskmodel.world import make_world  # noqa: E402

SCENARIO_DIR = ROOT / "configs" / "scenarios"
ROWS = 60_000   # cell-months sampled per world (seeded) for the regressions


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    return float(1.0 - np.mean((y - pred) ** 2) / np.var(y))


def explainable(config: Path, seed: int) -> dict[str, float]:
    """R^2 of the true log-odds on the observable features (module docstring), per target."""
    cfg = load_config(config)
    world = make_world(cfg.world, seed)
    cube = features.build_cube(world)
    names = list(cube.data_vars)
    land = world["land"].values.astype(bool)
    n_time = world.sizes["time"]
    t_idx, y_idx, x_idx = np.nonzero(np.broadcast_to(land, (n_time, *land.shape)))
    keep = t_idx >= WARMUP_MONTHS
    rng = np.random.default_rng(seed)
    pick = rng.choice(np.flatnonzero(keep), size=min(ROWS, int(keep.sum())), replace=False)
    t_idx, y_idx, x_idx = t_idx[pick], y_idx[pick], x_idx[pick]
    X = np.column_stack([
        (cube[n].values[t_idx, y_idx, x_idx] if cube[n].ndim == 3
         else cube[n].values[y_idx, x_idx]) for n in names]).astype(np.float64)
    finite = np.isfinite(X)
    X = X[:, finite.any(0)]        # a feature with no value in the sample explains nothing
    finite = np.isfinite(X)
    X = np.where(finite, X, np.nanmean(np.where(finite, X, np.nan), axis=0))
    X = (X - X.mean(0)) / (X.std(0) + 1e-12)
    unit = world["admin1_id"].values[y_idx, x_idx]
    train, test = unit % 2 == 0, unit % 2 == 1
    out: dict[str, float] = {}
    for target in ("fl", "cl"):
        p = world[f"true_prevalence_{target}"].values[t_idx, y_idx, x_idx].astype(np.float64)
        eta = np.log(p) - np.log1p(-p)
        A = np.column_stack([np.ones(train.sum()), X[train]])
        beta, *_ = np.linalg.lstsq(A, eta[train], rcond=None)
        out[f"{target}_r2_linear"] = _r2(eta[test], np.column_stack(
            [np.ones(test.sum()), X[test]]) @ beta)
        gbm = lgb.LGBMRegressor(n_estimators=300, num_leaves=31, learning_rate=0.05,
                                min_child_samples=100, subsample=0.8, subsample_freq=1,
                                colsample_bytree=0.8, random_state=seed, n_jobs=2,
                                verbose=-1).fit(X[train], eta[train])
        out[f"{target}_r2_gbm"] = _r2(eta[test], gbm.predict(X[test]))
    d = world["detection_prob"].values[t_idx, y_idx, x_idx].astype(np.float64)
    logit_d = np.log(d) - np.log1p(-d)
    cov = world["inspection_coverage"].values[t_idx, unit]
    A = np.column_stack([np.ones(len(cov)), cov])
    beta, *_ = np.linalg.lstsq(A, logit_d, rcond=None)
    out["detection_r2_coverage"] = _r2(logit_d, A @ beta)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3, help="worlds per scenario (seeds 1..N)")
    ap.add_argument("--scenario", action="append", help="only these presets (repeatable)")
    ap.add_argument("--json", required=True, metavar="OUT.json")
    args = ap.parse_args()
    presets = sorted(SCENARIO_DIR.glob("*.toml"))
    if args.scenario:
        presets = [p for p in presets if p.stem in args.scenario]
    results: dict[str, dict] = {}
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    for preset in presets:
        per_seed = [explainable(preset, s) for s in range(1, args.seeds + 1)]
        keys = per_seed[0].keys()
        results[preset.stem] = {
            "per_seed": per_seed,
            "median": {k: float(np.median([r[k] for r in per_seed])) for k in keys},
            "min": {k: float(np.min([r[k] for r in per_seed])) for k in keys},
            "max": {k: float(np.max([r[k] for r in per_seed])) for k in keys}}
        print(preset.stem, json.dumps(results[preset.stem]["median"]), flush=True)
    doc = {"benchmark": "scenarios", "date": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "machine": platform.platform(), "cpus": os.cpu_count(),
        "load_start": load0, "load_end": os.getloadavg()[0],
        "seeds": list(range(1, args.seeds + 1)), "rows_per_world": ROWS,
        "seconds": round(time.perf_counter() - t0, 1), "scenarios": results}
    Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
