"""The backtest's OUT.json: every number, per origin and pooled, per target and method.

The layout is the contract external checks read (docs/backtest.md):
`{"targets": {t: {"pooled": {method: {metric: value}}, "origins": [{"origin": "YYYY-MM",
method: {...}, ...}], "differences": {...}, "reliability": {...}, "importance": {...}}}}`,
plus `"headroom"` (oracle minus each method) per target on synthetic worlds.
Numbers are rounded to 6 decimals and undefined ones (a ratio over nothing) are null, so
the file is plain JSON and the same config gives the same bytes: nothing in it depends on
the clock, the machine or the run folder.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from riskmodel import __version__
from riskmodel.backtest.bootstrap import bootstrap_replicates, differences, visited_units
from riskmodel.backtest.metrics import BETTER, forecast_metrics
from riskmodel.backtest.runner import BacktestRun, importance_by_domain
from riskmodel.backtest.verdict import backtest_verdict
from riskmodel.config import ModelConfig, config_hash

DIGITS = 6
METHOD_MEANING = {
    "model": "the engine's calibrated LightGBM ensemble, retrained at each origin",
    "persistence": "each area's historical label rate over the training months",
    "logistic": "scikit-learn logistic regression on the same features and rows",
    "composite": "equal-weight index of standardised drivers (signs from training), "
                 "mapped to a probability",
    "oracle": "the synthetic world's true probability of an identified case in (t, t+H]",
}
METRIC_MEANING = {
    "auc": "ROC area: chance a random positive area-month outranks a random negative",
    "pr_auc": "area under the precision-recall curve (average precision)",
    "brier": "mean squared error of the probability",
    "brier_skill": "1 - Brier / Brier of the historical rate",
    "log_loss": "mean negative log-likelihood (natural log)",
    "ece": "expected calibration error over equal-mass bins",
    "precision_at_budget": "share of the top-k areas per month with a case in (t, t+H]",
    "recall_at_budget": "share of area-months with a case that were in the top k",
    "hit_rate": "areas whose first case was preceded by an alert within H months / areas "
                "with a case",
    "false_alarm_rate": "alerted areas without a case / areas without a case",
    "false_alarm_ratio": "alerted areas without a case / alerted areas",
    "lead_time_months": "mean months from an area's first alert to its first case (hits)",
}


def clean(obj: Any) -> Any:
    """`obj` with floats rounded to `DIGITS` decimals and NaN/inf as None (plain JSON)."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return round(v, DIGITS) if math.isfinite(v) else None
    return obj


# [model] keys that do not change what is learned (threads: LightGBM is run deterministic;
# registry: where nightly models are written).
NOT_MODEL = ("threads", "registry")


def deployed_differences(judged: ModelConfig, deployed: ModelConfig, source: str
                         ) -> dict[str, Any]:
    """Where the backtest's `[model]` differs from the one the nightly run deploys (read
    from `source`): {"config", "same", "differences": {key: {"backtest", "deployed"}}}."""
    a, b = judged.model_dump(mode="json"), deployed.model_dump(mode="json")
    diff = {k: {"backtest": a[k], "deployed": b[k]} for k in a
            if k not in NOT_MODEL and a[k] != b[k]}
    return {"config": source, "same": not diff, "differences": diff}


def backtest_json(run: BacktestRun, deployed: tuple[ModelConfig, str] | None = None
                  ) -> dict[str, Any]:
    """The OUT.json document of `run` (bootstrap included; deterministic for a config).

    `deployed`: the `[model]` section the nightly run deploys and the file it came from;
    the document then says where the backtest's settings differ from it."""
    cfg = run.cfg
    bt = cfg.backtest
    targets: dict[str, Any] = {}
    for target, res in run.targets.items():
        y = res.pooled("y")
        ref = res.pooled("reference")
        pooled, reliability = {}, {}
        for m in run.methods:
            pooled[m], reliability[m] = forecast_metrics(y, res.pooled(m), ref, res.tally[m],
                                                         bt.reliability_bins)
        reps = bootstrap_replicates(
            y, {m: res.pooled(m) for m in run.methods}, res.pooled("cluster"),
            res.pooled("group"), budget=bt.budget, n_boot=bt.bootstrap,
            seed=bt.bootstrap_seed)
        targets[target] = {"pooled": pooled, "origins": res.origins,
                           "differences": differences(reps, "model"),
                           "visited_units": visited_units(reps),
                           "reliability": reliability,
                           "importance": importance_by_domain(res, run.features),
                           "rows": len(y), "positives": int(y.sum())}
        if "oracle" in run.methods:
            # How far the best possible forecast is from each method, on the same
            # replicates: the room a model has to beat a baseline, and whether a lead of
            # that size would be detectable at all.
            targets[target]["headroom"] = differences(reps, "oracle")
    doc = {
        "title": "riskmodel rolling-origin backtest",
        "synthetic": run.synthetic,
        "note": run.note,
        "config_hash": config_hash(cfg),
        "code_version": __version__,
        "seed": cfg.seed,
        "horizon": cfg.model.horizon,
        "settings": bt.model_dump(mode="json"),
        "origins": [o.label for o in run.origins],
        "areas": len(run.cells),
        "area": "grid cell (land); bootstrap resamples admin-1 units",
        "methods": {m: METHOD_MEANING[m] for m in run.methods},
        "metrics": {k: {"meaning": v, "better": BETTER[k]} for k, v in METRIC_MEANING.items()},
        "differences_meaning": "model minus baseline on pooled rows; lo/hi: percentile "
                               "interval of the cluster bootstrap over admin-1 units, the "
                               "top-k at budget re-selected in every replicate; degenerate: "
                               "the interval has zero width (never counted as excluding "
                               "zero)",
        "visited_units_meaning": "distinct admin-1 units holding the areas visited at "
                                 "budget: on all rows, and the smallest and median over "
                                 "the bootstrap replicates",
        "targets": targets,
    }
    if run.seeds:
        # Several worlds pooled: each origin row names its seed, and bootstrap units are
        # the admin-1 units of every world.
        doc["seeds"] = list(run.seeds)
        doc["scenario"] = cfg.world.scenario
    if "oracle" in run.methods:
        doc["headroom_meaning"] = ("oracle minus each method (synthetic worlds only): the "
                                   "same estimate and bootstrap replicates as the differences")
    if deployed is not None:
        doc["deployed_model"] = deployed_differences(cfg.model, *deployed)
    doc = clean(doc)
    doc["verdict"] = backtest_verdict(doc)
    return doc
