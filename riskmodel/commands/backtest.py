"""`riskmodel backtest`: rolling-origin evaluation of the model against baselines.

Prints the pooled metrics per target and method as a table; `--json OUT.json` also writes
every number (same config -> same bytes) and `--report` an HTML report with PNG figures in
`<report stem>-figures/` beside it. Each origin is a progress line on stderr unless
`--quiet`; see docs/backtest.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from riskmodel.backtest import (backtest_json, load_backtest_config, run_backtest,
                                run_backtest_worlds)
from riskmodel.config import load_config
from riskmodel.errors import EXIT_OK
from riskmodel.io.atomic import write_json
from riskmodel.models.seeds import SELECTION_SEEDS, report_seeds
from riskmodel.progress import Progress
from riskmodel.world.scenarios import SCENARIOS

DEFAULT_CONFIG = "configs/backtest.toml"
DEPLOYED_CONFIG = "configs/demo.toml"


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
    p.add_argument("--json", metavar="OUT.json",
                   help="also write every number (per origin, pooled, differences) as JSON")
    p.add_argument("--report", metavar="OUT.html", help="HTML report to write (with PNGs)")
    p.add_argument("--deployed", metavar="TOML",
                   help="run config of the nightly run whose [model] settings the report "
                        f"compares with the backtest's (default: {DEPLOYED_CONFIG} when it "
                        "exists; 'none' to skip)")
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
    deployed_path = args.deployed
    if deployed_path is None and Path(DEPLOYED_CONFIG).is_file():
        deployed_path = DEPLOYED_CONFIG
    deployed = None
    if deployed_path not in (None, "none"):
        deployed = (load_config(deployed_path).model, str(deployed_path))
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
        doc = backtest_json(result, deployed)
    if args.json:
        write_json(args.json, doc)
    if args.report:
        from riskmodel.report.backtest_report import write_backtest_report

        with progress.stage("report"):
            write_backtest_report(args.report, doc, result)
    print(pooled_table(doc), end="", file=sys.stdout)
    return EXIT_OK


# Columns of the printed table: (heading, metric key, format); the JSON has every metric.
TABLE = (("AUC", "auc", ".3f"), ("PR-AUC", "pr_auc", ".3f"), ("Brier skill", "brier_skill",
         ".3f"), ("prec@budget", "precision_at_budget", ".3f"),
         ("recall@budget", "recall_at_budget", ".3f"), ("lead (months)", "lead_time_months",
                                                        ".1f"))


def pooled_table(doc: dict[str, Any]) -> str:
    """The pooled metrics of a backtest document as a plain-text table, one row per target
    and method ("-" where a metric is undefined)."""
    head = f"{'target':<7}{'method':<13}" + "".join(f"{h:>15}" for h, _, _ in TABLE)
    lines = [head, "-" * len(head)]
    for target, t in doc["targets"].items():
        for method, m in t["pooled"].items():
            cells = "".join(f"{'-' if m.get(k) is None else format(m[k], f):>15}"
                            for _, k, f in TABLE)
            lines.append(f"{target:<7}{method:<13}{cells}")
    return "\n".join(lines) + "\n"
