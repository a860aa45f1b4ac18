"""`riskmodel train`: (re)train the FL and CL models for a config and register them.

Training holds the run-folder lock of the config (`<out>/<name>/.lock`, `--out` as for
`run`): the nightly run of the same config loads these models, and retraining under it
would swap them mid-run. `--registry` names another model registry than the config's.
Prints one line per model, the outcome partners' own models (`[model] outcomes_partner`)
after the config's (`--json`: the same as JSON, the partners' under "partners").
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import Any

from riskmodel.commands._common import add_config_args, context
from riskmodel.ops.lock import folder_lock, hold_lock
from riskmodel.ops.paths import check_config_paths
from riskmodel.pipeline import RunModels, build_features, get_models, load_world


def _entry(m: Any) -> dict[str, Any]:
    return {"model_id": m.model_id, "folder": str(m.folder), "rows": m.rows,
            "training_window": list(m.training_window)}


def trained(models: RunModels) -> dict[str, Any]:
    """The registered models of a training as JSON-ready data: {target: entry} for the
    config's models, plus {"partners": {partner: {target: entry}}} when outcome partners
    have their own (entry: model_id, folder, rows, training_window)."""
    out: dict[str, Any] = {t: _entry(m) for t, m in models.models.items()}
    partners = {pid: {t: _entry(m) for t, m in per.items()}
                for pid, per in models.partners.items() if per}
    if partners:
        out["partners"] = partners
    return out


def table(out: dict[str, Any]) -> list[str]:
    """The lines `riskmodel train` prints for `trained(...)`: one per model."""
    rows = [(t, e) for t, e in out.items() if t != "partners"]
    rows += [(f"{t} ({pid})", e) for pid, per in out.get("partners", {}).items()
             for t, e in per.items()]
    width = max([7] + [len(t) + 2 for t, _ in rows])
    lines = [f"{'target':<{width}}{'model id':<14}{'rows':>10}  {'training window':<19}  "
             f"folder"]
    for t, m in rows:
        window = " to ".join(str(w) for w in m["training_window"])
        lines.append(f"{t:<{width}}{m['model_id']:<14}{m['rows']:>10}  {window:<19}  "
                     f"{m['folder']}")
    return lines


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
    out = trained(models)
    if args.json:
        print(json.dumps(out, indent=2), file=sys.stdout)
        return 0
    print("\n".join(table(out)))
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
