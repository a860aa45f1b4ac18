"""`riskmodel status`: the last runs of a config at a glance (when, as-of, outcome, alerts
raised, warnings), from the run history in `<out>/<name>/history.jsonl`.

A night refused because its config could not be used is recorded under
`riskmodel.ops.session.fallback_family`; status reads that history too (it is the same
folder unless the config's `name` differs from what the file gives), so a broken config
shows as a failed night and `--fail-on-error` exits with its code."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from typing import Any

from riskmodel.commands._common import DEFAULT_CONFIG, add_out_arg, out_root
from pathlib import Path

from riskmodel.config import load_config
from riskmodel.errors import EXIT_INTERNAL, EXIT_OK, RiskmodelError
from riskmodel.ops.history import history_path, read_history
from riskmodel.ops.session import fallback_family

# Warnings of the last run printed one per line; the rest are counted, with where to read them.
WARNINGS_SHOWN = 5


def alive(entry: dict[str, Any]) -> bool:
    """Whether the process of a `running` entry still exists (on this host; an entry from
    another host is taken at its word)."""
    if entry.get("host") not in (None, socket.gethostname()):
        return True
    try:
        os.kill(int(entry.get("pid") or 0), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, OverflowError):
        return True
    return int(entry.get("pid") or 0) > 0


def summarise(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries with an `outcome`: ok, failed (exit N), running, or interrupted (a `running`
    entry whose process is gone: it was killed before it could record its end). Checking
    the process, not the lock, keeps `status` from ever contending for a run's lock."""
    out = []
    for e in entries:
        status = e.get("status")
        if status == "running":
            outcome = "running" if alive(e) else "interrupted"
        elif status == "ok":
            outcome = "ok"
        else:
            outcome = f"failed (exit {e.get('exit_code')})"
        out.append({**e, "outcome": outcome})
    return out


def _row(e: dict[str, Any]) -> str:
    alerts = e.get("alerts") or {}
    raised = f"{alerts.get('new', 0)} new, {alerts.get('escalated', 0)} escalated" \
        if alerts else "-"
    if e.get("alerts_rerun_of"):
        raised += " (rerun)"
    secs = e.get("seconds")
    return (f"{e.get('started', '?'):25s}  {e.get('as_of') or '-':7s}  {e['outcome']:16s}  "
            f"{raised:26s}  {len(e.get('warnings') or []):8d}  "
            f"{'-' if secs is None else f'{secs:.0f} s':>6s}")


def families(args: argparse.Namespace) -> list[Path]:
    """The history folders of the config `args.config`: `<out>/<name>` when it loads,
    and the fallback folder where a night refused for its config is recorded."""
    fallback = fallback_family(str(args.config), getattr(args, "out", None))
    try:
        cfg = load_config(args.config)
    except RiskmodelError as exc:
        print(f"riskmodel: note: {exc}; reading the history in {fallback}", file=sys.stderr)
        return [fallback]
    family = out_root(args, cfg) / cfg.name
    return [family] if family == fallback else [family, fallback]


def handle(args: argparse.Namespace) -> int:
    folders = families(args)
    family = folders[0]
    entries = sorted((e for f in folders for e in read_history(history_path(f))),
                     key=lambda e: str(e.get("started", "")))
    rows = summarise(entries)[-args.last:][::-1]
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True, default=str))
    elif not rows:
        print(f"riskmodel: no runs recorded in {history_path(family)}")
    else:
        print(f"{'started (UTC)':25s}  {'as-of':7s}  {'outcome':16s}  {'alerts raised':26s}  "
              f"{'warnings':>8s}  {'time':>6s}")
        for e in rows:
            print(_row(e))
        last = rows[0]
        if last.get("error"):
            print(f"last error: {last['error']}")
        warnings = last.get("warnings") or []
        for w in warnings[:WARNINGS_SHOWN]:
            print(f"warning: {w}")
        if len(warnings) > WARNINGS_SHOWN:
            where = f" (all in {Path(last['run_dir']) / 'checks.json'})" \
                if last.get("run_dir") else ""
            print(f"... and {len(warnings) - WARNINGS_SHOWN} more warning(s){where}")
        if last.get("overrides"):
            print(f"overrides: {', '.join(last['overrides'])}")
    if args.fail_on_error and rows:
        last = rows[0]
        if last["outcome"] == "interrupted":
            return EXIT_INTERNAL
        return int(last.get("exit_code") or EXIT_OK)
    return EXIT_OK


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="summarise the last runs of a config",
                       description="When each recent run started, the month it scored, its "
                                   "outcome (ok, failed with exit code, running, or "
                                   "interrupted), alerts raised and warnings; newest first.")
    p.add_argument("--config", default=DEFAULT_CONFIG, metavar="TOML",
                   help=f"run config (default: {DEFAULT_CONFIG})")
    add_out_arg(p)
    p.add_argument("--last", type=_positive, default=10, metavar="N", help="runs to show (10)")
    p.add_argument("--json", action="store_true", help="print the entries as JSON")
    p.add_argument("--fail-on-error", action="store_true",
                   help="exit with the last run's exit code (1 if it was interrupted), for "
                        "monitoring")
    p.set_defaults(handler=handle)
