"""`riskmodel run`: the night end to end (`riskmodel.pipeline.run_night`; trains models only
when none is registered for the config), as one locked and recorded session with input
checks."""

from __future__ import annotations

import argparse
import sys

from riskmodel.commands._common import (add_check_args, add_config_args, add_dask_arg,
                                        night_context, overrides)
from riskmodel.pipeline import run_night
from riskmodel.config import is_region_config
from riskmodel.region_night import run_region_night


def handle(args: argparse.Namespace) -> int:
    ctx = night_context(args, "run")
    if is_region_config(ctx.cfg):
        run_dir = run_region_night(ctx, args.as_of)
        print(f"riskmodel: outputs in {run_dir}/ (report.html, risk.nc, regions.geojson, "
              f"alerts.geojson, alerts.csv, manifest.json)\nriskmodel: report: "
              f"{run_dir / 'report.html'}", file=sys.stdout)
        return 0
    run_dir = run_night(ctx, args.as_of, train_missing=True, retrain=args.retrain,
                        allow=overrides(args))
    print(f"riskmodel: outputs in {run_dir}/ (report.html, risk.nc, alerts.geojson, "
          f"alerts.csv, manifest.json)\nriskmodel: report: {run_dir / 'report.html'}",
          file=sys.stdout)
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
    p.add_argument("--as-of", metavar="YYYY-MM|YYYY",
                   help="month to score (default: the config's as_of, else the latest month "
                        "of the inputs, so a nightly run on fresh --inputs scores the new "
                        "month); a year for yearly region configs (configs/real.toml)")
    p.add_argument("--retrain", action="store_true",
                   help="train new models even if matching ones are registered")
    add_check_args(p)
    add_dask_arg(p)
    p.set_defaults(handler=handle)
