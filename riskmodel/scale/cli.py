"""`python -m riskmodel.scale`: store a world as Zarr, and score one month block by block.

    python -m riskmodel.scale store --config C            # world -> [scale] inputs (Zarr)
    python -m riskmodel.scale score --config C --as-of YYYY-MM [--dask local|tcp://H:P]

`score` reads the inputs from the config's Zarr store (or generates the world in memory
when the config names none), loads the registered models (no training: `riskmodel train`
first), scores the month in spatial blocks here or on a Dask cluster and writes
`<out>/<name>/<as_of>/risk.nc` atomically. Alerts, targeting and the report stay with
`riskmodel score`, which calls the same block scorer once its hook is in (docs/scale.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import features
from riskmodel import __version__
from riskmodel.config import RunConfig, config_hash, load_config
from riskmodel.io.atomic import write_with
from riskmodel.models.registry import model_dir
from riskmodel.pipeline import RunContext, get_models, month_index, month_label
from riskmodel.progress import Progress, peak_rss_mib
from riskmodel.scale.score import score_month_blocks
from riskmodel.scale.store import open_inputs, write_inputs
from riskmodel.world import SYNTHETIC_NOTE, make_world


def load_inputs(cfg: RunConfig) -> Any:
    """The canonical inputs: the config's Zarr store (lazy) or the world in memory."""
    if cfg.scale.inputs:
        return open_inputs(cfg.scale.inputs)
    return make_world(cfg.world, cfg.seed)


def risk_attrs(cfg: RunConfig, inputs: Any, month: int, models: dict) -> dict[str, Any]:
    """Provenance attrs of the risk dataset (the same keys `riskmodel.pipeline` writes)."""
    synthetic = int(inputs.attrs.get("synthetic", 0))
    return {"synthetic": synthetic, "comment": SYNTHETIC_NOTE if synthetic else "",
            "as_of": month_label(inputs, month), "horizon": cfg.model.horizon,
            "config_hash": config_hash(cfg), "code_version": __version__,
            "source": "riskmodel " + __version__,
            **{f"model_id_{t}": m[1]["model_id"] for t, m in models.items()}}


def score_command(config: str, as_of: str | None, dask: str | None, out: str | None,
                  quiet: bool = False, models_from: str | None = None
                  ) -> tuple[Path, dict[str, float]]:
    """Score `as_of` for `config` block by block (on `dask` when given); returns the risk.nc
    path and the seconds each stage took.

    `models_from` names another config whose registered models to use (same features),
    for worlds too short to train their own, such as the 36-month global benchmark world.
    """
    cfg = load_config(config)
    progress = Progress(quiet=quiet)
    ctx = RunContext(cfg=cfg, config_path=config, progress=progress,
                     out_root=Path(out or cfg.out))
    with progress.stage("inputs"):
        ctx.inputs = load_inputs(cfg)
        # get_models reads only the cube's feature names (to find the registered models);
        # the features themselves are built per block.
        names, _ = features.plan_features(ctx.inputs)
        ctx.cube = xr.Dataset({n: ((), np.float32(np.nan)) for n in names})
    owner = ctx
    if models_from:
        owner = RunContext(cfg=load_config(models_from), config_path=models_from,
                           progress=progress, out_root=ctx.out_root, inputs=ctx.inputs,
                           cube=ctx.cube)
    get_models(owner, train_missing=False)
    ctx.models = owner.models
    month = month_index(ctx.inputs, as_of)
    folders = {t: str(model_dir(owner.cfg.model.registry, t, m[1]["model_id"]))
               for t, m in ctx.models.items()}
    attrs = risk_attrs(cfg, ctx.inputs, month, ctx.models)
    kwargs = {"block": cfg.scale.block, "inference": cfg.scale.inference,
              "cache_dir": cfg.scale.compiled_cache}
    with progress.stage("score"):
        if dask:
            from riskmodel.scale.cluster import connect

            with connect(dask) as client:
                risk = score_month_blocks(ctx.models, ctx.inputs, month, attrs, client=client,
                                          folders=folders, **kwargs)
                if dask == "local":
                    client.cluster.close()
        else:
            risk = score_month_blocks(ctx.models, ctx.inputs, month, attrs, **kwargs)
    run_dir = ctx.out_root / cfg.name / attrs["as_of"]
    with progress.stage("write"):
        write_with(run_dir / "risk.nc", lambda p: risk.to_netcdf(p, engine="netcdf4"))
    progress.note(f"peak memory {peak_rss_mib():.0f} MiB")
    return run_dir / "risk.nc", dict(progress.timings)


def store_command(config: str, store: str | None, chunk: int | None) -> Path:
    """Generate the config's world and write it to its Zarr store; the store path."""
    cfg = load_config(config)
    path = store or cfg.scale.inputs
    if not path:
        raise SystemExit(f"{config}: no [scale] inputs store named; pass --store PATH")
    t = time.perf_counter()
    inputs = make_world(cfg.world, cfg.seed)
    write_inputs(inputs, path, chunk=chunk or cfg.scale.block)
    print(f"riskmodel.scale: world written to {path} in {time.perf_counter() - t:.0f} s")
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run `store` or `score`."""
    ap = argparse.ArgumentParser(prog="python -m riskmodel.scale", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("store", help="generate the world and write it as Zarr")
    s.add_argument("--config", required=True)
    s.add_argument("--store", help="Zarr path (default: the config's [scale] inputs)")
    s.add_argument("--chunk", type=int, help="spatial chunk edge (default: [scale] block)")
    c = sub.add_parser("score", help="score one month block by block")
    c.add_argument("--config", required=True)
    c.add_argument("--as-of", metavar="YYYY-MM")
    c.add_argument("--dask", metavar="local|tcp://HOST:PORT",
                   help="run the blocks on a LocalCluster or an existing scheduler")
    c.add_argument("--out", help="parent folder of run folders (default: the config's)")
    c.add_argument("--models-from", metavar="TOML",
                   help="use the models registered for this other config (same features)")
    c.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.command == "store":
        store_command(args.config, args.store, args.chunk)
    else:
        path, _ = score_command(args.config, args.as_of, args.dask, args.out, args.quiet,
                                args.models_from)
        print(f"riskmodel.scale: risk in {path}", file=sys.stdout)
    return 0
