"""Stage progress and measurements: one line per stage, timings and peak memory.

On a terminal each stage shows a live "... name" line that turns into "done name (s)";
elsewhere (cron, CI, pipes) each event is a plain log line, `key=value` pairs that grep and
log shippers read. Timings and peak memory go into the run's manifest.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Progress:
    """Times named stages and reports them on `stream` (stderr by default)."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.timings: dict[str, float] = {}
        self.peak_mib: dict[str, float] = {}

    def note(self, message: str) -> None:
        """A one-off informational line."""
        if not self.quiet:
            print(message if self.tty else f"riskmodel: {message}", file=self.stream,
                  flush=True)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block as stage `name`; record seconds and peak memory."""
        start = time.perf_counter()
        if not self.quiet:
            if self.tty:
                print(f"  ... {name}", end="\r", file=self.stream, flush=True)
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
                else:
                    print(f"riskmodel: stage={name} status={status} seconds={seconds:.3f} "
                          f"peak_rss_mib={self.peak_mib[name]:.0f}", file=self.stream,
                          flush=True)
