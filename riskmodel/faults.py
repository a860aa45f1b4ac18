"""Kill points: a test hook that SIGKILLs the process at a named point of a run.

Crash-safety tests set `RISKMODEL_TEST_KILL_AT=<point>` for a `riskmodel run` subprocess
and check that the next run completes and that everything on disk is whole. The points are
`after:<stage>` (a stage finished), `write:<file>` (the file's bytes are in its temporary
name, not yet renamed) and `backfill:<YYYY-MM>` (a backfilled month was published).
Unset, the hook costs one environment lookup. Not for production use.
"""

from __future__ import annotations

import os
import signal

ENV = "RISKMODEL_TEST_KILL_AT"


def kill_point(name: str) -> None:
    """SIGKILL this process if the test hook names `name` (no clean-up runs, like a crash)."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
