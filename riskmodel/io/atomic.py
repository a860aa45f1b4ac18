"""Atomic file writes: a crash never leaves a half file that looks whole.

Every output is written to a temporary name in the destination folder, flushed and
fsynced, then renamed into place with `os.replace` (atomic on POSIX within a filesystem).
Caches, where a file lost in a crash only costs time, skip the fsync (`durable=False`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(dest: Path | str, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `dest`; on success rename it to `dest`, else delete it.

    Use for writers that need a file name (xarray's `to_netcdf`, matplotlib's `savefig`).
    `durable=False` skips the fsync, for caches where a file lost in a crash is only a
    miss: the rename still shows a reader the old file, the new one or none.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; outputs are shared files, so give them the usual umask mode.
    os.chmod(tmp_path, 0o666 & ~_umask())
    try:
        yield tmp_path
        if durable:
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(dest: Path | str, data: bytes) -> None:
    """Write `data` to `dest` atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_text(dest: Path | str, text: str) -> None:
    """Write UTF-8 `text` to `dest` atomically."""
    write_bytes(dest, text.encode("utf-8"))


def write_json(dest: Path | str, obj: Any) -> None:
    """Write `obj` as indented, key-sorted JSON to `dest` atomically (stable bytes)."""
    write_text(dest, json_text(obj))


def json_text(obj: Any) -> str:
    """`obj` as indented, key-sorted JSON text with a final newline (stable bytes)."""
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def write_with(dest: Path | str, writer: Callable[[Path], None], *,
               durable: bool = True) -> None:
    """Call `writer(tmp_path)` and rename the result to `dest` atomically (`atomic_path`)."""
    with atomic_path(dest, durable=durable) as tmp:
        writer(tmp)


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _json_default(obj: Any) -> Any:
    # numpy scalars and paths appear in manifests and metrics; keep the JSON plain.
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
