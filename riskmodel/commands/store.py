"""`riskmodel store`: generate a config's synthetic world and write it as a Zarr store.

The store (chunked over space, the whole time axis per chunk) is what `riskmodel score`
and `riskmodel run` read block by block when the config names it in `[scale] inputs`
(docs/scale.md). Small worlds are built whole in memory (`make_world`); larger ones chunk
by chunk (`riskmodel.world.tiled`), which is a different world of the same form.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from riskmodel.config import load_config
from riskmodel.errors import EXIT_OK, ConfigError, InputError
from riskmodel.progress import peak_rss_mib
from riskmodel.scale.store import write_inputs, write_tiled_world
from riskmodel.world import make_world
from riskmodel.world.tiled import plan_world

# Worlds up to this many cell-months are generated whole by `make_world` (the demo has
# 4.6 M, a 1/100 slice of the global world 2.3 M at 0.8 GiB peak); larger ones tile by tile.
WHOLE_WORLD_LIMIT = 10_000_000
GENERATORS = ("auto", "whole", "tiled")


def store_world(config: str, store: str | None, chunk: int | None,
                generator: str = "auto") -> Path:
    """Generate the config's world and write it to its Zarr store; the store path.

    `generator` "whole" builds the world in memory (`make_world`), "tiled" chunk by chunk
    (`riskmodel.world.tiled`, a different world of the same form), "auto" picks "tiled"
    above `WHOLE_WORLD_LIMIT` cell-months. `chunk` is the spatial chunk edge in cells
    (default: the config's `[scale] block`).
    """
    cfg = load_config(config)
    path = store or cfg.scale.inputs
    if not path:
        raise ConfigError(f"{config}: no [scale] inputs store named; pass --store PATH")
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
        print(f"riskmodel: tiled world planned in {time.perf_counter() - t:.0f} s",
              flush=True)

        def report(done: int, total: int) -> None:
            print(f"riskmodel: chunk {done}/{total} "
                  f"({time.perf_counter() - t:.0f} s, peak {peak_rss_mib():.0f} MiB)",
                  flush=True)

        info = write_tiled_world(world, path, chunk=chunk, progress=report)
        summary = (f" ({info['land_cells']} land cells, {info['chunks_with_land']} of "
                   f"{info['chunks']} chunks with land)")
    print(f"riskmodel: {generator} world written to {path} in "
          f"{time.perf_counter() - t:.0f} s{summary}, peak {peak_rss_mib():.0f} MiB",
          file=sys.stdout)
    return Path(path)


def handle(args: argparse.Namespace) -> int:
    if args.chunk is not None and args.chunk < 1:
        raise InputError(f"--chunk must be >= 1 cells, got {args.chunk}")
    store_world(args.config, args.store, args.chunk, args.generator)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="write the synthetic world as a Zarr input store",
                       description="Generate the seeded synthetic world of the config and "
                                   "write it to the Zarr store that `score` and `run` read "
                                   "block-wise ([scale] inputs; docs/scale.md).")
    p.add_argument("--config", required=True, metavar="TOML", help="run config")
    p.add_argument("--store", metavar="PATH.zarr",
                   help="Zarr store to write (default: the config's [scale] inputs)")
    p.add_argument("--chunk", type=int, metavar="N",
                   help="spatial chunk edge in cells (default: the config's [scale] block)")
    p.add_argument("--generator", choices=GENERATORS, default="auto",
                   help="whole: make_world in memory; tiled: chunk by chunk "
                        f"(auto: tiled above {WHOLE_WORLD_LIMIT:,} cell-months)")
    p.set_defaults(handler=handle)
