"""The night: world -> features -> models -> checks -> score -> feature checks ->
(backfill) -> risk.nc -> alerts -> targeting -> report, into one run folder with a
manifest; `run_night` runs it as one locked and recorded session (`riskmodel.ops.session`).

Every stage composes functions of `features`, `riskmodel.models`, `riskmodel.checks`,
`riskmodel.alerts` and `riskmodel.targeting`; nothing here computes a feature or a kernel.
Each stage returns what it made; the night passes it on, and `RunContext` holds only what
a command hands in. Files are written atomically; the same inputs, config and model give a
byte-identical `risk.nc`.

Scoring has one entry point, `riskmodel.scale.score.score_months`, with two engines: the
whole feature cube in memory (worlds that fit), or spatial blocks when the config names a
Zarr store in `[scale] inputs` or a Dask cluster is given (`--dask`). Every month a night
needs (the alert backfill's and the as-of month) is scored in one pass. The input checks
come in two parts: the inputs before scoring (schema, freshness, coverage), the as-of
month's features the engine hands back after it (coverage, drift); nothing is written but
`checks.json` before both pass.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field, replace
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
from riskmodel.checks import CheckReport, FeatureRows, Finding, feature_checks, input_checks
from riskmodel.checks.findings import OVERRIDES
from riskmodel.checks.reader import open_inputs
from riskmodel.checks.run import reference_distribution
from riskmodel.config import RunConfig, config_hash, load_config
from riskmodel.errors import InputError, ModelError
from riskmodel.faults import kill_point
from riskmodel.io.atomic import json_text, write_json, write_with
from riskmodel.io.netcdf import write_netcdf
from riskmodel.models.registry import RegisteredModel, model_dir
from riskmodel.alerts.store import AlertStore
from riskmodel.ops.backfill import carried_from_backfill, months_to_backfill
from riskmodel.ops.session import ALERT_COUNTS, Outcome, nightly_session
from riskmodel.partner_risk import partner_risk
from riskmodel.progress import Progress, peak_rss_mib
from riskmodel.report.run_report import write_run_report
from riskmodel.scale import store
from riskmodel.scale.cluster import dask_client
from riskmodel.scale.score import Engine, Scored, score_months
from riskmodel.scoring import DriverRule
from riskmodel.sources import load_inputs
from riskmodel.targeting import run_targeting
from riskmodel.training import (
    check_outcome_partners,
    ensure_model,
    ensure_partner_models,
    model_id,
    partner_models_registered,
)
from riskmodel.world import SYNTHETIC_NOTE, make_world
from riskmodel.world.tables import write_tables

# Years of events and programmes the targeting stage summarises, up to the as-of year.
TARGETING_YEARS = 3
# Drift warnings named in the one line a night prints about them (checks.json has all).
DRIFT_NAMED = 3


@dataclass(frozen=True)
class RunContext:
    """What a command hands the pipeline: the config (read from `config_path`), the parent
    of run folders, progress reporting, canonical inputs to score instead of the config's
    world (`--inputs`), and the Dask cluster to score on (`--dask`: local or
    tcp://HOST:PORT)."""

    cfg: RunConfig
    config_path: str
    progress: Progress
    out_root: Path
    inputs_path: Path | None = None
    dask: str | None = None

    @property
    def engine(self) -> Engine:
        """The scoring engine: "blocks" with inputs in a Zarr store or a Dask cluster to
        use, else "memory"."""
        return "blocks" if self.cfg.scale.inputs or self.dask is not None else "memory"


@dataclass(frozen=True)
class RunModels:
    """The model of every target a run scores with, whether each was trained now, and its
    registry folder (what Dask workers load)."""

    models: dict[str, RegisteredModel]
    trained: dict[str, bool]
    folders: dict[str, str]
    # Outcome partners' own models ({partner: {target: model}}, `[model] outcomes_partner`)
    # and whether each was trained now.
    partners: dict[str, dict[str, RegisteredModel]] = field(default_factory=dict)
    partners_trained: dict[str, dict[str, bool]] = field(default_factory=dict)

    @property
    def metas(self) -> dict[str, dict[str, Any]]:
        """Metadata (model.json) of each target's model."""
        return {t: m.meta for t, m in self.models.items()}

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The features the models read, in their column order (the same for all)."""
        return next(iter(self.models.values())).features


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
    config's `[scale] inputs` Zarr store (lazy), else its `[sources]`, else the seeded
    synthetic world."""
    cfg = ctx.cfg
    with ctx.progress.stage("world"):
        if ctx.inputs_path is not None:
            return open_inputs(ctx.inputs_path)
        if cfg.scale.inputs:
            path = Path(cfg.scale.inputs)
            if not (path / ".zmetadata").is_file():
                raise InputError(f"{ctx.config_path}: [scale] inputs {path}: no Zarr store "
                                 f"there; write it with `riskmodel store --config "
                                 f"{ctx.config_path}`")
            return store.open_inputs(path)  # lazy: blocks read their own chunks
        if cfg.sources is not None:
            inputs = load_inputs(cfg)
            missing = [f"identified_{t}" for t in cfg.targets
                       if f"identified_{t}" not in inputs]
            if missing:
                # Real sources carry no case records yet; say so rather than score nothing.
                raise InputError(f"{ctx.config_path}: the [sources] give no identified-case "
                                 f"labels {missing}, which the cell-level models train on; "
                                 f"use `riskmodel features build` or `riskmodel countries` "
                                 f"for country-level data")
            return inputs
        return make_world(cfg.world, cfg.seed)


def build_features(ctx: RunContext, inputs: xr.Dataset) -> xr.Dataset:
    """Stage `features`: the whole feature cube of `inputs` from the catalogue, in memory."""
    with ctx.progress.stage("features"):
        return features.build_cube(inputs)


def model_config(cfg: RunConfig) -> RunConfig:
    """The config whose registered models score a run of `cfg`: `[scale] models_from`,
    else `cfg` itself."""
    source = cfg.scale.models_from
    return load_config(source) if source else cfg


def _names_only(inputs: xr.Dataset) -> xr.Dataset:
    """A cube holding only the names of the features the inputs allow (scalar NaNs)."""
    names, _ = features.plan_features(inputs)
    return xr.Dataset({n: ((), np.float32(np.nan)) for n in names})


def models_registered(cfg: RunConfig, owner: RunConfig, inputs: xr.Dataset) -> bool:
    """Whether every target of `cfg` has its model in the registry of `owner` for these
    inputs (only the feature names are needed, not their values)."""
    names = tuple(str(n) for n in _names_only(inputs).data_vars)
    return (all(model_dir(owner.model.registry, t, model_id(owner, t, names)).exists()
                for t in cfg.targets)
            and partner_models_registered(owner, inputs, names,
                                          lambda i: month_label(inputs, i)))


def training_needed(ctx: RunContext, inputs: xr.Dataset, *, retrain: bool,
                    train_missing: bool) -> bool:
    """Whether `get_models` will train (and so needs the whole feature cube): `retrain`,
    or a missing model that this run may train. Models borrowed through `[scale]
    models_from` are never trained here."""
    owner = model_config(ctx.cfg)
    borrowed = owner is not ctx.cfg
    if borrowed and retrain:
        raise ModelError(f"{ctx.config_path}: --retrain with [scale] models_from = "
                         f"{ctx.cfg.scale.models_from!r}: the models belong to that config; "
                         f"train them there")
    return retrain or (train_missing and not borrowed
                       and not models_registered(ctx.cfg, owner, inputs))


def get_models(ctx: RunContext, inputs: xr.Dataset, cube: xr.Dataset | None, *,
               retrain: bool = False, train_missing: bool = True) -> RunModels:
    """Stage `models`: load the registered model per target, or train it from `cube`.

    With `[scale] models_from` the models of that config are loaded (their feature list
    must equal this world's) and nothing is trained. `cube` may be None when nothing is
    to be trained (`training_needed`).
    """
    owner = model_config(ctx.cfg)
    borrowed = owner is not ctx.cfg
    if cube is None and training_needed(ctx, inputs, retrain=retrain,
                                        train_missing=train_missing):
        raise ValueError("get_models: training needs the feature cube")
    # Finding a registered model needs only the feature names, not their values.
    names_cube = cube if cube is not None else _names_only(inputs)
    models, trained, folders = {}, {}, {}
    with ctx.progress.stage("models"):
        for target in ctx.cfg.targets:
            registered, now = ensure_model(
                owner, inputs, names_cube, target, retrain=retrain,
                train=train_missing and not borrowed,
                time_label=lambda i: month_label(inputs, i))
            models[target], trained[target] = registered, now
            folders[target] = str(registered.folder)
            verb = "trained" if now else "loaded"
            source = f" (registered for {ctx.cfg.scale.models_from})" if borrowed else ""
            ctx.progress.note(f"{verb} {target} model {registered.model_id}{source}")
        own = ensure_partner_models(owner, inputs, names_cube, retrain=retrain,
                                    train=train_missing and not borrowed,
                                    time_label=lambda i: month_label(inputs, i))
        for pid, per in own.items():
            for target, (registered, now) in per.items():
                n = registered.meta.get("outcomes", {}).get("outcomes", 0)
                ctx.progress.note(f"{'trained' if now else 'loaded'} {target} model "
                                  f"{registered.model_id} of partner {pid} ({n} outcomes)")
    return RunModels(models, trained, folders,
                     {p: {t: r for t, (r, _) in per.items()} for p, per in own.items()},
                     {p: {t: now for t, (_, now) in per.items()} for p, per in own.items()})


def driver_rule(cfg: RunConfig) -> DriverRule:
    """The config's driver rule: `[drivers] min_risk`, else the alert rules' floor, so
    every cell that can reach an alert has its drivers; `admin1_sample` cells per unit."""
    min_risk = cfg.drivers.min_risk
    if min_risk is None:
        rules = load_rules(cfg.alerts.rules)
        min_risk = rules.hold_floor()
    return DriverRule(min_risk=min_risk, admin1_sample=cfg.drivers.admin1_sample,
                      seed=cfg.seed)


def risk_attrs(cfg: RunConfig, inputs: xr.Dataset, models: RunModels,
               month: int) -> dict[str, Any]:
    """Provenance attrs of the risk dataset of time index `month`."""
    return {
        "synthetic": int(inputs.attrs.get("synthetic", 0)),
        "comment": SYNTHETIC_NOTE if inputs.attrs.get("synthetic") else "",
        "as_of": month_label(inputs, month), "horizon": cfg.model.horizon,
        "config_hash": config_hash(cfg), "code_version": __version__,
        "source": "riskmodel " + __version__,
        **{f"model_id_{t}": meta["model_id"] for t, meta in models.metas.items()},
    }


def backfill_months(cfg: RunConfig, inputs: xr.Dataset, month: int) -> list[int]:
    """Time indices the alert rules' persistence needs published before `month`, oldest
    first (`riskmodel.ops.backfill`; none with alerts off)."""
    if not cfg.alerts.enabled:
        return []
    labels = [month_label(inputs, i) for i in range(inputs.sizes["time"])]
    return months_to_backfill(cfg.alerts, labels, month, first_usable=WARMUP_MONTHS)


def score(ctx: RunContext, inputs: xr.Dataset, models: RunModels, months: list[int], *,
          rule: DriverRule, cube: xr.Dataset | None, client: Any,
          features_of: int | None) -> Scored:
    """Stage `score`: the risk datasets of time indices `months` (nothing written), with
    the run's engine, and the raw features of `features_of` for the feature checks. Each
    month's interval is refitted on the months labelled by then (`score_months` with the
    horizon, `riskmodel.scoring.refit_bands`), by either engine, and its attrs say which
    spread was used; the refit's scored rows are kept between nights in `refit_rows_dir`
    (the same values, fewer rows scored)."""
    cfg = ctx.cfg
    kept = refit_rows_dir(ctx)
    with ctx.progress.stage("score"):
        scored = score_months(models.models, inputs, months, engine=ctx.engine, rule=rule,
                              attrs=lambda m: risk_attrs(cfg, inputs, models, m),
                              cube=cube, horizon=cfg.model.horizon, features_of=features_of,
                              client=client, block=cfg.scale.block,
                              folders=models.folders, inference=cfg.scale.inference,
                              cache_dir=cfg.scale.compiled_cache, refit_rows=kept)
        if not models.partners:
            return scored
        # Outcome partners: their countries scored by their own models (docs/simulate.md),
        # each model's interval refitted the same way.
        partners = check_outcome_partners(model_config(cfg))
        own = {pid: score_months(per, inputs, months, engine=ctx.engine, rule=rule,
                                 attrs=lambda m: risk_attrs(cfg, inputs, models, m),
                                 cube=cube, client=client, block=cfg.scale.block,
                                 horizon=cfg.model.horizon,
                                 folders={t: str(r.folder) for t, r in per.items()},
                                 inference=cfg.scale.inference,
                                 cache_dir=cfg.scale.compiled_cache, refit_rows=kept)
               for pid, per in models.partners.items() if per}
        return replace(scored, risk={
            m: partner_risk(ds, {pid: s.risk[m] for pid, s in own.items()},
                            models.partners, partners)
            for m, ds in scored.risk.items()})


def check_inputs(ctx: RunContext, inputs: xr.Dataset, models: RunModels, month: int,
                 run_dir: Path, overrides: tuple[str, ...] = (),
                 outcome: Outcome | None = None) -> CheckReport:
    """Stage `checks`: schema, freshness and coverage of the inputs, before any scoring.

    Writes `checks.json` in the run folder either way, and hands the report to the
    session's `outcome` before raising, so the history records it; raises the matching
    error (exit code 2 or 3) when a check fails that no override in `overrides` lets
    through.
    """
    label = month_label(inputs, month)
    with ctx.progress.stage("checks"):
        if ctx.cfg.checks.enabled:
            report = input_checks(inputs, month, label, ctx.cfg.checks,
                                  names=models.feature_names, overrides=overrides)
        else:
            report = CheckReport(as_of=label, overrides=list(overrides),
                                 notes=["input checks disabled by [checks] enabled = false"])
        if outcome is not None:
            outcome.checks = report
        _settle(ctx.progress, report, report.findings, run_dir, list(models.models))
    return report


def check_features(ctx: RunContext, report: CheckReport, rows: FeatureRows,
                   inputs: xr.Dataset, models: RunModels, cube: xr.Dataset | None,
                   run_dir: Path) -> CheckReport:
    """Stage `feature_checks`: coverage and drift of the as-of month's feature `rows`
    against the training distribution, added to `report` of `check_inputs`.

    Rewrites `checks.json`; raises the matching error (exit code 2 or 4) when a check
    fails that no override lets through.
    """
    with ctx.progress.stage("feature_checks"):
        known = len(report.findings)
        ref, source = reference_distribution(
            list(models.metas.values()), cube, inputs, lambda i: month_label(inputs, i),
            ctx.cfg.checks.drift_bins)
        feature_checks(report, rows, ref, source, ctx.cfg.checks)
        _settle(ctx.progress, report, report.findings[known:], run_dir, list(models.models))
    return report


def _settle(progress: Progress, report: CheckReport, new: list[Finding], run_dir: Path,
            targets: list[str]) -> None:
    """Write `checks.json` in `run_dir`, log the `new` findings of `report`, and raise for
    failures not overridden.

    Drift warnings (a feature above what 95% of training months reached, short of
    failing) are one line together, naming the largest and the `targets` whose models
    read them; `checks.json` holds each. Warnings show even with `--quiet`.
    """
    path = run_dir / "checks.json"
    write_json(path, report.to_dict())

    def overridden(f: Finding) -> bool:
        return OVERRIDES.get(f.kind) in report.overrides

    def log(f: Finding, level: str) -> None:
        progress.event("check", level=level, kind=f.kind, subject=f.subject,
                       status=f.status, message=f.message)

    drift = [f for f in new if f.kind == "drift" and f.status == "warn"]
    for f in new:
        if f.status == "warn" and f.kind != "drift":
            log(f, "warning")
    if drift:
        progress.event("check", level="warning", kind="drift", status="warn",
                       features=len(drift), targets=",".join(targets),
                       message=drift_line(drift, report.checked.get("drift", 0), targets,
                                          path))
    for f in new:
        if f.status == "fail" and overridden(f):
            log(f, "warning")
    for f in new:
        if f.status == "fail" and not overridden(f):
            log(f, "error")
    report.raise_for(str(path))


def drift_line(drift: list[Finding], checked: int, targets: list[str], path: Path) -> str:
    """One line about the drift warnings `drift` among `checked` features: how many, the
    largest by PSI, the targets whose models read them, and where the details are."""
    top = sorted(drift, key=lambda f: -float(f.value or 0.0))[:DRIFT_NAMED]
    named = ", ".join(f"{f.subject} {float(f.value or 0.0):.2f}" for f in top)
    more = f" and {len(drift) - len(top)} more" if len(drift) > len(top) else ""
    return (f"{len(drift)} of {checked} features are further from their training "
            f"distribution than 95% of training months were (PSI: {named}{more}); a "
            f"warning, below the failure limit; read by the {' and '.join(targets)} "
            f"model{'s' if len(targets) > 1 else ''}; details in {path}")


def refit_rows_dir(ctx: RunContext) -> Path:
    """Where the interval refit's scored rows are kept between nights
    (`riskmodel.scale.refit_rows`): <out>/<config name>/refit-rows."""
    return ctx.out_root / ctx.cfg.name / "refit-rows"


def run_dir_for(ctx: RunContext, as_of: str) -> Path:
    """The run folder: <out>/<config name>/<as_of>."""
    return ctx.out_root / ctx.cfg.name / as_of


def write_manifest(ctx: RunContext, run_dir: Path, status: str, *, inputs: xr.Dataset,
                   month: int, models: RunModels, checks: CheckReport | None,
                   backfilled: list[str], outputs: dict[str, str],
                   summary: dict[str, Any]) -> dict[str, Any]:
    """Write `manifest.json` (config, hashes, seed, code version, models, checks, outputs,
    timings, peak memory) and return what was written."""
    manifest = {
        "status": status,
        "config_path": ctx.config_path,
        "config_hash": config_hash(ctx.cfg),
        "config": ctx.cfg.model_dump(mode="json"),
        "seed": ctx.cfg.seed,
        "synthetic": bool(inputs.attrs.get("synthetic", 0)),
        "as_of": month_label(inputs, month),
        "code_version": __version__,
        "python": platform.python_version(),
        "models": {t: {"model_id": meta["model_id"],
                       "trained_now": models.trained.get(t, False),
                       "metrics": meta.get("metrics", {}),
                       **({"outcomes": meta["outcomes"]} if "outcomes" in meta else {})}
                   for t, meta in models.metas.items()},
        **({"partner_models": {
            pid: {t: {"model_id": reg.model_id,
                      "trained_now": models.partners_trained[pid][t],
                      "scores": "the partner's countries",
                      "outcomes": reg.meta.get("outcomes", {})} for t, reg in per.items()}
            for pid, per in models.partners.items()}} if models.partners else {}),
        "checks": checks.to_dict() if checks is not None else None,
        "overrides": list(checks.overrides) if checks is not None else [],
        "backfilled": list(backfilled),
        "outputs": outputs,
        "summary": summary,
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


def backfill_alerts(ctx: RunContext, inputs: xr.Dataset, run_dir: Path,
                    risk: dict[int, xr.Dataset], months: list[int]) -> list[dict[str, Any]]:
    """Stage `backfill`: publish the scored `months` the alert rules' persistence needs
    before the as-of month (`backfill_months`), oldest first, quietly, their alert files
    under `<run_dir>/backfill/<YYYY-MM>/` (no risk.nc). Returns the summary of each month
    published (`publish_alerts`, without its file list), with its `as_of`."""
    if not months:
        return []
    done: list[dict[str, Any]] = []
    with ctx.progress.stage("backfill"):
        for i in months:
            label = month_label(inputs, i)
            summary = publish_alerts(risk[i], run_dir=run_dir / "backfill" / label,
                                     cfg=ctx.cfg.alerts, run_id=f"{ctx.cfg.name}-{label}",
                                     sent=datetime.now(timezone.utc).replace(microsecond=0),
                                     warm_up=False)
            done.append({**{k: v for k, v in summary.items() if k != "files"},
                         "as_of": label})
            kill_point(f"backfill:{label}")
        ctx.progress.note(f"backfilled alert history for "
                          f"{', '.join(d['as_of'] for d in done)}")
    return done


def write_risk(ctx: RunContext, run_dir: Path, risk: xr.Dataset) -> None:
    """Stage `write`: the as-of month's risk dataset as `risk.nc`."""
    with ctx.progress.stage("write"):
        write_netcdf(risk, run_dir / "risk.nc",
                     before_rename=lambda: kill_point("write:risk.nc"))  # test hook


def run_night(ctx: RunContext, as_of: str | None, *, train_missing: bool,
              retrain: bool = False, allow: tuple[str, ...] = (),
              command: str = "run", alerts: bool = True) -> Path:
    """The night for `as_of` (default: the config's, else the latest month of the inputs);
    returns the run folder.

    Holds the run-folder and alert-store locks and records the run in the history
    (`riskmodel.ops.session`), on the Dask cluster of `ctx.dask` when given. Trains a
    missing model only with `train_missing` (every model with `retrain`); `allow` names
    the check overrides in force (allow_stale, allow_missing, allow_drift). Nothing is
    published when a check fails. `alerts=False` scores and reports the month without
    reading or writing the alert store (no backfill, no alerts): re-scoring a past month.
    """
    publish = alerts and ctx.cfg.alerts.enabled
    with nightly_session(ctx.cfg, ctx.config_path, ctx.out_root, ctx.progress,
                         command, alerts=publish) as outcome, dask_client(ctx.dask) as client:
        return _night(ctx, outcome, client, as_of, train_missing=train_missing,
                      retrain=retrain, allow=allow, publish=publish)


def refuse_past_month(cfg: RunConfig, label: str) -> None:
    """Raise `InputError` before anything is written when the alert store has processed
    months after `label` but not `label` itself: publishing it would go back in time
    (re-score such a month with `riskmodel score --as-of {label} --no-alerts`)."""
    if not Path(cfg.alerts.store).is_file():
        return  # a new store has no month to go back from (and is not created here)
    with AlertStore(cfg.alerts.store) as store:
        latest = store.latest_as_of()
        known = store.get_run(label) is not None
    if latest is not None and label < latest and not known:
        raise InputError(f"{cfg.alerts.store}: alerts already processed up to {latest}; "
                         f"refusing to publish {label} (nothing written); to re-score that "
                         f"month without alerts: riskmodel score --as-of {label} --no-alerts")


def night_alert_counts(store_path: str, published: list[dict[str, Any]],
                       backfilled: list[str], as_of: str) -> dict[str, Any]:
    """The alert counts of a night as partners see them: `published` are the summaries of
    every month published tonight (backfilled ones first, the as-of month last); an alert
    opened in a backfilled month reaches partners for the first time tonight, so it counts
    as new (and not as ongoing at as-of). `new_backfilled` says how many of the new ones
    were opened in backfilled months."""
    last = published[-1]
    counts = {k: int(last.get(k, 0)) for k in ALERT_COUNTS}
    if last.get("rerun_of") or not backfilled:
        return {**{k: v for k, v in last.items() if k != "files"}, **counts}
    early = sum(int(p.get("new", 0)) for p in published[:-1])
    counts["new"] += early
    for k in ("escalated", "resolved"):  # messages partners receive tonight as well
        counts[k] += sum(int(p.get(k, 0)) for p in published[:-1])
    counts["ongoing"] -= carried_from_backfill(store_path, backfilled, as_of)
    return {**{k: v for k, v in last.items() if k != "files"}, **counts,
            "new_backfilled": early, "new_as_of": int(last.get("new", 0))}

def _night(ctx: RunContext, outcome: Outcome, client: Any, as_of: str | None, *,
           train_missing: bool, retrain: bool, allow: tuple[str, ...],
           publish: bool) -> Path:
    cfg = ctx.cfg
    inputs = load_world(ctx)
    month = month_index(inputs, as_of or cfg.as_of)
    label = month_label(inputs, month)
    outcome.as_of = label
    if publish:
        refuse_past_month(cfg, label)
    cube = None
    if ctx.engine == "memory" or training_needed(ctx, inputs, retrain=retrain,
                                                 train_missing=train_missing):
        cube = build_features(ctx, inputs)
    models = get_models(ctx, inputs, cube, retrain=retrain, train_missing=train_missing)
    run_dir = run_dir_for(ctx, label)
    outcome.run_dir = run_dir
    report = check_inputs(ctx, inputs, models, month, run_dir, allow, outcome)
    backfill = backfill_months(cfg, inputs, month) if publish else []
    scored = score(ctx, inputs, models, backfill + [month], rule=driver_rule(cfg), cube=cube,
                   client=client, features_of=month if cfg.checks.enabled else None)
    if scored.features is not None:
        check_features(ctx, report, FeatureRows(models.feature_names, scored.features),
                       inputs, models, cube, run_dir)
    published = backfill_alerts(ctx, inputs, run_dir, scored.risk, backfill)
    outcome.backfilled = backfilled = [p["as_of"] for p in published]
    risk = scored.risk[month]
    write_risk(ctx, run_dir, risk)
    outputs = {"risk": "risk.nc"}
    summary: dict[str, Any] = {"risk": risk_summary(risk)}
    if publish:
        with ctx.progress.stage("alerts"):
            alerts = publish_alerts(risk, run_dir=run_dir, cfg=cfg.alerts,
                                    run_id=f"{cfg.name}-{label}",
                                    sent=datetime.now(timezone.utc).replace(microsecond=0))
            summary["alerts"] = outcome.alerts = night_alert_counts(
                cfg.alerts.store, [*published, alerts], backfilled, label)
            outputs.update(alerts_geojson="alerts.geojson", alerts_csv="alerts.csv",
                           alerts_cap="alerts/cap/")
    elif cfg.alerts.enabled:
        ctx.progress.note(f"alerts not published for {label} (--no-alerts); the alert store "
                          f"is untouched")
    synthetic = bool(inputs.attrs.get("synthetic", 0))
    with ctx.progress.stage("targeting"):
        events, programmes = write_tables(inputs, run_dir / "inputs")
        year = int(label[:4])
        result = run_targeting(events, programmes, (year - TARGETING_YEARS + 1, year),
                               json_path=run_dir / "targeting.json",
                               html_path=run_dir / "targeting.html", risk=risk,
                               note=SYNTHETIC_NOTE if synthetic else None)
        outputs.update(targeting_json="targeting.json", targeting_html="targeting.html")
    with ctx.progress.stage("report"):
        outputs["report"] = "report.html"
        manifest = write_manifest(ctx, run_dir, "running", inputs=inputs, month=month,
                                  models=models, checks=report, backfilled=backfilled,
                                  outputs=outputs, summary=summary)
        write_run_report(run_dir, risk, manifest, summary.get("alerts"), result.html,
                         features=None if scored.features is None else
                         FeatureRows(models.feature_names, scored.features))
    write_manifest(ctx, run_dir, "ok", inputs=inputs, month=month, models=models,
                   checks=report, backfilled=backfilled, outputs=outputs, summary=summary)
    return run_dir


def risk_summary(risk: xr.Dataset) -> dict[str, Any]:
    """Headline numbers of a risk dataset per target (for the manifest and the report)."""
    out = {}
    for t in risk["target"].values:
        r = risk["risk"].sel(target=t).values
        out[str(t)] = {"mean": float(np.nanmean(r)), "max": float(np.nanmax(r)),
                       "cells_scored": int(np.isfinite(r).sum())}
    return out
