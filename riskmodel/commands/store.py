"""`python -m riskmodel.scale`: store a world as Zarr; `score` is `riskmodel score`.

    python -m riskmodel.scale store --config C            # world -> [scale] inputs (Zarr)
        [--generator auto|whole|tiled]                    # tiled: chunk by chunk
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
from riskmodel.progress import peak_rss_mib
from riskmodel.scale.store import write_inputs, write_tiled_world
from riskmodel.world import make_world
from riskmodel.world.tiled import plan_world

# Worlds up to this many cell-months are generated whole by `make_world` (the demo has
# 4.6 M, a 1/100 slice of the global world 2.3 M at 0.8 GiB peak); larger ones tile by tile.
WHOLE_WORLD_LIMIT = 10_000_000


def store_command(config: str, store: str | None, chunk: int | None,
                  generator: str = "auto") -> Path:
    """Generate the config's world and write it to its Zarr store; the store path.

    `generator` "whole" builds the world in memory (`make_world`), "tiled" chunk by chunk
    (`riskmodel.world.tiled`, a different world of the same form), "auto" picks "tiled"
    above `WHOLE_WORLD_LIMIT` cell-months.
    """
    cfg = load_config(config)
    path = store or cfg.scale.inputs
    if not path:
        raise SystemExit(f"{config}: no [scale] inputs store named; pass --store PATH")
    w = cfg.world
    if generator == "auto":
        generator = "tiled" if w.ny * w.nx * w.n_months > WHOLE_WORLD_LIMIT else "whole"
    chunk = chunk or cfg.scale.block
    t = time.perf_counter()
    if generator == "whole":
        write_inputs(make_world(w, cfg.seed), path, chunk=chunk)
        summary = ""
    else:
        world = plan_world(w, cfg.seed)
        print(f"riskmodel.scale: tiled world planned in {time.perf_counter() - t:.0f} s",
              flush=True)

        def report(done: int, total: int) -> None:
            print(f"riskmodel.scale: chunk {done}/{total} "
                  f"({time.perf_counter() - t:.0f} s, peak {peak_rss_mib():.0f} MiB)",
                  flush=True)

        info = write_tiled_world(world, path, chunk=chunk, progress=report)
        summary = (f" ({info['land_cells']} land cells, {info['chunks_with_land']} of "
                   f"{info['chunks']} chunks with land)")
    print(f"riskmodel.scale: {generator} world written to {path} in "
          f"{time.perf_counter() - t:.0f} s{summary}, peak {peak_rss_mib():.0f} MiB")
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
    s.add_argument("--generator", choices=("auto", "whole", "tiled"), default="auto",
                   help="whole: make_world in memory; tiled: chunk by chunk "
                        f"(auto: tiled above {WHOLE_WORLD_LIMIT:,} cell-months)")
    sub.add_parser("score", help="alias of `riskmodel score` (same arguments)")
    args = ap.parse_args(argv)
    store_command(args.config, args.store, args.chunk, args.generator)
    return 0
