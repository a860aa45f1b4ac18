"""Run a backtest: at each origin retrain the model and the baselines on what was known, and
score every method on the months up to the next origin.

The model is the engine's own `RiskModel`, built by the training stage's functions
(`riskmodel.models.fitting`: `training_table`, `fit_model`) with the config's `[model]`
section, so the backtest judges what `riskmodel run` deploys. Two deliberate differences
from nightly scoring: the test rows keep each area's actual inspection coverage (the
backtest is judged on *identified* cases, which depend on it; nightly scores fix coverage
at a reference level), and no model is written to the registry. Memory per origin is
bounded by the test months' rows; only the pooled outcomes and probabilities (one float
per row and method) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from threadpoolctl import threadpool_limits

from features import CATALOGUE
from riskmodel.backtest.baselines import (
    fit_composite,
    fit_logistic,
    oracle_probability,
    persistence_rates,
    predict_logistic,
)
from riskmodel.backtest.config import BacktestConfig
from riskmodel.backtest.metrics import (
    Tally,
    alert_tally,
    budget_tally,
    budget_visits,
    forecast_metrics,
)
from riskmodel.backtest.origins import Origin, check_training_window, plan_origins
from riskmodel.contract import month_starts
from riskmodel.errors import InputError
from riskmodel.models.fitting import fit_model, training_table
from riskmodel.models.labels import future_label
from riskmodel.models.table import feature_rows, land_cells
from riskmodel.pipeline import RunContext, build_features, load_world, month_label
from riskmodel.progress import Progress

METHODS = ("model", "persistence", "logistic", "composite", "oracle")


@dataclass
class TargetResult:
    """One target's backtest: per-origin numbers and the pooled rows behind the pooled ones."""

    origins: list[dict[str, Any]] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)            # per origin, (T*n,)
    preds: dict[str, list[np.ndarray]] = field(default_factory=dict)
    reference: list[np.ndarray] = field(default_factory=list)    # historical rate per row
    cluster: list[np.ndarray] = field(default_factory=list)      # bootstrap unit per row
    group: list[np.ndarray] = field(default_factory=list)        # scored month per row
    tally: dict[str, Tally] = field(default_factory=dict)
    contrib_sum: np.ndarray | None = None    # sum over explained rows of |contribution|
    contrib_rows: int = 0
    last_maps: dict[str, np.ndarray] = field(default_factory=dict)  # (n_cells,) last origin

    def pooled(self, name: str) -> np.ndarray:
        """Pooled rows of method `name` (or "y", "reference") over every origin."""
        if name == "y":
            return np.concatenate(self.y)
        if name in ("reference", "cluster", "group"):
            return np.concatenate(getattr(self, name))
        return np.concatenate(self.preds[name])


@dataclass
class BacktestRun:
    """What `run_backtest` returns: config, origins, world facts and per-target results."""

    cfg: BacktestConfig
    origins: list[Origin]
    methods: tuple[str, ...]
    features: tuple[str, ...]
    synthetic: bool
    note: str
    cells: np.ndarray               # flat indices of the land cells (the areas)
    cluster: np.ndarray             # admin-1 id of each area (bootstrap clusters)
    grid: xr.Dataset                # lat, lon and country_id, for maps
    targets: dict[str, TargetResult]
    timings: dict[str, float]
    seeds: tuple[int, ...] = ()     # the worlds pooled (`pool_worlds`); () for one world


def run_backtest(cfg: BacktestConfig, *, source: str,
                 progress: Progress | None = None) -> BacktestRun:
    """Run the backtest of `cfg` (read from `source`, named in errors) and return it."""
    progress = progress or Progress(quiet=True)
    # Origins are checked against the world's months before the world is built, so a bad
    # `[backtest]` section fails in a moment, not after the world and the cube.
    months = [str(m)[:7] for m in month_starts(cfg.world.start_year, cfg.world.n_months)]
    origins = plan_origins(cfg.backtest, months, cfg.model.horizon,
                           cfg.model.calibration_months, source=source)
    ctx = RunContext(cfg=cfg, config_path=source, progress=progress, out_root=Path("."))
    inputs = load_world(ctx)
    cube = build_features(ctx, inputs)
    names = tuple(str(v) for v in cube.data_vars)
    if [month_label(inputs, i) for i in range(inputs.sizes["time"])] != months:
        raise InputError("the world's time axis differs from [world] start_year/n_months")
    synthetic = bool(inputs.attrs.get("synthetic", 0))
    methods = METHODS if synthetic else METHODS[:-1]
    cells = land_cells(inputs["country_id"].values)
    cluster = inputs["admin1_id"].values.ravel()[cells].astype(np.int64)
    results: dict[str, TargetResult] = {}
    # One level of parallelism: BLAS (scikit-learn baselines) gets the same thread budget
    # as LightGBM, so their thread pools never fight over the cores.
    with threadpool_limits(limits=cfg.model.threads):
        for target in cfg.targets:
            results[target] = _run_target(cfg, inputs, cube, names, target, origins, months,
                                          cells, cluster, methods, progress)
    grid = inputs[["country_id"]].copy()
    return BacktestRun(cfg=cfg, origins=origins, methods=methods, features=names,
                       synthetic=synthetic, note=str(inputs.attrs.get("comment", "")),
                       cells=cells, cluster=cluster, grid=grid, targets=results,
                       timings=dict(progress.timings))


def _run_target(cfg: BacktestConfig, inputs: xr.Dataset, cube: xr.Dataset,
                names: tuple[str, ...], target: str, origins: list[Origin], months: list[str],
                cells: np.ndarray, cluster: np.ndarray, methods: tuple[str, ...],
                progress: Progress) -> TargetResult:
    h = cfg.model.horizon
    if f"identified_{target}" not in inputs:
        raise InputError(f"target {target}: the inputs have no identified_{target} counts to "
                         f"build labels from (the synthetic world has them)")
    identified = inputs[f"identified_{target}"].values
    labels = future_label(identified, h)
    n_time = labels.shape[0]
    oracle = oracle_probability(inputs, target, h).reshape(n_time, -1) \
        if "oracle" in methods else None
    flat_labels = labels.reshape(n_time, -1)
    flat_identified = identified.reshape(n_time, -1)
    res = TargetResult(preds={m: [] for m in methods},
                       tally={m: Tally() for m in methods})
    bt = cfg.backtest
    for origin in origins:
        with progress.stage(f"{target} {origin.label}"):
            table = training_table(cfg, inputs, cube, target, names, origin.train_months)
            # The runner's own guard: the rows actually trained on, not just the plan.
            check_training_window(table.month, h, origin.index, origin.label)
            model = fit_model(cfg, table, target)
            logistic = fit_logistic(table, bt.logistic_c, cfg.model.threads)
            composite = fit_composite(table)
            persistence = persistence_rates(labels, origin.train_months, cells)
            reference = float(np.average(table.y, weights=table.weight))

            test = origin.test_months
            y = flat_labels[test][:, cells]
            if np.isnan(y).any():
                raise InputError(f"identified_{target}: missing counts in the label windows "
                                 f"of origin {origin.label}; the backtest needs complete labels")
            X = feature_rows(cube, names, test, cells)
            probs = {"model": model.predict_proba(X)[:, 1],
                     "persistence": np.tile(persistence, len(test)),
                     "logistic": predict_logistic(logistic, X),
                     "composite": composite.predict(X)}
            if oracle is not None:
                probs["oracle"] = oracle[test][:, cells].ravel()
            cases = flat_identified[origin.index + 1: test[-1] + h + 1][:, cells]
            row = {"origin": origin.label,
                   "train_months": [months[origin.train_months[0]],
                                    months[origin.train_months[-1]]],
                   "test_months": [months[test[0]], months[test[-1]]],
                   "training_rows": len(table.y), "test_rows": int(y.size),
                   "positives": int(y.sum()), "historical_rate": reference}
            for m in methods:
                p = probs[m].reshape(len(test), -1)
                visits = budget_visits(p, bt.budget)
                tally = budget_tally(y, visits) + alert_tally(p, cases, bt.alert_threshold, h)
                row[m], _ = forecast_metrics(y.ravel(), p.ravel(), reference, tally,
                                             bt.reliability_bins)
                res.tally[m] = res.tally[m] + tally
                res.preds[m].append(p.ravel())
            res.y.append(y.ravel())
            res.reference.append(np.full(y.size, reference))
            res.cluster.append(np.tile(cluster, len(test)))
            # every (origin, month) scored is its own budget
            first = sum(g.size for g in res.group) // len(cells)
            res.group.append(np.repeat(first + np.arange(len(test)), len(cells)))
            res.origins.append(row)
            _add_importance(res, model, X, cfg.seed + origin.index, bt.importance_rows)
            res.last_maps = {m: probs[m][:len(cells)] for m in methods}
    return res


def _add_importance(res: TargetResult, model: Any, X: np.ndarray, seed: int, n: int) -> None:
    # TreeSHAP is costly per row, so a fixed-size seeded sample of the test rows is explained.
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(X), size=min(n, len(X)), replace=False))
    contrib = np.abs(model.predict_contrib(X[rows])).sum(0)
    res.contrib_sum = contrib if res.contrib_sum is None else res.contrib_sum + contrib
    res.contrib_rows += len(rows)


def importance_by_domain(res: TargetResult, features: tuple[str, ...]) -> dict[str, Any]:
    """Mean |log-odds contribution| per feature and summed per catalogue domain."""
    if res.contrib_sum is None or res.contrib_rows == 0:
        return {"domains": {}, "features": {}}
    mean = res.contrib_sum / res.contrib_rows
    per_feature = {f: float(v) for f, v in zip(features, mean)}
    domains: dict[str, float] = {}
    for f, v in per_feature.items():
        d = CATALOGUE[f].domain if f in CATALOGUE else "other"
        domains[d] = domains.get(d, 0.0) + v
    return {"domains": domains, "features": per_feature}


def pool_worlds(runs: list[BacktestRun], seeds: list[int]) -> BacktestRun:
    """One backtest of the worlds of `seeds` (one `run_backtest` each, same config but the
    seed): rows, tallies and importance pooled; bootstrap units and budget groups kept
    apart per world (a world's admin-1 unit 3 is not another's); every origin row names
    its seed. Maps and the grid are the last world's."""
    if len(runs) != len(seeds) or not runs:
        raise ValueError("pool_worlds: one run per seed")
    first = runs[0]
    targets: dict[str, TargetResult] = {}
    for target in first.targets:
        pooled = TargetResult(preds={m: [] for m in first.methods},
                              tally={m: Tally() for m in first.methods})
        unit_offset = group_offset = 0
        for seed, run in zip(seeds, runs):
            res = run.targets[target]
            pooled.origins += [{"seed": seed, **o} for o in res.origins]
            pooled.y += res.y
            pooled.reference += res.reference
            for m in first.methods:
                pooled.preds[m] += res.preds[m]
                pooled.tally[m] = pooled.tally[m] + res.tally[m]
            pooled.cluster += [c + unit_offset for c in res.cluster]
            pooled.group += [g + group_offset for g in res.group]
            unit_offset += int(max(c.max() for c in res.cluster)) + 1
            group_offset += int(max(g.max() for g in res.group)) + 1
            if res.contrib_sum is not None:
                pooled.contrib_sum = (res.contrib_sum if pooled.contrib_sum is None
                                      else pooled.contrib_sum + res.contrib_sum)
            pooled.contrib_rows += res.contrib_rows
            pooled.last_maps = res.last_maps
        targets[target] = pooled
    last = runs[-1]
    timings: dict[str, float] = {}
    for run in runs:
        for k, v in run.timings.items():
            timings[k] = timings.get(k, 0.0) + v
    return BacktestRun(cfg=first.cfg, origins=first.origins, methods=first.methods,
                       features=first.features, synthetic=all(r.synthetic for r in runs),
                       note=first.note, cells=last.cells, cluster=last.cluster,
                       grid=last.grid, targets=targets, timings=timings,
                       seeds=tuple(int(s) for s in seeds))


def run_backtest_worlds(cfg: BacktestConfig, seeds: list[int], *, source: str,
                        progress: Progress | None = None) -> BacktestRun:
    """`run_backtest` on the world of every seed in `seeds` (synthetic worlds only), then
    `pool_worlds`."""
    if cfg.sources is not None:
        raise InputError(f"{source}: --seeds regenerates the synthetic world per seed; "
                         f"this config reads real data ([sources])")
    runs = []
    for seed in seeds:
        if progress is not None:
            progress.note(f"backtest world seed {seed}")
        runs.append(run_backtest(cfg.model_copy(update={"seed": int(seed)}), source=source,
                                 progress=progress))
    return pool_worlds(runs, list(seeds))
