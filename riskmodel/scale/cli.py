"""`python -m riskmodel.scale`: store a world as Zarr; `score` is `riskmodel score`.

    python -m riskmodel.scale store --config C            # world -> [scale] inputs (Zarr)
    python -m riskmodel.scale score --config C --as-of YYYY-MM [--dask local|tcp://H:P]

`score` is an alias of `riskmodel score` (same arguments): the pipeline scores block-wise
from the config's `[scale] inputs` store, here or on a Dask cluster, and runs the input
checks, alerts, targeting and report (docs/scale.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from riskmodel.config import load_config
from riskmodel.scale.store import write_inputs
from riskmodel.world import make_world


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
    """Parse `argv` and run `store`, or hand `score ...` to `riskmodel score ...`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["score"]:
        from riskmodel.cli import main as riskmodel_main

        return riskmodel_main(argv)  # exits with riskmodel's code
    ap = argparse.ArgumentParser(prog="python -m riskmodel.scale", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("store", help="generate the world and write it as Zarr")
    s.add_argument("--config", required=True)
    s.add_argument("--store", help="Zarr path (default: the config's [scale] inputs)")
    s.add_argument("--chunk", type=int, help="spatial chunk edge (default: [scale] block)")
    sub.add_parser("score", help="alias of `riskmodel score` (same arguments)")
    args = ap.parse_args(argv)
    store_command(args.config, args.store, args.chunk)
    return 0
