"""`lightgbm.dask` training vs single-process training on the same table: held-out AUC.

Usage: python benchmarks/dask_training.py [--config configs/demo.toml] [--json OUT.json]

For each target: the training table of the config's world (as `riskmodel train` builds
it), the estimator's fit fold for fitting and its calibration fold (later months, never
seen in fitting) for a weighted ROC AUC; one booster of `n_estimators` trees fitted with
`lightgbm.train` in this process and one with `lightgbm.dask` on a LocalCluster of 2
worker processes. The target: Dask within 0.005 AUC of single-process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import features
from riskmodel.config import load_config
from riskmodel.models.estimator import RiskModel
from riskmodel.models.fitting import training_months, training_table
from riskmodel.models.folds import time_folds
from riskmodel.scale.cluster import connect
from riskmodel.scale.train import fit_booster_dask
from riskmodel.world import make_world


def main() -> int:
    """Fit both ways per target and print (and optionally write) the AUCs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/demo.toml")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    cfg = load_config(args.config)
    t = time.perf_counter()
    inputs = make_world(cfg.world, cfg.seed)
    cube = features.build_cube(inputs)
    print(f"world + features {time.perf_counter() - t:.0f} s", flush=True)
    names = tuple(cube.data_vars)
    months = training_months(inputs.sizes["time"], cfg.model.horizon)
    records = []
    with connect("local", n_workers=2) as client:
        for target in cfg.targets:
            table = training_table(cfg, inputs, cube, target, names, months)
            folds = time_folds(table.month, cfg.model.horizon, cfg.model.calibration_months)
            fit = np.isin(table.month, folds.fit)
            test = np.isin(table.month, folds.calibration)
            params = RiskModel(learning_rate=cfg.model.learning_rate,
                               num_leaves=cfg.model.num_leaves,
                               min_child_samples=cfg.model.min_child_samples,
                               ensemble=1, threads=2).lgb_params(0)
            n = cfg.model.n_estimators
            t = time.perf_counter()
            single = lgb.train(params, lgb.Dataset(table.X[fit], table.y[fit],
                                                   weight=table.weight[fit]), n)
            single_s = time.perf_counter() - t
            t = time.perf_counter()
            dist = fit_booster_dask(client, table.X[fit], table.y[fit], table.weight[fit],
                                    params, n)
            dask_s = time.perf_counter() - t
            y, w = table.y[test], table.weight[test]
            auc = {k: float(roc_auc_score(y, b.predict(table.X[test]), sample_weight=w))
                   for k, b in (("single", single), ("dask", dist))}
            rec = {"target": target, "fit_rows": int(fit.sum()), "test_rows": int(test.sum()),
                   "trees": n, "auc_single": round(auc["single"], 4),
                   "auc_dask": round(auc["dask"], 4),
                   "auc_diff": round(auc["dask"] - auc["single"], 4),
                   "single_s": round(single_s, 1), "dask_s": round(dask_s, 1)}
            records.append(rec)
            print(json.dumps(rec), flush=True)
        client.cluster.close()
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "dask_training", "config": args.config,
                                         "workers": 2, "records": records}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
