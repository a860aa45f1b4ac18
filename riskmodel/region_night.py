"""The real world's night: region and country feature cubes -> the real child-labour and
forced-labour models -> the region risk dataset -> `risk.nc`, `regions.geojson`, alerts,
`report.html` and `manifest.json`, in one locked and recorded session.

A config is a region config when its `[sources]` are yearly (`frequency = "yearly"`, e.g.
`configs/real.toml`); `riskmodel run` and `riskmodel score` hand such a config here instead
of to `riskmodel.pipeline`. The night scores one year (`--as-of YYYY`, default the latest
year of the cube) and the `YEARS_SCORED - 1` years before it, because the alert rules'
rise and persistence read earlier years. Each target's model is fitted on country-year
outcomes of years before the as-of year only (`riskmodel.countries`), with features of the
country-level cube, and applied to the region cube, which has the same features; it is
stored as LightGBM text with JSON metadata under the config's model registry. Drivers are
LightGBM contributions on the model's scale (log-odds for child labour, log(1 + rate) for
forced labour; forced labour's on the standard-detection rows the risk score ranks).

On a first night (an alert store without yearly runs) the earlier years are recorded
first as history only (`publish_alerts(..., history_only=True)`): every region's score and
trigger flags, which persistence and the rise rule read, but no alert, message or file,
since partners are never told about years before their first delivery. The scored year
then opens its alerts honestly (persistence over the recorded years), each new to
partners, and the store holds exactly the alerts partners were sent. The same inputs,
config and code give a byte-identical `risk.nc`.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from riskmodel import __version__
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import AlertStore
from riskmodel.config import RunConfig, config_hash
from riskmodel.countries.fit import TargetModel
from riskmodel.countries.history import History
from riskmodel.countries.labour import LabourOutcome, load_child_labour, load_forced_labour
from riskmodel.countries.ranking import country_names
from riskmodel.countries.rows import prediction_rows, training_design
from riskmodel.countries.store import rows_hash, save_target_model
from riskmodel.countries.targets import target as target_spec
from riskmodel.errors import ConfigError, InputError
from riskmodel.faults import kill_point
from riskmodel.io.atomic import json_text, write_with
from riskmodel.ops.session import Outcome, nightly_session
from riskmodel.pipeline import RunContext
from riskmodel.progress import peak_rss_mib
from riskmodel.regions import build_region_cube, coverage_facts, region_set
from riskmodel.regions.geojson_out import write_regions_geojson
from riskmodel.regions.risk_dataset import (TargetEstimate, assemble_region_risk,
                                            unscored_regions, write_region_risk_nc)
from riskmodel.report.region_report import alerts_from_run, write_region_report
from riskmodel.sources.inputs import sources_of

# The as-of year and the years before it that a night scores: the alert rules' rise
# compares with the two previous years and persistence needs two yearly runs.
YEARS_SCORED = 3
MIN_TRAINING_ROWS = 20
READERS = {"cl": load_child_labour, "fl": load_forced_labour}


def as_of_year(as_of: str | None, years: list[int]) -> int:
    """The year to score: `as_of` ("YYYY") or the cube's latest; `InputError` naming the
    value when it is not a year of the cube."""
    if as_of is None:
        return years[-1]
    if not re.fullmatch(r"\d{4}", str(as_of)):
        raise InputError(f"--as-of {as_of!r}: a yearly (region) config scores years; give "
                         f"YYYY between {years[0]} and {years[-1]}")
    if int(as_of) not in years:
        raise InputError(f"--as-of {as_of}: the feature cube covers {years[0]} to "
                         f"{years[-1]}")
    return int(as_of)


@dataclass(frozen=True)
class FittedTarget:
    """One target's model fitted for a night, with what it was trained on."""

    model: TargetModel
    history: History
    model_id: str
    training: dict[str, Any]


def fit_target(country: xr.Dataset, read: LabourOutcome, name: str, year: int,
               registry: Path) -> FittedTarget:
    """Fit target `name` on outcome rows of years before `year` (features of each row's
    own year, from the country cube) and store it under `registry/<name>-<model_id>`."""
    history = History(name, read.outcome)
    design = training_design(country, read.outcome, history)
    train = design.year < year
    if train.sum() < MIN_TRAINING_ROWS:
        raise InputError(f"year {year}: only {int(train.sum())} {name} outcome rows from "
                         f"earlier years; need {MIN_TRAINING_ROWS}")
    model = TargetModel(target_spec(name), "model", design.features).fit(
        design.X[train], design.value[train], design.iso3[train])
    digest = rows_hash(design.X[train], design.value[train], design.iso3[train],
                       design.year[train])
    training = {"rows": int(train.sum()),
                "countries": int(len(np.unique(design.iso3[train]))),
                "years": [int(design.year[train].min()), int(design.year[train].max())],
                "rows_sha256": digest, "hyper_parameters": model.chosen_}
    booster = model.point_.booster_.model_to_string()
    model_id = hashlib.sha256((booster + digest).encode()).hexdigest()[:12]
    save_target_model(model, registry / f"{name}-{model_id}",
                      {"model_id": model_id, "trained_for_year": year, **training})
    return FittedTarget(model, history, model_id, training)


def estimate_target(fitted: FittedTarget, region: xr.Dataset, years: list[int],
                    features: tuple[str, ...], k: int = 3) -> TargetEstimate:
    """The target's estimates on (year, region) for `years`, with intervals, top-`k`
    drivers (indices into `features`) and the reason of every unscored region."""
    model, name = fitted.model, fitted.model.target.name
    codes = [str(c) for c in region["region"].values]
    at = {c: i for i, c in enumerate(codes)}
    shape = (len(years), len(codes))
    rate, lo, hi = (np.full(shape, np.nan) for _ in range(3))
    std = [np.full(shape, np.nan) for _ in range(3)] if model.target.detection else None
    dfeat = np.full((len(years), k, len(codes)), -1, dtype=np.int16)
    dcon = np.full((len(years), k, len(codes)), np.nan, dtype=np.float32)
    reasons = np.full(shape, "", dtype=object)
    cols = [features.index(model.features[c]) for c in model.columns_]
    for yi, y in enumerate(years):
        units, _, X = prediction_rows(region, y, fitted.history, model.features)
        idx = np.array([at[str(u)] for u in units], dtype=np.int64)
        reasons[yi] = f"no input in {y}"
        reasons[yi, idx] = ""
        if not len(idx):
            continue
        rate[yi, idx], lo[yi, idx], hi[yi, idx] = model.predict(X)
        Xd = X
        if std is not None:
            Xd = model.standard_detection(X)
            s = model.predict(Xd)
            for j in range(3):
                std[j][yi, idx] = s[j]
        contrib = np.asarray(model.point_.booster_.predict(
            Xd[:, model.columns_], pred_contrib=True, num_threads=1))[:, :-1]
        order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :k]
        for r in range(min(k, order.shape[1])):
            c = contrib[np.arange(len(idx)), order[:, r]]
            keep = c != 0
            dfeat[yi, r, idx[keep]] = np.asarray(cols)[order[keep, r]]
            dcon[yi, r, idx[keep]] = c[keep]
    return TargetEstimate(rate=rate, lo=lo, hi=hi, driver_feature=dfeat, driver_contrib=dcon,
                          reasons=reasons, model_id=fitted.model_id,
                          contrib_units=model.target.scale.name,
                          standard=tuple(std) if std is not None else None)


def input_coverage(cfg: RunConfig, country: xr.Dataset) -> xr.DataArray:
    """bool (input, country, year): True where a feature read from the input has a value
    for the country and year (carried-forward values count as present; their age is a
    feature of its own)."""
    src = sources_of(cfg)
    owner: dict[str, str] = {}
    for name, s in src.inputs.items():
        for var in getattr(s, "variables", {}) or {}:
            owner[str(var)] = name
    names = sorted({owner[v] for v in owner})
    out = np.zeros((len(names), country.sizes["country"], country.sizes["year"]), bool)
    for var in country.data_vars:
        if "year" not in country[var].dims or var == "population":
            continue
        used = str(country[var].attrs.get("inputs", "")).split(",")
        for u in {owner.get(u.strip()) for u in used} - {None}:
            ok = np.isfinite(country[var].transpose("country", "year").values)
            out[names.index(u)] |= ok
    return xr.DataArray(out, dims=("input", "country", "year"),
                        coords={"input": names, "country": country["country"].values,
                                "year": country["year"].values})


def run_region_night(ctx: RunContext, as_of: str | None, *, command: str = "run",
                     alerts: bool = True) -> Path:
    """The real world's night for `as_of` (YYYY; default the latest year of the inputs);
    returns the run folder. `alerts=False` scores and reports without the alert store."""
    publish = alerts and ctx.cfg.alerts.enabled
    with nightly_session(ctx.cfg, ctx.config_path, ctx.out_root, ctx.progress, command,
                         alerts=publish) as outcome:
        return _night(ctx, outcome, as_of, publish=publish)


def _first_night(store_path: str) -> bool:
    if not Path(store_path).is_file():
        return True
    with AlertStore(store_path) as store:
        return store.latest_as_of() is None


def first_delivery(store_path: str, year: str) -> bool:
    """Whether `year` is the store's first delivery to partners: no run before it sent
    anything (runs recorded as history only do not count). True also on a rerun of that
    night, so its report says the same."""
    with AlertStore(store_path, readonly=True) as store:
        rows = store.db.execute("SELECT summary FROM runs WHERE as_of < ?", (year,))
        return all(json.loads(s).get("history_only") for (s,) in rows)


def _night(ctx: RunContext, outcome: Outcome, as_of: str | None, *, publish: bool) -> Path:
    cfg, progress = ctx.cfg, ctx.progress
    if cfg.sources is None:
        raise ConfigError("a region night needs [sources]")
    with progress.stage("inputs"):
        regions = region_set(cfg)  # read once: both cubes and every output use it
        region = build_region_cube(cfg, level="region", regions=regions)
        country = build_region_cube(cfg, level="country", regions=regions)
    years_all = [int(y) for y in region["year"].values]
    year = as_of_year(as_of, years_all)
    label = str(year)
    outcome.as_of = label
    window = [y for y in years_all if year - YEARS_SCORED < y <= year]
    run_dir = ctx.out_root / cfg.name / label
    outcome.run_dir = run_dir
    registry = Path(cfg.model.registry)
    fitted: dict[str, FittedTarget] = {}
    with progress.stage("train"):
        for t in cfg.targets:
            fitted[t] = fit_target(country, READERS[t](), t, year, registry)
    features = tuple(dict.fromkeys(f for t in cfg.targets for f in fitted[t].model.features))
    with progress.stage("score"):
        estimates = {t: estimate_target(fitted[t], region, window, features)
                     for t in cfg.targets}
        attrs = {f: region[f].attrs if f in region else {} for f in features}
        names = country_names()
        risk = assemble_region_risk(
            years=window, regions=[str(c) for c in region["region"].values],
            iso3=[str(c) for c in region["iso3"].values],
            region_name=[str(c) for c in region["region_name"].values],
            features=features,
            feature_long_name=[str(attrs[f].get("long_name", f)) for f in features],
            feature_domain=[str(attrs[f].get("domain", "history")) for f in features],
            population=region["population"].sel(year=window).values,
            estimates=estimates, country_name=names, as_of=year,
            config_hash=config_hash(cfg), code_version=__version__,
            history=f"riskmodel {__version__} run --config {ctx.config_path}")
    polygons = dict(zip(regions.codes, regions.geometries, strict=True))
    with progress.stage("write"):
        write_region_risk_nc(risk, run_dir / "risk.nc")
        kill_point("write:risk.nc")
        write_regions_geojson(risk, polygons, run_dir / "regions.geojson")
    outputs = {"risk": "risk.nc", "regions": "regions.geojson"}
    first = False  # the night's alerts are the partners' first delivery
    summary: dict[str, Any] = {"risk": {t: {"regions_scored": int(np.isfinite(
        risk["risk"].sel(target=t, year=year).values).sum())} for t in cfg.targets}}
    if publish:
        with progress.stage("alerts"):
            sent = datetime.now(timezone.utc).replace(microsecond=0)
            history: list[str] = []
            if _first_night(cfg.alerts.store):
                for y in window[:-1]:
                    publish_alerts(risk.assign_attrs(as_of=y), run_dir=run_dir,
                                   cfg=cfg.alerts, run_id=f"{cfg.name}-{y}", sent=sent,
                                   history_only=True, polygons=polygons)
                    history.append(str(y))
            outcome.backfilled = history
            last = publish_alerts(risk, run_dir=run_dir, cfg=cfg.alerts,
                                  run_id=f"{cfg.name}-{label}", sent=sent, polygons=polygons)
            first = first_delivery(cfg.alerts.store, label)
            summary["alerts"] = outcome.alerts = {
                **{k: v for k, v in last.items() if k != "files"},
                "history_years": history, "first_delivery": first}
            outputs.update(alerts_geojson="alerts.geojson", alerts_csv="alerts.csv",
                           alerts_cap="alerts/cap/")
    unscored = unscored_regions(risk, year)
    facts = coverage_facts(region, year)
    with progress.stage("report"):
        write_region_report(risk, polygons, run_dir, coverage=input_coverage(cfg, country),
                            alerts=alerts_from_run(run_dir), options=cfg.report,
                            first_delivery=first)
        outputs["report"] = "report.html"
    manifest = {
        "status": "ok", "config_path": ctx.config_path, "config_hash": config_hash(cfg),
        "config": cfg.model_dump(mode="json"), "seed": cfg.seed, "synthetic": False,
        "as_of": label, "years_scored": window, "code_version": __version__,
        "python": platform.python_version(),
        "models": {t: {"model_id": f.model_id, "trained_now": True,
                       "folder": str(registry / f"{t}-{f.model_id}"), **f.training}
                   for t, f in fitted.items()},
        "coverage": facts, "unscored_regions": unscored,
        "notices": json.loads(region.attrs.get("notices", "[]")),
        "outputs": outputs, "summary": summary, "timings_s": progress.timings,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    text = json_text(manifest)
    write_with(run_dir / "manifest.json", lambda p: p.write_text(text, encoding="utf-8"))
    return run_dir
