"""One nightly session around a run: path checks, locks, clean-up, history, outcome event.

Before anything is created the configured paths are checked; then the run-folder lock
(`<out>/<name>/.lock`) and the alert-store lock (`<store>.lock`) are taken, so a second run
refuses at once (exit code 5) without touching anything. Under the locks, temporary files
left by a killed run are removed, the run is entered in the history as `running`, and at
the end its outcome (ok or failed with exit code and error, as-of, alerts raised, warnings,
overrides, backfilled months, duration) replaces that entry and is logged as one event.

A night refused before its config could be used (it fails to load, validate, or names a
path or file that is wrong: exit 2) is recorded too (`record_refusal`), in the history of
`fallback_family`: `<out>/<name>` read from the file as far as it can be read (`--out`
wins, then the file's `out`, else "runs"; its `name`, else the file's stem), which is the
same folder a valid version of that config uses.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from riskmodel.checks.findings import CheckReport
from riskmodel.config import RunConfig, read_toml
from riskmodel.errors import EXIT_INTERNAL, EXIT_OK, LockHeldError, RiskmodelError
from riskmodel.ops.history import history_path, record
from riskmodel.ops.lock import file_lock, folder_lock, hold_locks
from riskmodel.ops.paths import check_config_files, check_config_paths
from riskmodel.ops.verify import remove_temp_files
from riskmodel.progress import Progress, peak_rss_mib

ALERT_COUNTS = ("new", "escalated", "ongoing", "resolved", "deferred")


@dataclass
class Outcome:
    """What the history keeps of a night besides its status: the night fills it in as its
    stages return, so a run that fails part-way still records how far it got."""

    as_of: str | None = None
    run_dir: Path | None = None
    checks: CheckReport | None = None
    alerts: dict[str, Any] = field(default_factory=dict)
    backfilled: list[str] = field(default_factory=list)

    def entry(self) -> dict[str, Any]:
        """The history fields of this outcome."""
        counts = self.alerts.get("counts", self.alerts)
        report = self.checks
        warnings = [f"{f.kind}: {f.subject}: {f.message}" for f in report.warnings()] \
            if report is not None else []
        return {"as_of": self.as_of, "run_dir": str(self.run_dir) if self.run_dir else None,
                "alerts": {k: int(counts[k]) for k in ALERT_COUNTS if k in counts},
                "alerts_rerun_of": self.alerts.get("rerun_of"),
                "checks": report.status if report is not None else None,
                "overrides": list(report.overrides) if report is not None else [],
                "warnings": warnings, "backfilled": list(self.backfilled)}


def run_family(out_root: Path, cfg: RunConfig) -> Path:
    """The folder holding every run folder of a config: `<out>/<name>`."""
    return out_root / cfg.name


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _new_run_id() -> str:
    # Seconds and pid alone collide when one process runs twice within a second (the
    # history then kept only the second run); a random suffix keeps every run apart.
    return f"{_now()}-{os.getpid()}-{secrets.token_hex(3)}"


_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_FALLBACK_OUT = "runs"  # RunConfig's default `out`


def fallback_family(config_path: str, out: str | None) -> Path:
    """`<out>/<name>` of a config that may not load: `out` (the `--out` option) if given,
    else the file's `out` if it is a usable path, else "runs"; the file's `name` if it is
    a valid name, else the file's stem (characters outside A-Z a-z 0-9 _ . - become _)."""
    raw: dict[str, Any] = {}
    try:
        raw = read_toml(config_path)
    except RiskmodelError:
        pass  # unreadable or not TOML: the stem and the defaults say where
    name = raw.get("name")
    if not (isinstance(name, str) and _NAME.match(name) and name not in (".", "..")):
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(config_path).stem).strip(".") or "config"
    root = out
    if root is None:
        value = raw.get("out")
        usable = (isinstance(value, str) and value.strip() and ".." not in Path(value).parts
                  and not any(ord(ch) < 32 for ch in value))
        root = value if usable else _FALLBACK_OUT
    return Path(root) / name


def record_refusal(family: Path, config_path: str, command: str, exc: RiskmodelError) -> bool:
    """Enter a night refused before it started (bad config: `exc`) in the history of
    `family` as failed with `exc`'s exit code, under the run-folder lock; returns False
    (and records nothing) when another run holds that lock, since that run owns the
    history."""
    try:
        family.mkdir(parents=True, exist_ok=True)
        with hold_locks([(folder_lock(family), f"riskmodel {command} --config {config_path}")]):
            now = _now()
            record(history_path(family), {
                "run_id": _new_run_id(), "command": command, "config": config_path,
                "started": now, "finished": now, "status": "failed",
                "exit_code": exc.exit_code, "error": str(exc), "pid": os.getpid(),
                "host": socket.gethostname(), "seconds": 0.0, "as_of": None,
                "run_dir": None, "alerts": {}, "alerts_rerun_of": None, "checks": None,
                "overrides": [], "warnings": [], "backfilled": []})
    except (LockHeldError, OSError):
        return False
    return True


@contextmanager
def nightly_session(cfg: RunConfig, config_path: str, out_root: Path, progress: Progress,
                    command: str, *, alerts: bool = True) -> Iterator[Outcome]:
    """Run the block as one locked, recorded session of `cfg` (read from `config_path`,
    run folders under `out_root`); the block fills in the `Outcome` it is given (see the
    module docstring). `alerts=False`: the night leaves the alert store alone, so its lock
    is not taken."""
    check_config_paths(cfg, config_path)
    check_config_files(cfg, config_path)
    family = run_family(out_root, cfg)
    what = f"riskmodel {command} --config {config_path}"
    # The store's lock first: its folder exists already in the usual layout, so a run
    # refused there creates nothing at all.
    locks = [(file_lock(cfg.alerts.store), what)] if cfg.alerts.enabled and alerts else []
    locks.append((folder_lock(family), what))
    with hold_locks(locks):
        removed = remove_temp_files(family)
        if removed:
            progress.event("cleanup", level="warning", removed=len(removed),
                               message="removed temporary files of an interrupted run")
        hist = history_path(family)
        started = time.perf_counter()
        run_id = _new_run_id()
        entry: dict[str, Any] = {"run_id": run_id, "command": command,
                                 "config": config_path, "started": _now(),
                                 "status": "running", "pid": os.getpid(),
                                 "host": socket.gethostname()}
        record(hist, entry)
        outcome = Outcome()
        progress.event("run", status="start", run_id=entry["run_id"], command=command)

        def finish(status: str, code: int, error: str | None) -> None:
            done = {**entry, **outcome.entry(), "status": status, "exit_code": code,
                    "error": error, "finished": _now(),
                    "seconds": round(time.perf_counter() - started, 3),
                    "peak_rss_mib": round(peak_rss_mib(), 1)}
            record(hist, done)
            progress.event("run", level="info" if code == EXIT_OK else "error",
                           status=status, exit_code=code, as_of=outcome.as_of,
                           alerts=done["alerts"], warnings=len(done["warnings"]),
                           seconds=done["seconds"], **({"error": error} if error else {}))

        try:
            yield outcome
        except RiskmodelError as exc:
            finish("failed", exc.exit_code, str(exc))
            raise
        except KeyboardInterrupt:
            finish("failed", 130, "interrupted")
            raise
        except Exception as exc:
            finish("failed", EXIT_INTERNAL, f"{type(exc).__name__}: {exc}")
            raise
        finish("ok", EXIT_OK, None)
