"""`riskmodel evaluate`: out-of-time evaluation of the FL and CL models against the
synthetic world's truth, written as JSON (see riskmodel.models.evaluate and docs/models.md)."""

from __future__ import annotations

import argparse
import sys

from riskmodel.commands._common import DEFAULT_CONFIG, context
from riskmodel.io.atomic import write_json
from riskmodel.models.evaluate import KEYS, evaluate
from riskmodel.models.seeds import SELECTION_SEEDS, evaluate_seeds, report_seeds
from riskmodel.pipeline import build_features, load_world, month_label


def handle_seeds(args: argparse.Namespace) -> int:
    ctx = context(args)
    seeds = SELECTION_SEEDS if args.selection else report_seeds(args.seeds)
    with ctx.progress.stage("evaluate"):
        result = evaluate_seeds(ctx.cfg, seeds, note=ctx.progress.note)
    result["seed_set"] = "selection" if args.selection else "report"
    if args.json:
        write_json(args.json, result)
    keys = ("auc_ratio_chance_corrected", "precision_ratio", "ece", "interval_coverage",
            "sd_minus_naive", "sd_minus_without_coverage")
    level = next(iter(result["summary"].values()))["auc"]["median_level"]
    lines = [f"{len(seeds)} {result['seed_set']} seeds, scenario {result['scenario']}: "
             f"median [{level:.0%} interval of the median] (10th-90th percentile)"]
    for target, s in result["summary"].items():
        for key in keys:
            f = s[key]
            lines.append(f"{target} {key:<27} {f['median']:7.3f} [{f['median_lo']:.3f}, "
                         f"{f['median_hi']:.3f}] ({f['p10']:.3f}-{f['p90']:.3f})")
        lines.append(f"{target} standard detection beats naive in "
                     f"{s['share_sd_beats_naive']:.0%} of seeds, the model without "
                     f"coverage in {s['share_sd_beats_without_coverage']:.0%}")
    print("\n".join(lines), file=sys.stdout)
    return 0


def handle(args: argparse.Namespace) -> int:
    if args.seeds is not None or args.selection:
        return handle_seeds(args)
    ctx = context(args)
    inputs = load_world(ctx)
    cube = build_features(ctx, inputs)
    with ctx.progress.stage("evaluate"):
        result = evaluate(ctx.cfg, inputs, cube, note=ctx.progress.note,
                          time_label=lambda i: month_label(inputs, i))
    if args.json:
        write_json(args.json, result["metrics"])
    if args.details:
        write_json(args.details, result["details"])
    width = max(len(k) for k in KEYS)
    lines = [f"{'metric':<{width}}  " + "  ".join(f"{t:>6}" for t in result["metrics"])]
    for key in KEYS:
        lines.append(f"{key:<{width}}  " + "  ".join(
            f"{m[key]:6.3f}" for m in result["metrics"].values()))
    print("\n".join(lines), file=sys.stdout)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate the models out of time against the truth",
                       description="Train on all but the last 24 labelled months of the "
                                   "synthetic world, score those months, and write per "
                                   "target AUC, PR-AUC, precision at a 5% budget, ECE, "
                                   "interval coverage and ranking of true incidence, each "
                                   "beside the oracle that knows the true risk.")
    p.add_argument("--config", default=DEFAULT_CONFIG, metavar="TOML",
                   help=f"run config (default: {DEFAULT_CONFIG})")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", metavar="OUT.json",
                   help="metrics per target (the keys of docs/models.md); with --seeds, "
                        "per-seed figures and their summary")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, metavar="N",
                       help="regenerate the world for report seeds 1..N and summarise "
                            "each figure across them (median, 10th/90th percentiles, an "
                            "interval for the median)")
    seeds.add_argument("--selection", action="store_true",
                       help="the same over the selection seeds, the only ones a choice "
                            "of settings may look at")
    p.add_argument("--details", metavar="DETAILS.json",
                   help="also write reliability tables, interval widths, timings")
    p.set_defaults(handler=handle)
