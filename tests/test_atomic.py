"""Atomic writes: whole files or none, usual permissions, no temporary leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskmodel.io.atomic import write_text, write_with


def test_write_replaces_whole_file(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "out.txt"
    write_text(dest, "first")
    write_text(dest, "second")
    assert dest.read_text() == "second"
    assert [p.name for p in dest.parent.iterdir()] == ["out.txt"]


def test_failed_writer_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    write_text(dest, "kept")

    def broken(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_with(dest, broken)
    assert dest.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_files_get_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644


def test_closed_pipe_is_not_an_error() -> None:
    cmd = f"{sys.executable} -m riskmodel features list | head -n 1"
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "internal error" not in out.stderr
