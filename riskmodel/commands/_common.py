"""Arguments and set-up shared by the run-style commands (`run`, `score`, `train`, `world`).

`--out DIR` means the same on every command that takes it: the parent folder of run
outputs, whose `<DIR>/<config name>/` holds a config's run folders, history, lock and
other outputs (default: the config's `out`). Anything else a command writes somewhere
of the user's choosing has its own option (`--registry`, `--world-dir`, `--cube`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from riskmodel.config import RunConfig, load_config
from riskmodel.errors import RiskmodelError
from riskmodel.ops.paths import check_config_files, check_config_paths
from riskmodel.ops.session import fallback_family, record_refusal
from riskmodel.progress import Progress

if TYPE_CHECKING:  # the pipeline is imported by the commands that run one, when they do
    from riskmodel.pipeline import RunContext

DEFAULT_CONFIG = "configs/demo.toml"
OUT_HELP = ("parent folder of run outputs: writes under DIR/<config name>/ (default: the "
            "config's `out`)")
# CLI flag -> override name recorded in checks.json, the manifest and the history.
CHECK_OVERRIDES = {"allow_stale": "score although an input is older than [checks] allows",
                   "allow_missing": "score although an input or feature misses more cells "
                                    "than [checks] allows",
                   "allow_drift": "score although a feature drifted beyond [checks] limits"}


def add_out_arg(p: argparse.ArgumentParser) -> None:
    """`--out DIR`, the parent folder of run outputs (see the module docstring)."""
    p.add_argument("--out", metavar="DIR", help=OUT_HELP)


def out_root(args: argparse.Namespace, cfg: RunConfig) -> Path:
    """The parent folder of run outputs: `--out` if given, else the config's `out`."""
    out = getattr(args, "out", None)
    return Path(out) if out else Path(cfg.out)


def add_config_args(p: argparse.ArgumentParser) -> None:
    """`--config`, `--out`, `--quiet` and `--log-json`, the options every run-style command
    takes."""
    p.add_argument("--config", default=DEFAULT_CONFIG, metavar="TOML",
                   help=f"run config (default: {DEFAULT_CONFIG})")
    add_out_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--log-json", action="store_true",
                   help="log one JSON object per line on stderr (for log pipelines)")


def add_check_args(p: argparse.ArgumentParser) -> None:
    """`--inputs`, and the explicit overrides of failing input checks (recorded in the
    manifest)."""
    p.add_argument("--inputs", metavar="WORLD.nc",
                   help="score these canonical inputs (NetCDF, as `riskmodel world` writes "
                        "them) instead of generating the synthetic world")
    for name, meaning in CHECK_OVERRIDES.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, action="store_true",
                       help=meaning)


def add_dask_arg(p: argparse.ArgumentParser) -> None:
    """`--dask local|tcp://HOST:PORT`: score in spatial blocks on a Dask cluster."""
    p.add_argument("--dask", metavar="local|tcp://HOST:PORT",
                   help="score in spatial blocks as Dask tasks: on a LocalCluster of this "
                        "machine's cores, or on the scheduler at this address (README: "
                        "Running on a Dask cluster); training stays in this process")


def overrides(args: argparse.Namespace) -> tuple[str, ...]:
    """The override names given on the command line."""
    return tuple(n for n in CHECK_OVERRIDES if getattr(args, n, False))


def context(args: argparse.Namespace) -> RunContext:
    """Load the config named by `args.config` and set up the shared run context."""
    from riskmodel.pipeline import RunContext

    cfg = load_config(args.config)
    inputs = getattr(args, "inputs", None)
    return RunContext(cfg=cfg, config_path=str(args.config), out_root=out_root(args, cfg),
                      inputs_path=Path(inputs) if inputs else None,
                      dask=getattr(args, "dask", None),
                      progress=Progress(quiet=getattr(args, "quiet", False),
                                        json_lines=getattr(args, "log_json", False)))


def night_context(args: argparse.Namespace, command: str) -> RunContext:
    """`context` for a night (`run`, `score`): the config is loaded and its paths and the
    files it reads are checked before any work; a refusal there (exit 2) is entered in the
    run history of `fallback_family`, so `riskmodel status --fail-on-error` reports it."""
    try:
        ctx = context(args)
        check_config_paths(ctx.cfg, ctx.config_path)
        check_config_files(ctx.cfg, ctx.config_path)
    except RiskmodelError as exc:
        # Not recorded only when another run holds the history's lock (that run owns it).
        record_refusal(fallback_family(str(args.config), getattr(args, "out", None)),
                       str(args.config), command, exc)
        raise
    return ctx
