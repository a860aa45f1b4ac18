"""Compiled inference (tl2cgen) vs LightGBM's native `predict`, on a model like ours.

Usage: python benchmarks/inference.py [--rows 2000000] [--trees 200] [--json OUT.json]
       [--model-dir models/fl-...]

Two measurements: a seeded synthetic model larger than the demo's (45 features,
`--trees` trees of 63 leaves, trained on 200k rows with the estimator's LightGBM
parameters) scored on `--rows` rows, and each registered member of `--model-dir` (a demo
model) on the same number of rows. For each: native raw-score predict (2 threads),
tl2cgen compile time (reported apart, it is paid once per model file), compiled predict
end to end (array -> DMatrix -> margins), the speed-up and the largest absolute
difference of the raw scores. Compile and predict go through `riskmodel.scale.inference`,
the code the pipeline uses.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from riskmodel.scale.inference import compile_booster

THREADS = 2


def synthetic_booster(n_features: int, trees: int, seed: int = 0) -> lgb.Booster:
    """A binary LightGBM model of `trees` trees with 63 leaves on seeded data."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200_000, n_features)).astype(np.float32)
    logit = X[:, 0] * X[:, 1] + np.sin(3 * X[:, 2]) + 0.5 * X[:, 3:8].sum(1) - 2
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    params = {"objective": "binary", "num_leaves": 63, "learning_rate": 0.05,
              "min_child_samples": 50, "feature_fraction": 0.8, "max_bin": 63,
              "num_threads": THREADS, "deterministic": True, "force_row_wise": True,
              "seed": seed, "verbose": -1}
    return lgb.train(params, lgb.Dataset(X, y), num_boost_round=trees)


def rows_like(n: int, n_features: int, seed: int = 1) -> np.ndarray:
    """(n, F) float32 scoring rows with 2% missing values (sea-edge features are NaN)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features)).astype(np.float32)
    X[rng.random(X.shape) < 0.02] = np.nan
    return X


def measure(booster: lgb.Booster, X: np.ndarray, workdir: Path, label: str,
            best_iteration: int | None = None) -> dict[str, float | str | int]:
    """Native vs compiled timings and the largest raw-score difference for one booster."""
    t, c = time.perf_counter(), time.process_time()
    native = booster.predict(X, raw_score=True, num_iteration=best_iteration,
                             num_threads=THREADS)
    native_s, native_cpu = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter()
    predictor = compile_booster(booster, workdir, best_iteration=best_iteration,
                                threads=THREADS)
    compile_s = time.perf_counter() - t
    if predictor is None:
        raise SystemExit("tl2cgen or a C compiler is missing: nothing to compare")
    predictor.raw_score(X[:1000])  # load the shared library outside the timing
    t, c = time.perf_counter(), time.process_time()
    compiled = predictor.raw_score(X)
    compiled_s, compiled_cpu = time.perf_counter() - t, time.process_time() - c
    return {"model": label, "rows": len(X), "features": X.shape[1],
            "trees": booster.num_trees() if best_iteration is None else best_iteration,
            "native_s": round(native_s, 3), "compile_s": round(compile_s, 2),
            "compiled_s": round(compiled_s, 3), "speedup": round(native_s / compiled_s, 2),
            # CPU seconds: on a shared machine wall time depends on the neighbours' load.
            "native_cpu_s": round(native_cpu, 3), "compiled_cpu_s": round(compiled_cpu, 3),
            "cpu_speedup": round(native_cpu / compiled_cpu, 2),
            "max_abs_diff": float(np.max(np.abs(native - compiled)))}


def main() -> int:
    """Run the measurements and print (and optionally write) one JSON record per model."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--features", type=int, default=45)
    ap.add_argument("--model-dir", type=Path, help="a registered model folder to measure too")
    ap.add_argument("--json", type=Path, help="write the records here")
    args = ap.parse_args()
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        booster = synthetic_booster(args.features, args.trees)
        records.append(measure(booster, rows_like(args.rows, args.features), Path(tmp),
                               f"synthetic {args.features}f x {args.trees} trees x 63 leaves"))
        print(json.dumps(records[-1]), flush=True)
        if args.model_dir:
            meta = json.loads((args.model_dir / "model.json").read_text())
            X = rows_like(args.rows, len(meta["features"]))
            for m in meta["members"]:
                b = lgb.Booster(model_file=str(args.model_dir / m["file"]))
                records.append(measure(b, X, Path(tmp), f"{args.model_dir.name}/{m['file']}",
                                       best_iteration=int(m["best_iteration"])))
                print(json.dumps(records[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "inference", "threads": THREADS,
                                         "records": records}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
