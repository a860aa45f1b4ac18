"""`riskmodel train`: (re)train the FL and CL models for a config and register them.

Training holds the run-folder lock of the config (`<out>/<name>/.lock`, `--out` as for
`run`): the nightly run of the same config loads these models, and retraining under it
would swap them mid-run. `--registry` names another model registry than the config's.
Prints one line per model (`--json`: the same as JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from riskmodel.commands._common import add_config_args, context
from riskmodel.ops.lock import folder_lock, hold_lock
from riskmodel.ops.paths import check_config_paths
from riskmodel.pipeline import build_features, get_models, load_world


def handle(args: argparse.Namespace) -> int:
    ctx = context(args)
    if args.registry:
        ctx = replace(ctx, cfg=ctx.cfg.model_copy(
            update={"model": ctx.cfg.model.model_copy(update={"registry": args.registry})}))
    check_config_paths(ctx.cfg, ctx.config_path)
    family = ctx.out_root / ctx.cfg.name
    with hold_lock(folder_lock(family), f"riskmodel train --config {ctx.config_path}"):
        inputs = load_world(ctx)
        models = get_models(ctx, inputs, build_features(ctx, inputs), retrain=True)
    out = {t: {"model_id": m.model_id, "folder": str(m.folder), "rows": m.rows,
               "training_window": list(m.training_window)}
           for t, m in models.models.items()}
    if args.json:
        print(json.dumps(out, indent=2), file=sys.stdout)
        return 0
    print(f"{'target':<7}{'model id':<14}{'rows':>10}  {'training window':<19}  folder")
    for t, m in out.items():
        window = " to ".join(str(w) for w in m["training_window"])
        print(f"{t:<7}{m['model_id']:<14}{m['rows']:>10}  {window:<19}  {m['folder']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train and register the FL and CL models",
                       description="Build the world and features, train one calibrated "
                                   "LightGBM ensemble per target, and register it.")
    add_config_args(p)
    p.add_argument("--registry", metavar="DIR",
                   help="model registry folder to register the models in (default: the "
                        "config's [model] registry)")
    p.add_argument("--json", action="store_true",
                   help="print the registered models as JSON instead of a table")
    p.set_defaults(handler=handle)
