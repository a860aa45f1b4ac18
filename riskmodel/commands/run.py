"""`riskmodel run`: the nightly pipeline end to end (trains models only when none is
registered for the config), as one locked and recorded session with input checks."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from riskmodel.alerts.publish import publish_alerts
from riskmodel.commands._common import (add_check_args, add_config_args, add_dask_arg, context,
                                        overrides)
from riskmodel.ops.session import nightly_session
from riskmodel.pipeline import (RunContext, backfill_alerts, build_features, check_inputs,
                                get_models, load_world, month_index, month_label,
                                risk_summary, run_dir_for, score, write_manifest)
from riskmodel.report.run_report import write_run_report
from riskmodel.scale.cluster import dask_client
from riskmodel.targeting import run_targeting
from riskmodel.world import SYNTHETIC_NOTE
from riskmodel.world.tables import write_tables

TARGETING_YEARS = 3


def execute(ctx: RunContext, as_of: str | None, *, train_missing: bool,
            retrain: bool = False, allow: tuple[str, ...] = (),
            command: str = "run") -> Path:
    """Run every stage for `as_of` (default: config, else latest month); return the run dir.

    Holds the run-folder and alert-store locks and records the run in the history (see
    `riskmodel.ops.session`); `allow` names the check overrides in force (allow_stale,
    allow_missing, allow_drift). Nothing is published when a check fails.
    """
    with nightly_session(ctx, command), dask_client(ctx.dask) as client:
        ctx.client = client
        return _stages(ctx, as_of, train_missing=train_missing, retrain=retrain, allow=allow)


def _stages(ctx: RunContext, as_of: str | None, *, train_missing: bool, retrain: bool,
            allow: tuple[str, ...]) -> Path:
    inputs = load_world(ctx)
    if not ctx.blockwise:
        build_features(ctx)
    get_models(ctx, retrain=retrain, train_missing=train_missing)
    month = month_index(inputs, as_of or ctx.cfg.as_of)
    label = month_label(inputs, month)
    run_dir = run_dir_for(ctx, label)
    ctx.run_dir, ctx.as_of = run_dir, label
    check_inputs(ctx, run_dir, month, allow)
    if ctx.cfg.alerts.enabled:
        backfill_alerts(ctx, run_dir, month)
    risk = score(ctx, run_dir, month)
    ctx.summary["risk"] = risk_summary(risk)
    synthetic = bool(inputs.attrs.get("synthetic", 0))
    alerts = None
    if ctx.cfg.alerts.enabled:
        with ctx.progress.stage("alerts"):
            run_id = f"{ctx.cfg.name}-{label}"
            alerts = publish_alerts(risk, run_dir=run_dir, cfg=ctx.cfg.alerts, run_id=run_id,
                                    sent=datetime.now(timezone.utc).replace(microsecond=0))
            ctx.summary["alerts"] = {k: v for k, v in alerts.items() if k != "files"}
            ctx.outputs.update(alerts_geojson="alerts.geojson", alerts_csv="alerts.csv",
                               alerts_cap="alerts/cap/")
    targeting_html = None
    with ctx.progress.stage("targeting"):
        events, programmes = write_tables(inputs, run_dir / "inputs")
        year = int(label[:4])
        result = run_targeting(events, programmes, (year - TARGETING_YEARS + 1, year),
                               json_path=run_dir / "targeting.json",
                               html_path=run_dir / "targeting.html", risk=risk,
                               note=SYNTHETIC_NOTE if synthetic else None)
        targeting_html = result.html
        ctx.outputs.update(targeting_json="targeting.json", targeting_html="targeting.html")
    with ctx.progress.stage("report"):
        ctx.outputs["report"] = "report.html"
        manifest = write_manifest(ctx, run_dir, month, status="running")
        write_run_report(run_dir, risk, manifest, alerts, targeting_html)
    write_manifest(ctx, run_dir, month, status="ok")
    return run_dir


def handle(args: argparse.Namespace) -> int:
    ctx = context(args)
    run_dir = execute(ctx, args.as_of, train_missing=True, retrain=args.retrain,
                      allow=overrides(args))
    print(f"riskmodel: outputs in {run_dir}/ (report.html, risk.nc, alerts.geojson, "
          f"alerts.csv, manifest.json)", file=sys.stdout)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the nightly pipeline end to end",
                       description="World (or configured sources) -> features -> models "
                                   "(trained if none is registered) -> input checks -> "
                                   "scores -> alerts -> targeting -> report, into "
                                   "<out>/<name>/<as-of>/. Exit codes: 0 ok, 1 internal "
                                   "error, 2 bad input, 3 stale input, 4 drift, 5 another "
                                   "run holds the lock.")
    add_config_args(p)
    p.add_argument("--as-of", metavar="YYYY-MM", help="month to score (default: latest)")
    p.add_argument("--retrain", action="store_true",
                   help="train new models even if matching ones are registered")
    add_check_args(p)
    add_dask_arg(p)
    p.set_defaults(handler=handle)
