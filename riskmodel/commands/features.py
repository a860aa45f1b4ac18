"""`riskmodel features`: list the feature catalogue, or build the feature cube of a config.

`features list` prints the catalogue (plain, `--json` or `--markdown`, the last being
docs/features.md). `features build` writes the cube as CF NetCDF: from the config's
`[sources]` (region mode with countries: the country-year cube of
`riskmodel.sources.build_country_cube`; with admin-1 tables: the monthly (time, admin1)
cube; grid mode: the monthly grid cube) or, without
sources, from the synthetic world, into `<out>/<name>/features.nc` or the file named by
`--cube`. `--chunks N` builds it lazily with dask (N cells per chunk along each spatial
dim, the whole time axis per chunk); the values are the same. `build` reports its stages
(the cube, the write) on stderr unless `--quiet`: a stage says it is running once it has
taken `ANNOUNCE_AFTER_S`, and how long it took when done, so a bad config still fails
with its one error line.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

import features
from features.docs import catalogue_markdown, catalogue_rows
from riskmodel.commands._common import add_out_arg, out_root
from riskmodel.config import RunConfig, is_region_config, load_config
from riskmodel.errors import InputError
from riskmodel.io.netcdf import write_netcdf
from riskmodel.progress import Progress
from riskmodel.regions import build_region_cube
from riskmodel.sources import Notices, build_country_cube, build_monthly_cube
from riskmodel.world import make_world


def handle_list(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(catalogue_markdown())
    elif args.json:
        print(json.dumps([f.describe() for f in features.CATALOGUE.values()], indent=2))
    else:
        print("\n".join(catalogue_rows()))
    return 0


def cube_for(cfg: RunConfig, notices: Notices, chunks: int | None) -> xr.Dataset:
    """The feature cube of `cfg`: from its sources (per sub-national region and year for a
    yearly region config), else from its synthetic world."""
    src = cfg.sources
    if src is None:
        inputs = make_world(cfg.world, cfg.seed)
        space = {"lat": chunks, "lon": chunks} if chunks else None
        cube = features.build_cube(inputs, chunks=space)
        for name, why in json.loads(cube.attrs["skipped_features"]).items():
            notices.add(f"feature {name} skipped: {why}")
        cube.attrs["synthetic"] = 1
        return cube
    if is_region_config(cfg):
        if chunks:
            raise InputError("--chunks applies to grids; region cubes are small")
        return build_region_cube(cfg, notices=notices)
    if src.mode == "region":
        if chunks:
            raise InputError("--chunks applies to grids; region-mode cubes are small")
        admin = any(getattr(s, "key", "country") == "admin1" for s in src.inputs.values())
        # Admin-1 units give the monthly (time, admin1) cube; countries the yearly one.
        return build_monthly_cube(cfg, notices) if admin else build_country_cube(cfg, notices)
    space = {"lat": chunks, "lon": chunks} if chunks else None
    return build_monthly_cube(cfg, notices, chunks=space)


# Seconds a stage of `features build` runs before it says so (quick failures stay one line).
ANNOUNCE_AFTER_S = 3.0


@contextmanager
def _stage(progress: Progress, name: str) -> Iterator[None]:
    """Report stage `name`: `running` once it has taken `ANNOUNCE_AFTER_S`, `done` with its
    seconds when it ends well (a failure is left to the command's one error line)."""
    timer = threading.Timer(ANNOUNCE_AFTER_S, progress.note,
                            args=(f"stage={name} status=running",))
    timer.daemon = True
    start = time.perf_counter()
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
    progress.note(f"stage={name} status=done seconds={time.perf_counter() - start:.3f}")


def handle_build(args: argparse.Namespace) -> int:
    if args.chunks is not None and args.chunks < 1:
        raise InputError(f"--chunks must be >= 1 cells, got {args.chunks}")
    if args.out and Path(args.out).suffix == ".nc":
        # A cube file given as --out would become a folder named like a NetCDF file.
        raise InputError(f"--out {args.out}: --out is the parent folder of run outputs; "
                         f"name the cube file with --cube FILE.nc")
    cfg = load_config(args.config)
    progress = Progress(quiet=args.quiet)
    notices = Notices()
    with _stage(progress, "cube"):
        cube = cube_for(cfg, notices, args.chunks)
    for line in notices.lines:
        if not args.quiet:
            print(f"riskmodel: notice: {line}", file=sys.stderr)
    out = Path(args.cube) if args.cube else out_root(args, cfg) / cfg.name / "features.nc"
    # cf_order=False: the feature contract is time first, (time, lat, lon) or (time, unit).
    with _stage(progress, "write"):  # a lazy (--chunks) cube is computed here
        write_netcdf(cube, out, compress=True, cf_order=False)
    dims = ", ".join(f"{d}={n}" for d, n in cube.sizes.items())
    print(f"riskmodel: {len(cube.data_vars)} features ({dims}) written to {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("features", help="list the feature catalogue or build the cube",
                       description="List the documented feature catalogue, or build the "
                                   "feature cube of a config and write it as NetCDF.")
    fsub = p.add_subparsers(dest="features_command", required=True, metavar="ACTION")
    pl = fsub.add_parser("list", help="print the catalogue")
    fmt = pl.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="as a JSON list of entries")
    fmt.add_argument("--markdown", action="store_true", help="as docs/features.md")
    pl.set_defaults(handler=handle_list)
    pb = fsub.add_parser("build", help="build the feature cube and write it as NetCDF")
    pb.add_argument("--config", required=True, metavar="TOML", help="run config")
    add_out_arg(pb)
    pb.add_argument("--cube", metavar="FILE.nc",
                    help="NetCDF file to write (default: <out>/<config name>/features.nc)")
    pb.add_argument("--chunks", type=int, metavar="N",
                    help="build lazily with dask, N cells per spatial chunk")
    pb.add_argument("--quiet", action="store_true", help="no progress lines or notices")
    pb.set_defaults(handler=handle_build)
