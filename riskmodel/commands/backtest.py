"""`riskmodel backtest`: rolling-origin evaluation of the model against baselines.

Writes OUT.json (every number; same config -> same bytes) and optionally an HTML report
with PNG figures in `<report stem>-figures/` beside it; see docs/backtest.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from riskmodel.backtest import (backtest_json, load_backtest_config, run_backtest,
                                run_backtest_worlds)
from riskmodel.errors import EXIT_OK
from riskmodel.io.atomic import write_json
from riskmodel.models.seeds import SELECTION_SEEDS, report_seeds
from riskmodel.progress import Progress
from riskmodel.world.scenarios import SCENARIOS

DEFAULT_CONFIG = "configs/backtest.toml"


def register(subparsers: Any) -> None:
    """Add the `backtest` parser to the CLI's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "backtest", help="rolling-origin backtest of the model against baselines",
        description="Retrain the model and the baselines (persistence, logistic, composite "
                    "index, and the oracle on synthetic worlds) at each origin, score the "
                    "months up to the next origin, and write every metric per origin and "
                    "pooled with bootstrap intervals for model-minus-baseline differences.")
    p.add_argument("--config", default=DEFAULT_CONFIG, metavar="TOML",
                   help=f"backtest config (default: {DEFAULT_CONFIG})")
    p.add_argument("--json", required=True, metavar="OUT.json", help="results JSON to write")
    p.add_argument("--report", metavar="OUT.html", help="HTML report to write (with PNGs)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    worlds = p.add_mutually_exclusive_group()
    worlds.add_argument("--seeds", type=int, metavar="N",
                        help="backtest the worlds of report seeds 1..N and pool them (the "
                             "bootstrap resamples the admin-1 units of every world)")
    worlds.add_argument("--selection", action="store_true",
                        help="the same over the selection seeds, the only ones a choice "
                             "of settings may look at")
    p.add_argument("--scenario", choices=sorted(SCENARIOS),
                   help="scenario world (riskmodel.world.scenarios) instead of the "
                        "config's [world] scenario")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the backtest; a bad config fails before anything is written."""
    cfg = load_backtest_config(args.config)
    if args.scenario:
        cfg = cfg.model_copy(update={"world": cfg.world.model_copy(
            update={"scenario": args.scenario})})
    progress = Progress(quiet=args.quiet)
    if args.seeds is not None or args.selection:
        seeds = list(SELECTION_SEEDS if args.selection else report_seeds(args.seeds))
        result = run_backtest_worlds(cfg, seeds, source=str(args.config), progress=progress)
    else:
        result = run_backtest(cfg, source=str(args.config), progress=progress)
    with progress.stage("summary"):
        doc = backtest_json(result)
    write_json(args.json, doc)
    if args.report:
        from riskmodel.report.backtest_report import write_backtest_report

        with progress.stage("report"):
            write_backtest_report(args.report, doc, result)
    for target, t in doc["targets"].items():
        line = ", ".join(f"{m} {v['pr_auc']}" for m, v in t["pooled"].items())
        print(f"{target}: pooled PR-AUC {line}", file=sys.stdout)
    return EXIT_OK
