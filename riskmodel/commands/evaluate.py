"""`riskmodel evaluate`: out-of-time evaluation of the FL and CL models against the
synthetic world's truth, written as JSON (see riskmodel.models.evaluate and docs/models.md)."""

from __future__ import annotations

import argparse
import sys

from riskmodel.commands._common import DEFAULT_CONFIG, context
from riskmodel.io.atomic import write_json
from riskmodel.models.evaluate import KEYS, evaluate
from riskmodel.pipeline import build_features, load_world, month_label


def handle(args: argparse.Namespace) -> int:
    ctx = context(args)
    inputs = load_world(ctx)
    cube = build_features(ctx, inputs)
    with ctx.progress.stage("evaluate"):
        result = evaluate(ctx.cfg, inputs, cube, note=ctx.progress.note,
                          time_label=lambda i: month_label(inputs, i))
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
    p.add_argument("--json", required=True, metavar="OUT.json",
                   help="metrics per target (the keys of docs/models.md)")
    p.add_argument("--details", metavar="DETAILS.json",
                   help="also write reliability tables, interval widths, timings")
    p.set_defaults(handler=handle)
