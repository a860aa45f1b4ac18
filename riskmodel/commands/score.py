"""`riskmodel score --as-of YYYY-MM`: the night (`riskmodel.pipeline.run_night`) for one
month with the registered models (no training: a missing model is an error);
`--no-alerts` re-scores a month (risk.nc, report) without touching the alert store."""

from __future__ import annotations

import argparse
import sys

from riskmodel.commands._common import (add_check_args, add_config_args, add_dask_arg,
                                        night_context, overrides)
from riskmodel.pipeline import run_night
from riskmodel.config import is_region_config
from riskmodel.region_night import run_region_night


def handle(args: argparse.Namespace) -> int:
    ctx = night_context(args, "score")
    if is_region_config(ctx.cfg):
        run_dir = run_region_night(ctx, args.as_of, command="score",
                                   alerts=not args.no_alerts)
    else:
        run_dir = run_night(ctx, args.as_of, train_missing=False, allow=overrides(args),
                            command="score", alerts=not args.no_alerts)
    print(f"riskmodel: outputs in {run_dir}/", file=sys.stdout)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score one month with the registered models",
                       description="Score the month given by --as-of with the models "
                                   "registered for this config (or for [scale] "
                                   "models_from); fails if none is. Block-wise from the "
                                   "[scale] inputs Zarr store when the config names one, "
                                   "on a Dask cluster with --dask.")
    add_config_args(p)
    p.add_argument("--as-of", metavar="YYYY-MM|YYYY", required=True,
                   help="month to score (a year for yearly region configs, whose models "
                        "are fitted in the run: seconds, deterministic)")
    p.add_argument("--no-alerts", action="store_true",
                   help="write risk.nc and the report for the month without reading or "
                        "writing the alert store (no backfill, no alerts): for re-scoring a "
                        "past month")
    add_check_args(p)
    add_dask_arg(p)
    p.set_defaults(handler=handle)
