"""The nightly pipeline: world -> features -> models -> score -> alerts -> targeting ->
report, into one run folder with a manifest.

Every stage composes functions of `features`, `riskmodel.models`, `riskmodel.alerts` and
`riskmodel.targeting`; nothing here computes a feature or a kernel. Files are written
atomically; the same inputs, config and model give a byte-identical `risk.nc`.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

import features
from riskmodel import __version__
from riskmodel.config import RunConfig, config_hash
from riskmodel.errors import InputError, ModelError
from riskmodel.io.atomic import write_json, write_with
from riskmodel.models.registry import load_model, model_dir
from riskmodel.progress import Progress, peak_rss_mib
from riskmodel.scoring import score_month
from riskmodel.training import ensure_model, model_id
from riskmodel.world import SYNTHETIC_NOTE, make_world


@dataclass
class RunContext:
    """What the stages share: config, where outputs go, progress, and what they made."""

    cfg: RunConfig
    config_path: str
    progress: Progress
    out_root: Path
    inputs: xr.Dataset | None = None
    cube: xr.Dataset | None = None
    models: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)
    trained: dict[str, bool] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


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
    """Stage `world`: the canonical inputs (the seeded synthetic world)."""
    with ctx.progress.stage("world"):
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
            if not train_missing:
                names = tuple(ctx.cube.data_vars)
                folder = model_dir(ctx.cfg.model.registry, target,
                                   model_id(ctx.cfg, target, names))
                if not folder.exists():
                    raise ModelError(f"no {target} model registered for this config in "
                                     f"{folder.parent}/ (expected {folder.name}); run "
                                     f"`riskmodel train --config {ctx.config_path}` first")
                ctx.models[target] = load_model(folder, features=names,
                                                threads=ctx.cfg.model.threads)
                ctx.trained[target] = False
                continue
            model, meta, trained = ensure_model(
                ctx.cfg, ctx.inputs, ctx.cube, target, retrain=retrain,
                time_label=lambda i: month_label(ctx.inputs, i))
            ctx.models[target] = (model, meta)
            ctx.trained[target] = trained
            verb = "trained" if trained else "loaded"
            ctx.progress.note(f"{verb} {target} model {meta['model_id']}")


def score(ctx: RunContext, run_dir: Path, month: int) -> xr.Dataset:
    """Stage `score`: the risk dataset for `month`, written as `risk.nc`."""
    assert ctx.inputs is not None and ctx.cube is not None
    cfg = ctx.cfg
    with ctx.progress.stage("score"):
        attrs = {
            "synthetic": int(ctx.inputs.attrs.get("synthetic", 0)),
            "comment": SYNTHETIC_NOTE if ctx.inputs.attrs.get("synthetic") else "",
            "as_of": month_label(ctx.inputs, month), "horizon": cfg.model.horizon,
            "config_hash": config_hash(cfg), "code_version": __version__,
            "source": "riskmodel " + __version__,
            **{f"model_id_{t}": m[1]["model_id"] for t, m in ctx.models.items()},
        }
        risk = score_month(ctx.models, ctx.inputs, ctx.cube, month, attrs)
        write_with(run_dir / "risk.nc", lambda p: risk.to_netcdf(p, engine="netcdf4"))
        ctx.outputs["risk"] = "risk.nc"
    return risk


def run_dir_for(ctx: RunContext, as_of: str) -> Path:
    """The run folder: <out>/<config name>/<as_of>."""
    return ctx.out_root / ctx.cfg.name / as_of


def write_manifest(ctx: RunContext, run_dir: Path, month: int, status: str) -> Path:
    """`manifest.json`: config, hashes, seed, code version, models, timings, peak memory."""
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
        "outputs": ctx.outputs,
        "summary": ctx.summary,
        "timings_s": ctx.progress.timings,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "peak_rss_mib_by_stage": ctx.progress.peak_mib,
    }
    write_json(run_dir / "manifest.json", manifest)
    return run_dir / "manifest.json"


def risk_summary(risk: xr.Dataset) -> dict[str, Any]:
    """Headline numbers of a risk dataset per target (for the manifest and the report)."""
    out = {}
    for t in risk["target"].values:
        r = risk["risk"].sel(target=t).values
        out[str(t)] = {"mean": float(np.nanmean(r)), "max": float(np.nanmax(r)),
                       "cells_scored": int(np.isfinite(r).sum())}
    return out
