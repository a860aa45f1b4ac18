"""The `riskmodel` command line: one subcommand per module in `riskmodel.commands`.

Each command module exposes `register(subparsers)`, which adds its parser and sets
`handler` (a function taking the parsed namespace and returning an exit code); a new
command is one more module and one more line in `COMMAND_MODULES`. Expected
failures (`RiskmodelError`) print one line and exit with their code; `--debug` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from riskmodel.errors import EXIT_INTERNAL, RiskmodelError

# Order is the order shown in `riskmodel --help`.
COMMAND_MODULES = (
    "riskmodel.commands.run",
    "riskmodel.commands.world",
    "riskmodel.commands.train",
    "riskmodel.commands.evaluate",
    "riskmodel.commands.simulate",
    "riskmodel.commands.score",
    "riskmodel.commands.targeting",
    "riskmodel.commands.alerts",
    "riskmodel.commands.features",
    "riskmodel.commands.status",
    "riskmodel.commands.backtest",
    "riskmodel.commands.countries",
    "riskmodel.commands.predict",
    "riskmodel.commands.store",
    "riskmodel.commands.serve",
    "riskmodel.commands.partners",
    "riskmodel.commands.kpis",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="riskmodel",
        description="Predictive risk modelling for forced labour and child labour.",
        epilog="--out DIR, wherever a command takes it, is the parent folder of run "
               "outputs: the command writes under DIR/<config name>/ (default: the "
               "config's `out`).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the chosen command, and return (via SystemExit) its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args) or 0)
    except RiskmodelError as exc:
        if args.debug:
            raise
        print(f"riskmodel: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except BrokenPipeError:
        # The reader went away (`riskmodel features list | head`): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except KeyboardInterrupt:
        print("riskmodel: interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:  # an internal error: say so plainly, details with --debug
        if args.debug:
            raise
        print(f"riskmodel: internal error: {type(exc).__name__}: {exc} (rerun with --debug)",
              file=sys.stderr)
        code = EXIT_INTERNAL
    sys.exit(code)
