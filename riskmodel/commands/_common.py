"""Arguments and set-up shared by the run-style commands (`run`, `score`, `train`, `world`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from riskmodel.config import load_config
from riskmodel.pipeline import RunContext
from riskmodel.progress import Progress

DEFAULT_CONFIG = "configs/demo.toml"


def add_config_args(p: argparse.ArgumentParser, *, out_help: str) -> None:
    """`--config` and `--out`, the options every run-style command takes."""
    p.add_argument("--config", default=DEFAULT_CONFIG, metavar="TOML",
                   help=f"run config (default: {DEFAULT_CONFIG})")
    p.add_argument("--out", metavar="DIR", help=out_help)
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def context(args: argparse.Namespace) -> RunContext:
    """Load the config named by `args.config` and set up the shared run context."""
    cfg = load_config(args.config)
    out = Path(args.out) if getattr(args, "out", None) else Path(cfg.out)
    return RunContext(cfg=cfg, config_path=str(args.config), out_root=out,
                      progress=Progress(quiet=getattr(args, "quiet", False)))
