"""One nightly session around a run: path checks, locks, clean-up, history, outcome event.

Before anything is created the configured paths are checked; then the run-folder lock
(`<out>/<name>/.lock`) and the alert-store lock (`<store>.lock`) are taken, so a second run
refuses at once (exit code 5) without touching anything. Under the locks, temporary files
left by a killed run are removed, the run is entered in the history as `running`, and at
the end its outcome (ok or failed with exit code and error, as-of, alerts raised, warnings,
overrides, backfilled months, duration) replaces that entry and is logged as one event.
"""

from __future__ import annotations

import os
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
from riskmodel.config import RunConfig
from riskmodel.errors import EXIT_INTERNAL, EXIT_OK, RiskmodelError
from riskmodel.ops.history import history_path, record
from riskmodel.ops.lock import file_lock, folder_lock, hold_locks
from riskmodel.ops.paths import check_config_paths
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


@contextmanager
def nightly_session(cfg: RunConfig, config_path: str, out_root: Path, progress: Progress,
                    command: str) -> Iterator[Outcome]:
    """Run the block as one locked, recorded session of `cfg` (read from `config_path`,
    run folders under `out_root`); the block fills in the `Outcome` it is given (see the
    module docstring)."""
    check_config_paths(cfg, config_path)
    family = run_family(out_root, cfg)
    what = f"riskmodel {command} --config {config_path}"
    # The store's lock first: its folder exists already in the usual layout, so a run
    # refused there creates nothing at all.
    locks = [(file_lock(cfg.alerts.store), what)] if cfg.alerts.enabled else []
    locks.append((folder_lock(family), what))
    with hold_locks(locks):
        removed = remove_temp_files(family)
        if removed:
            progress.event("cleanup", level="warning", removed=len(removed),
                               message="removed temporary files of an interrupted run")
        hist = history_path(family)
        started = time.perf_counter()
        # Seconds and pid alone collide when one process runs twice within a second (the
        # history then kept only the second run); a random suffix keeps every run apart.
        run_id = f"{_now()}-{os.getpid()}-{secrets.token_hex(3)}"
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
