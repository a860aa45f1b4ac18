"""The `riskmodel` command line: one subcommand per module in `riskmodel.commands`.

Each command module exposes `register(subparsers)`, which adds its parser and sets
`handler` (a function taking the parsed namespace and returning an exit code); a new
command is one more module and one more line in `COMMAND_MODULES`, and registers the
subcommand named like its module, so `main` imports only the module of the command it
runs (a command does not pay for importing every other one). Expected
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


def command_of(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names (its first word not starting with "-"), if it is one of
    `COMMAND_MODULES`; None otherwise (`--help`, a typo), when every module is needed."""
    word = next((a for a in argv if not a.startswith("-")), None)
    names = {m.rsplit(".", 1)[1] for m in COMMAND_MODULES}
    return word if word in names else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand, or with subcommand `only`."""
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
        if only is None or name.rsplit(".", 1)[1] == only:
            importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the chosen command, and return (via SystemExit) its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_of(argv))
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
