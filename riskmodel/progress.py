"""Stage progress and measurements: one line per stage, timings and peak memory.

On a terminal each stage shows a live "... name" line that turns into "done name (s)";
elsewhere (cron, CI, pipes) each event is a plain log line, `key=value` pairs that grep and
log shippers read; with `json_lines` (`--log-json`) each event is one JSON object with a
UTC timestamp, for log pipelines that parse. Timings and peak memory go into the run's
manifest. Each finished stage is also a kill point of the crash-safety test hook.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TextIO

from riskmodel.faults import kill_point


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Progress:
    """Times named stages and reports them on `stream` (stderr by default)."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False,
                 json_lines: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.json_lines = json_lines
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) and not json_lines
        self.timings: dict[str, float] = {}
        self.peak_mib: dict[str, float] = {}

    def event(self, event: str, level: str = "info", **fields: Any) -> None:
        """One structured event: a JSON line in JSON mode, else `key=value` pairs.

        Errors and warnings are shown even when quiet: an unattended run must say why it
        stopped.
        """
        if self.quiet and level == "info":
            return
        if self.json_lines:
            rec = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                   "level": level, "event": event, **fields}
            line = json.dumps(rec, default=str, sort_keys=False)
        else:
            parts = " ".join(f"{k}={_kv(v)}" for k, v in fields.items())
            line = f"riskmodel: {event}" + (f" {parts}" if parts else "")
        print(line, file=self.stream, flush=True)

    def note(self, message: str) -> None:
        """A one-off informational line."""
        if self.json_lines:
            self.event("note", message=message)
        elif not self.quiet:
            print(message if self.tty else f"riskmodel: {message}", file=self.stream,
                  flush=True)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block as stage `name`; record seconds and peak memory."""
        start = time.perf_counter()
        if not self.quiet:
            if self.tty:
                print(f"  ... {name}", end="\r", file=self.stream, flush=True)
            elif self.json_lines:
                self.event("stage", stage=name, status="start")
            else:
                print(f"riskmodel: stage={name} status=start", file=self.stream, flush=True)
        ok = False
        try:
            yield
            ok = True
        finally:
            seconds = time.perf_counter() - start
            self.timings[name] = round(seconds, 3)
            self.peak_mib[name] = round(peak_rss_mib(), 1)
            if not self.quiet:
                status = "done" if ok else "failed"
                if self.tty:
                    print(f"  {status:6s} {name:10s} {seconds:6.1f} s", file=self.stream,
                          flush=True)
                elif self.json_lines:
                    self.event("stage", level="info" if ok else "error", stage=name,
                               status=status, seconds=round(seconds, 3),
                               peak_rss_mib=self.peak_mib[name])
                else:
                    print(f"riskmodel: stage={name} status={status} seconds={seconds:.3f} "
                          f"peak_rss_mib={self.peak_mib[name]:.0f}", file=self.stream,
                          flush=True)
        kill_point(f"after:{name}")


def _kv(v: Any) -> str:
    # Plain values bare, anything with spaces or structure as JSON, so lines stay parseable.
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=str, separators=(",", ":"))
    s = str(v)
    return json.dumps(s) if (" " in s or not s) else s
