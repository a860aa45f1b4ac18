"""The nightly pipeline: world -> features -> models -> checks -> (backfill) -> score ->
alerts -> targeting -> report, into one run folder with a manifest.

Every stage composes functions of `features`, `riskmodel.models`, `riskmodel.alerts` and
`riskmodel.targeting`; nothing here computes a feature or a kernel. Files are written
atomically; the same inputs, config and model give a byte-identical `risk.nc`.

Two ways to score, one output: in memory (the whole feature cube, for worlds that fit) or
block-wise (`riskmodel.scale`), when the config names a Zarr store in `[scale] inputs` or
a Dask client is given. Block-wise, the features exist only inside each spatial block, so
the scores of every month a run needs (as-of and alert backfill) are computed in one pass
over the blocks, and the feature checks (coverage, drift) read the as-of month's features
the blocks hand back; nothing is written before the checks pass, as in memory.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

import features
from features import WARMUP_MONTHS
from riskmodel import __version__
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.rules import load_rules
from riskmodel.checks import CheckReport, run_checks
from riskmodel.checks.coverage import check_coverage
from riskmodel.checks.drift import KEY, check_drift
from riskmodel.checks.reader import open_inputs
from riskmodel.config import RunConfig, config_hash, load_config
from riskmodel.errors import InputError, ModelError
from riskmodel.faults import kill_point
from riskmodel.io.atomic import json_text, write_json, write_with
from riskmodel.models.registry import RegisteredModel, model_dir
from riskmodel.models.table import land_cells
from riskmodel.ops.backfill import months_to_backfill
from riskmodel.progress import Progress, peak_rss_mib
from riskmodel.scale import store
from riskmodel.scale.score import assemble, iter_block_scores, merge_blocks
from riskmodel.scoring import DriverRule, admin1_sample, score_month
from riskmodel.sources import load_inputs
from riskmodel.training import ensure_model, model_id
from riskmodel.world import SYNTHETIC_NOTE, make_world


@dataclass
class RunContext:
    """What the stages share: config, where outputs go, progress, and what they made."""

    cfg: RunConfig
    config_path: str
    progress: Progress
    out_root: Path
    inputs_path: Path | None = None
    inputs: xr.Dataset | None = None
    cube: xr.Dataset | None = None
    models: dict[str, RegisteredModel] = field(default_factory=dict)
    trained: dict[str, bool] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None
    as_of: str | None = None
    checks: CheckReport | None = None
    backfilled: list[str] = field(default_factory=list)
    # `--dask` (local or tcp://HOST:PORT) and its client, set while a run holds it; with
    # either, blocks run as Dask tasks (None: in this process)
    dask: str | None = None
    client: Any = None
    # registry folder of each target's model (what Dask workers load)
    model_folders: dict[str, str] = field(default_factory=dict)
    # block-wise only: risk datasets scored ahead, and the as-of month's raw features of
    # the land cells (for the feature checks), by time index
    scored: dict[int, xr.Dataset] = field(default_factory=dict)
    month_features: dict[int, np.ndarray] = field(default_factory=dict)
    # the run's driver rule, read once (it may read the alert rules file)
    drivers: DriverRule | None = None

    @property
    def blockwise(self) -> bool:
        """Score in spatial blocks: inputs in a Zarr store, or a Dask cluster to use."""
        return bool(self.cfg.scale.inputs) or self.dask is not None


def month_label(inputs: xr.Dataset, index: int) -> str:
    """YYYY-MM of time index `index`."""
    return str(pd.Timestamp(inputs["time"].values[index]).strftime("%Y-%m"))


def month_index(inputs: xr.Dataset, as_of: str | None) -> int:
    """Time index of `as_of` (YYYY-MM), or of the latest month when None."""
    if as_of is None:
        return inputs.sizes["time"] - 1
    labels = [month_label(inputs, i) for i in range(inputs.sizes["time"])]
    if as_of not in labels:
        raise InputError(f"--as-of {as_of}: not in the inputs, which cover {labels[0]} to "
                         f"{labels[-1]}")
    return labels.index(as_of)


def load_world(ctx: RunContext) -> xr.Dataset:
    """Stage `world`: the canonical inputs: the NetCDF file given with `--inputs`, else the
    config's `[sources]`, else the seeded synthetic world."""
    with ctx.progress.stage("world"):
        if ctx.inputs_path is not None:
            ctx.inputs = open_inputs(ctx.inputs_path)
        elif ctx.cfg.scale.inputs:
            path = Path(ctx.cfg.scale.inputs)
            if not (path / ".zmetadata").is_file():
                raise InputError(f"{ctx.config_path}: [scale] inputs {path}: no Zarr store "
                                 f"there; write it with `riskmodel store --config "
                                 f"{ctx.config_path}`")
            ctx.inputs = store.open_inputs(path)  # lazy: blocks read their own chunks
        elif ctx.cfg.sources is not None:
            ctx.inputs = load_inputs(ctx.cfg)
            missing = [f"identified_{t}" for t in ctx.cfg.targets
                       if f"identified_{t}" not in ctx.inputs]
            if missing:
                # Real sources carry no case records yet; say so rather than score nothing.
                raise InputError(f"{ctx.config_path}: the [sources] give no identified-case "
                                 f"labels {missing}, which the cell-level models train on; "
                                 f"use `riskmodel features build` or `riskmodel countries` "
                                 f"for country-level data")
        else:
            ctx.inputs = make_world(ctx.cfg.world, ctx.cfg.seed)
    return ctx.inputs


def build_features(ctx: RunContext) -> xr.Dataset:
    """Stage `features`: the whole feature cube from the catalogue, in memory (a block-wise
    run skips it: each block builds its own)."""
    assert ctx.inputs is not None
    with ctx.progress.stage("features"):
        ctx.cube = features.build_cube(ctx.inputs)
    return ctx.cube


def model_config(ctx: RunContext) -> RunConfig:
    """The config whose registered models score this run: `[scale] models_from`, else the
    run's own."""
    source = ctx.cfg.scale.models_from
    return load_config(source) if source else ctx.cfg


def get_models(ctx: RunContext, *, retrain: bool = False, train_missing: bool = True) -> None:
    """Stage `models`: load the registered model per target, or train it.

    With `[scale] models_from` the models of that config are loaded (their feature list
    must equal this world's) and nothing is trained. Block-wise, the whole feature cube is
    built only when a model has to be trained.
    """
    inputs = ctx.inputs
    assert inputs is not None
    owner = model_config(ctx)
    borrowed = owner is not ctx.cfg
    if borrowed and retrain:
        raise ModelError(f"{ctx.config_path}: --retrain with [scale] models_from = "
                         f"{ctx.cfg.scale.models_from!r}: the models belong to that config; "
                         f"train them there")
    if ctx.cube is None and (retrain or (train_missing and not borrowed
                                         and not models_registered(ctx, owner))):
        with ctx.progress.stage("features"):
            ctx.cube = features.build_cube(inputs)
    # Finding a registered model needs only the feature names, not their values.
    cube = ctx.cube if ctx.cube is not None else _names_only(inputs)
    with ctx.progress.stage("models"):
        for target in ctx.cfg.targets:
            registered, trained = ensure_model(
                owner, inputs, cube, target, retrain=retrain,
                train=train_missing and not borrowed,
                time_label=lambda i: month_label(inputs, i))
            ctx.models[target] = registered
            ctx.trained[target] = trained
            ctx.model_folders[target] = str(registered.folder)
            verb = "trained" if trained else "loaded"
            source = f" (registered for {ctx.cfg.scale.models_from})" if borrowed else ""
            ctx.progress.note(f"{verb} {target} model {registered.model_id}{source}")


def _names_only(inputs: xr.Dataset) -> xr.Dataset:
    """A cube holding only the names of the features the inputs allow (scalar NaNs)."""
    names, _ = features.plan_features(inputs)
    return xr.Dataset({n: ((), np.float32(np.nan)) for n in names})


def models_registered(ctx: RunContext, owner: RunConfig) -> bool:
    """Whether every target's model is in the registry of `owner` for these inputs."""
    assert ctx.inputs is not None
    names = tuple(str(n) for n in _names_only(ctx.inputs).data_vars)
    return all(model_dir(owner.model.registry, t, model_id(owner, t, names)).exists()
               for t in ctx.cfg.targets)


def driver_rule(cfg: RunConfig) -> DriverRule:
    """The config's driver rule: `[drivers] min_risk`, else the alert rules' floor, so
    every cell that can reach an alert has its drivers; `admin1_sample` cells per unit."""
    min_risk = cfg.drivers.min_risk
    if min_risk is None:
        rules = load_rules(cfg.alerts.rules)
        min_risk = rules.hold_floor()
    return DriverRule(min_risk=min_risk, admin1_sample=cfg.drivers.admin1_sample,
                      seed=cfg.seed)


def run_driver_rule(ctx: RunContext) -> DriverRule:
    """The run's driver rule (`driver_rule` of its config), built on first use."""
    if ctx.drivers is None:
        ctx.drivers = driver_rule(ctx.cfg)
    return ctx.drivers


def risk_attrs(ctx: RunContext, month: int) -> dict[str, Any]:
    """Provenance attrs of the risk dataset of time index `month`."""
    assert ctx.inputs is not None
    cfg = ctx.cfg
    return {
        "synthetic": int(ctx.inputs.attrs.get("synthetic", 0)),
        "comment": SYNTHETIC_NOTE if ctx.inputs.attrs.get("synthetic") else "",
        "as_of": month_label(ctx.inputs, month), "horizon": cfg.model.horizon,
        "config_hash": config_hash(cfg), "code_version": __version__,
        "source": "riskmodel " + __version__,
        **{f"model_id_{t}": m.model_id for t, m in ctx.models.items()},
    }


def risk_for(ctx: RunContext, month: int) -> xr.Dataset:
    """The risk dataset of time index `month` with provenance attrs (nothing written):
    from the cube in memory, or block-wise (scored ahead by `score_blocks`, else now)."""
    assert ctx.inputs is not None
    if ctx.blockwise:
        if month not in ctx.scored:
            score_blocks(ctx, [month])
        return ctx.scored.pop(month)
    assert ctx.cube is not None
    return score_month(ctx.models, ctx.inputs, ctx.cube, month, risk_attrs(ctx, month),
                       run_driver_rule(ctx))


def score_blocks(ctx: RunContext, months: list[int]) -> None:
    """Score time indices `months` block-wise in one pass (each block's features built
    once), on `ctx.client` when set; keep the risk datasets in `ctx.scored` and the last
    month's raw land-cell features in `ctx.month_features` for the feature checks."""
    assert ctx.inputs is not None
    cfg = ctx.cfg
    rule = run_driver_rule(ctx)
    # drawn once for the blocks and every month assembled (seconds on a global grid)
    sample = admin1_sample(ctx.inputs["admin1_id"].values, rule)
    results = list(iter_block_scores(
        ctx.models, ctx.inputs, months, rule=rule, block=cfg.scale.block, client=ctx.client,
        folders=ctx.model_folders, inference=cfg.scale.inference,
        cache_dir=cfg.scale.compiled_cache, keep_features=True, sample=sample))
    land = land_cells(ctx.inputs["country_id"].values)
    for month in months:
        ctx.scored[month] = assemble(ctx.models, ctx.inputs, month, risk_attrs(ctx, month),
                                     results, rule, sample)
    _, values = merge_blocks(results, land, months[-1])
    assert values is not None  # the blocks were asked to keep them
    ctx.month_features[months[-1]] = values


def months_needed(ctx: RunContext, month: int) -> list[int]:
    """Time indices a run scores: the alert backfill's (oldest first), then `month`."""
    assert ctx.inputs is not None
    if not ctx.cfg.alerts.enabled:
        return [month]
    labels = [month_label(ctx.inputs, i) for i in range(ctx.inputs.sizes["time"])]
    return months_to_backfill(ctx.cfg.alerts, labels, month,
                              first_usable=WARMUP_MONTHS) + [month]


def score(ctx: RunContext, run_dir: Path, month: int) -> xr.Dataset:
    """Stage `score`: the risk dataset for `month`, written as `risk.nc`."""
    with ctx.progress.stage("score"):
        risk = risk_for(ctx, month)

        def write(p: Path) -> None:
            risk.to_netcdf(p, engine="netcdf4")
            kill_point("write:risk.nc")  # test hook: bytes written, not yet renamed

        write_with(run_dir / "risk.nc", write)
        ctx.outputs["risk"] = "risk.nc"
    return risk


def check_inputs(ctx: RunContext, run_dir: Path, month: int,
                 overrides: tuple[str, ...] = ()) -> CheckReport:
    """Stage `checks`: schema, freshness, coverage and drift before anything is scored.

    Writes `checks.json` in the run folder either way; raises the matching error (exit
    code 2, 3 or 4) when a check fails that no override in `overrides` lets through.
    """
    assert ctx.inputs is not None
    inputs = ctx.inputs
    if ctx.blockwise and month not in ctx.month_features:
        with ctx.progress.stage("blocks"):  # features and scores, block by block
            score_blocks(ctx, months_needed(ctx, month))
    with ctx.progress.stage("checks"):
        if ctx.cfg.checks.enabled:
            report = run_checks(inputs, ctx.cube, month, month_label(inputs, month),
                                ctx.cfg.checks, metas=[m.meta for m in ctx.models.values()],
                                time_label=lambda i: month_label(inputs, i),
                                overrides=overrides)
            if ctx.cube is None and not report.failures():
                _feature_checks(report, ctx.month_features.pop(month),
                                [m.meta for m in ctx.models.values()],
                                next(iter(ctx.models.values())).features,
                                ctx.cfg)
        else:
            report = CheckReport(as_of=month_label(inputs, month), overrides=list(overrides),
                                 notes=["input checks disabled by [checks] enabled = false"])
        ctx.checks = report
        write_json(run_dir / "checks.json", report.to_dict())
        for f in report.warnings():
            ctx.progress.event("check", level="warning", kind=f.kind, subject=f.subject,
                               status=f.status, message=f.message)
        failed = report.failures(overridden=False)
        for f in failed:
            ctx.progress.event("check", level="error", kind=f.kind, subject=f.subject,
                               status=f.status, message=f.message)
        report.raise_for(str(run_dir / "checks.json"))
    return report


def _feature_checks(report: CheckReport, values: np.ndarray, metas: list[dict[str, Any]],
                    names: tuple[str, ...], cfg: RunConfig) -> None:
    """Coverage and drift of the as-of month's features when they were built block by
    block: `values` (land cells, F) raw features, checked as a one-month cube whose
    cells are all land, against the training distribution saved with the model."""
    ref = next((m[KEY] for m in metas if KEY in m), None)
    if ref is None:
        report.notes.append(f"training distribution: none in the model metadata ({KEY}); "
                            f"feature coverage and drift not checked block-wise")
        return
    report.notes.append("training distribution: saved with the model")
    cube = xr.Dataset({n: (("time", "lat", "lon"), values[None, None, :, j])
                       for j, n in enumerate(names)})
    land = np.zeros((1, len(values)), np.int32)  # every row is a land cell
    report.add("coverage", *check_coverage(xr.Dataset({"country_id": (("lat", "lon"), land)}),
                                           cube, [], 0, cfg.checks.max_missing_share, ref))
    n, found, psi = check_drift(cube, 0, land, ref, cfg.checks)
    report.add("drift", n, found)
    report.psi = psi


def run_dir_for(ctx: RunContext, as_of: str) -> Path:
    """The run folder: <out>/<config name>/<as_of>."""
    return ctx.out_root / ctx.cfg.name / as_of


def write_manifest(ctx: RunContext, run_dir: Path, month: int, status: str) -> dict[str, Any]:
    """Write `manifest.json` (config, hashes, seed, code version, models, timings, peak
    memory) and return what was written."""
    assert ctx.inputs is not None
    manifest = {
        "status": status,
        "config_path": ctx.config_path,
        "config_hash": config_hash(ctx.cfg),
        "config": ctx.cfg.model_dump(mode="json"),
        "seed": ctx.cfg.seed,
        "synthetic": bool(ctx.inputs.attrs.get("synthetic", 0)),
        "as_of": month_label(ctx.inputs, month),
        "code_version": __version__,
        "python": platform.python_version(),
        "models": {t: {"model_id": m.model_id, "trained_now": ctx.trained.get(t, False),
                       "metrics": m.metrics} for t, m in ctx.models.items()},
        "checks": ctx.checks.to_dict() if ctx.checks is not None else None,
        "overrides": list(ctx.checks.overrides) if ctx.checks is not None else [],
        "backfilled": list(ctx.backfilled),
        "outputs": ctx.outputs,
        "summary": ctx.summary,
        "timings_s": ctx.progress.timings,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "peak_rss_mib_by_stage": ctx.progress.peak_mib,
    }
    text = json_text(manifest)

    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")
        kill_point(f"write:manifest.json:{status}")  # test hook: written, not yet renamed

    write_with(run_dir / "manifest.json", write)
    return manifest


def backfill_alerts(ctx: RunContext, run_dir: Path, month: int) -> list[str]:
    """Stage `backfill`: publish the months the alert rules' persistence needs first.

    On a store without the n-1 months before `month` (see `riskmodel.ops.backfill`), each
    missing month is scored and published oldest first, quietly, its alert files under
    `<run_dir>/backfill/<YYYY-MM>/` (no risk.nc). Returns the months published.
    """
    assert ctx.inputs is not None
    inputs = ctx.inputs
    labels = [month_label(inputs, i) for i in range(inputs.sizes["time"])]
    months = months_to_backfill(ctx.cfg.alerts, labels, month, first_usable=WARMUP_MONTHS)
    if not months:
        return []
    with ctx.progress.stage("backfill"):
        for i in months:
            label = labels[i]
            publish_alerts(risk_for(ctx, i), run_dir=run_dir / "backfill" / label,
                           cfg=ctx.cfg.alerts, run_id=f"{ctx.cfg.name}-{label}",
                           sent=datetime.now(timezone.utc).replace(microsecond=0),
                           warm_up=False)
            ctx.backfilled.append(label)
            kill_point(f"backfill:{label}")
        ctx.progress.note(f"backfilled alert history for {', '.join(ctx.backfilled)}")
    return list(ctx.backfilled)


def risk_summary(risk: xr.Dataset) -> dict[str, Any]:
    """Headline numbers of a risk dataset per target (for the manifest and the report)."""
    out = {}
    for t in risk["target"].values:
        r = risk["risk"].sel(target=t).values
        out[str(t)] = {"mean": float(np.nanmean(r)), "max": float(np.nanmax(r)),
                       "cells_scored": int(np.isfinite(r).sum())}
    return out
