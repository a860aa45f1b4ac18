"""The nightly pipeline: world -> features -> models -> checks -> (backfill) -> score ->
alerts -> targeting -> report, into one run folder with a manifest.

Every stage composes functions of `features`, `riskmodel.models`, `riskmodel.alerts` and
`riskmodel.targeting`; nothing here computes a feature or a kernel. Files are written
atomically; the same inputs, config and model give a byte-identical `risk.nc`.
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
from riskmodel.checks import CheckReport, run_checks
from riskmodel.checks.reader import open_inputs
from riskmodel.config import RunConfig, config_hash
from riskmodel.errors import InputError
from riskmodel.io.atomic import json_text, write_json, write_with
from riskmodel.ops.backfill import months_to_backfill
from riskmodel.ops.faults import kill_point
from riskmodel.progress import Progress, peak_rss_mib
from riskmodel.scoring import score_month
from riskmodel.sources import load_inputs
from riskmodel.training import ensure_model
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
    models: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)
    trained: dict[str, bool] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None
    as_of: str | None = None
    checks: CheckReport | None = None
    backfilled: list[str] = field(default_factory=list)


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
    """Stage `features`: the feature cube from the catalogue."""
    assert ctx.inputs is not None
    with ctx.progress.stage("features"):
        ctx.cube = features.build_cube(ctx.inputs)
    return ctx.cube


def get_models(ctx: RunContext, *, retrain: bool = False, train_missing: bool = True) -> None:
    """Stage `models`: load the registered model per target, or train it."""
    assert ctx.inputs is not None and ctx.cube is not None
    with ctx.progress.stage("models"):
        for target in ctx.cfg.targets:
            model, meta, trained = ensure_model(
                ctx.cfg, ctx.inputs, ctx.cube, target, retrain=retrain, train=train_missing,
                time_label=lambda i: month_label(ctx.inputs, i))
            ctx.models[target] = (model, meta)
            ctx.trained[target] = trained
            verb = "trained" if trained else "loaded"
            ctx.progress.note(f"{verb} {target} model {meta['model_id']}")


def risk_for(ctx: RunContext, month: int) -> xr.Dataset:
    """The risk dataset of time index `month` with provenance attrs (nothing written)."""
    assert ctx.inputs is not None and ctx.cube is not None
    cfg = ctx.cfg
    attrs = {
        "synthetic": int(ctx.inputs.attrs.get("synthetic", 0)),
        "comment": SYNTHETIC_NOTE if ctx.inputs.attrs.get("synthetic") else "",
        "as_of": month_label(ctx.inputs, month), "horizon": cfg.model.horizon,
        "config_hash": config_hash(cfg), "code_version": __version__,
        "source": "riskmodel " + __version__,
        **{f"model_id_{t}": m[1]["model_id"] for t, m in ctx.models.items()},
    }
    return score_month(ctx.models, ctx.inputs, ctx.cube, month, attrs)


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
    assert ctx.inputs is not None and ctx.cube is not None
    inputs = ctx.inputs
    with ctx.progress.stage("checks"):
        if ctx.cfg.checks.enabled:
            report = run_checks(inputs, ctx.cube, month, month_label(inputs, month),
                                ctx.cfg.checks, metas=[m[1] for m in ctx.models.values()],
                                time_label=lambda i: month_label(inputs, i),
                                overrides=overrides)
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
        "models": {t: {"model_id": m[1]["model_id"], "trained_now": ctx.trained.get(t, False),
                       "metrics": m[1].get("metrics", {})} for t, m in ctx.models.items()},
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
