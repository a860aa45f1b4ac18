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


def _acquire(path: Path) -> IO[str]:
    """Open `path` and take its flock without waiting; `LockHeldError` if another has it.

    The file is opened for appending (created if missing, never truncated), so refusing
    changes nothing but, at most, creates an empty lock file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fh)
        fh.close()
        raise LockHeldError(f"{path}: locked by {holder}; another run is in progress, "
                            f"nothing was changed") from None
    return fh


def _stamp(fh: IO[str], what: str) -> None:
    """Write who holds the lock into the held lock file."""
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                         "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
    fh.flush()


@contextmanager
def hold_locks(paths: list[tuple[Path, str]]) -> Iterator[None]:
    """Hold every (lock file, description) for the block, or raise `LockHeldError` at once.

    All locks are taken before any holder information is written, so a refusal leaves
    every lock file as it was. Closing the descriptors (on exit, or by the kernel when the
    process dies) releases the locks.
    """
    with ExitStack() as stack:
        held = []
        for path, what in paths:
            fh = _acquire(Path(path))
            stack.callback(fh.close)
            held.append((fh, what))
        for fh, what in held:
            _stamp(fh, what)
        yield


@contextmanager
def hold_lock(path: Path | str, what: str = "") -> Iterator[Path]:
    """Hold the single lock file `path` for the block (see `hold_locks`)."""
    with hold_locks([(Path(path), what)]):
        yield Path(path)

