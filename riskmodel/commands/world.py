"""`riskmodel world`: write the seeded synthetic world to NetCDF, with its event and
programme tables as CSV, into `<out>/<name>/world/` or the folder named by `--world-dir`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from riskmodel.commands._common import add_config_args, context
from riskmodel.io.netcdf import write_netcdf
from riskmodel.pipeline import load_world
from riskmodel.world.tables import write_tables


def handle(args: argparse.Namespace) -> int:
    ctx = context(args)
    out = Path(args.world_dir) if args.world_dir else ctx.out_root / ctx.cfg.name / "world"
    world = load_world(ctx)
    # fletcher32: HDF5 checksums every chunk, so a corrupted copy of world.nc fails loudly
    # on read (`run --inputs`) instead of scoring altered numbers.
    # cf_order=False: the canonical inputs contract fixes time-first dims and readers check it.
    write_netcdf(world, out / "world.nc", compress=True, checksum=True, cf_order=False)
    write_tables(world, out)
    print(f"riskmodel: world written to {out}/ (world.nc, events.csv, programmes.csv)",
          file=sys.stdout)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("world", help="write the synthetic world to NetCDF",
                       description="Generate the seeded synthetic world of the config and "
                                   "write world.nc (CF), events.csv and programmes.csv.")
    add_config_args(p)
    p.add_argument("--world-dir", metavar="DIR",
                   help="folder to write world.nc, events.csv and programmes.csv into "
                        "(default: <out>/<config name>/world)")
    p.set_defaults(handler=handle)
