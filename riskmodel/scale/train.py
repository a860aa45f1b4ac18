"""Training one LightGBM booster on a Dask cluster with `lightgbm.dask`.

The training table is split into row partitions that live on the workers; LightGBM's own
distributed mode (data-parallel, sockets between workers) grows each tree from histograms
merged across partitions, so the model matches single-process training up to the
histogram binning of each partition. No scheduling of ours: `lightgbm.dask` does it.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np


def fit_booster_dask(client: Any, X: np.ndarray, y: np.ndarray, weight: np.ndarray,
                     params: dict[str, Any], n_estimators: int, *,
                     partitions: int | None = None) -> lgb.Booster:
    """Fit a binary booster with `params` (the estimator's LightGBM parameters) on `client`.

    `X` (n, F) float32, `y` (n,) 0/1, `weight` (n,); the rows are cut into `partitions`
    chunks (default: one per worker) scattered to the workers. Returns the fitted booster,
    which predicts in this process like any other.
    """
    import dask.array as da

    workers = len(client.scheduler_info()["workers"])
    n_parts = partitions or max(workers, 1)
    rows = -(-len(y) // n_parts)
    dX = da.from_array(np.asarray(X, np.float32), chunks=(rows, X.shape[1]))
    dy = da.from_array(np.asarray(y, np.float32), chunks=rows)
    dw = da.from_array(np.asarray(weight, np.float64), chunks=rows)
    # Threads per worker come from the cluster (one each under `--dask local`); the
    # single-process `num_threads` would oversubscribe the workers' cores.
    kwargs = {k: v for k, v in params.items() if k not in ("num_threads", "objective")}
    clf = lgb.DaskLGBMClassifier(client=client, objective="binary",
                                 n_estimators=n_estimators, **kwargs)
    clf.fit(dX, dy, sample_weight=dw)
    return clf.booster_
