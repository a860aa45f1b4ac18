"""Run locks: one nightly run at a time per run folder and per alert store.

A lock is an `flock` on a small file beside what it protects. The kernel drops it when the
holding process ends in any way (even SIGKILL), so a crash never leaves a stale lock that
blocks the next night, and no clean-up of lock files is ever needed. The holder writes its
pid, host and start time into the file so the refusal can say who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from riskmodel.errors import LockHeldError


def folder_lock(folder: Path | str) -> Path:
    """The lock file of a run folder family: `<folder>/.lock`."""
    return Path(folder) / ".lock"


def file_lock(path: Path | str) -> Path:
    """The lock file of a single file such as the alert store: `<file>.lock`."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


def _holder(fh: IO[str]) -> str:
    fh.seek(0)
    try:
        info = json.loads(fh.read() or "{}")
    except ValueError:
        return "another process"
    if not info:
        return "another process"
    return (f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"
            + (f" ({info['what']})" if info.get("what") else ""))


@contextmanager
def hold_lock(path: Path | str, what: str = "") -> Iterator[Path]:
    """Hold the exclusive lock file `path` for the block, or raise `LockHeldError` at once.

    Refusing is side-effect free: the file is opened for appending (never truncated) and
    only the holder rewrites its content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeldError(f"{path}: locked by {_holder(fh)}; another run is in "
                                f"progress, nothing was changed") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                             "since": datetime.now(timezone.utc).isoformat(
                                 timespec="seconds")}))
        fh.flush()
        yield path
    finally:
        fh.close()  # closing the descriptor releases the flock


def is_locked(path: Path | str) -> bool:
    """Whether some process holds the lock file `path` now (False if it does not exist)."""
    path = Path(path)
    if not path.exists():
        return False
    with open(path, encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False


@contextmanager
def hold_locks(paths: list[tuple[Path, str]]) -> Iterator[None]:
    """Hold every (lock file, description) in order; release all on exit or refusal."""
    with ExitStack() as stack:
        for path, what in paths:
            stack.enter_context(hold_lock(path, what))
        yield
