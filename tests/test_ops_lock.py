"""Run locks: while another process holds the run-folder or alert-store lock, a run exits at
once with code 5 and a message naming the holder, and changes nothing; a SIGKILLed holder
leaves no stale lock; `status` shows a killed run as interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskmodel.cli import main
from riskmodel.errors import EXIT_LOCKED, LockHeldError
from riskmodel.ops.history import record
from riskmodel.ops.lock import hold_lock
from test_ops_support import ops_config

HOLDER = ("import sys, time\n"
          "from riskmodel.ops.lock import hold_lock\n"
          "with hold_lock(sys.argv[1], 'test holder'):\n"
          "    print('held', flush=True)\n"
          "    time.sleep(300)\n")


@pytest.fixture
def holder() -> Iterator:  # type: ignore[type-arg]
    """Start a separate process that holds a lock file until killed."""
    procs: list[subprocess.Popen] = []  # type: ignore[type-arg]

    def start(path: Path) -> subprocess.Popen:  # type: ignore[type-arg]
        p = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under `folder` (lock files aside) with its size and mtime."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if not p.name.endswith(".lock")}


@pytest.mark.parametrize("which", ["run folder", "alert store"])
def test_second_run_refused_with_code_5_touching_nothing(
        tmp_path: Path, holder, which: str, capsys: pytest.CaptureFixture) -> None:
    config = ops_config(tmp_path, tmp_path / "models")
    (tmp_path / "runs" / "tiny").mkdir(parents=True)
    lock = (tmp_path / "runs" / "tiny" / ".lock" if which == "run folder"
            else tmp_path / "alerts.sqlite.lock")
    proc = holder(lock)
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(config), "--quiet"])
    assert info.value.code == EXIT_LOCKED
    err = capsys.readouterr().err
    assert f"locked by pid {proc.pid}" in err and "(test holder)" in err
    assert "nothing was changed" in err and len(err.splitlines()) == 1
    assert snapshot(tmp_path) == before  # no run folder, store, history or output


def test_lock_is_released_when_the_holder_is_killed(tmp_path: Path, holder) -> None:
    lock = tmp_path / "x.lock"
    proc = holder(lock)
    with pytest.raises(LockHeldError):
        with hold_lock(lock):
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with hold_lock(lock, "after the crash"):
        assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_status_shows_a_killed_run_as_interrupted(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = ops_config(tmp_path, tmp_path / "models")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    hist = tmp_path / "runs" / "tiny" / "history.jsonl"
    record(hist, {"run_id": "a", "started": "2026-01-01T02:00:00+00:00", "status": "ok",
                  "exit_code": 0, "as_of": "2025-11", "alerts": {"new": 2, "escalated": 1},
                  "warnings": ["drift: x: PSI 0.2"], "seconds": 9.0})
    record(hist, {"run_id": "b", "started": "2026-01-02T02:00:00+00:00",
                  "status": "running", "pid": int(dead.stdout)})
    with pytest.raises(SystemExit) as info:
        main(["status", "--config", str(config), "--fail-on-error"])
    assert info.value.code == 1
    out = capsys.readouterr().out.splitlines()
    assert "interrupted" in out[1] and "2025-11" in out[2] and "2 new, 1 escalated" in out[2]


def test_history_survives_foreign_lines_and_keeps_the_last_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskmodel.ops import history

    monkeypatch.setattr(history, "KEEP", 5)  # the rule, not the production size
    path = tmp_path / "history.jsonl"
    path.write_bytes(b'{"run_id": "a", "status": "ok"}\nnot json\n\xff\xfe\n[1, 2]\n')
    assert [e["run_id"] for e in history.read_history(path)] == ["a"]
    record(path, {"run_id": "b", "status": "running"})
    record(path, {"run_id": "b", "status": "ok"})  # the end replaces the start
    assert [(e["run_id"], e["status"]) for e in history.read_history(path)] == \
        [("a", "ok"), ("b", "ok")]
    for i in range(history.KEEP + 5):
        record(path, {"run_id": f"r{i}", "status": "ok"})
    kept = history.read_history(path)
    assert len(kept) == history.KEEP and kept[-1]["run_id"] == f"r{history.KEEP + 4}"


def test_training_is_refused_while_the_nightly_run_holds_the_lock(
        tmp_path: Path, holder, capsys: pytest.CaptureFixture) -> None:
    config = ops_config(tmp_path, tmp_path / "models")
    proc = holder(tmp_path / "runs" / "tiny" / ".lock")
    with pytest.raises(SystemExit) as info:
        main(["train", "--config", str(config), "--quiet"])
    assert info.value.code == EXIT_LOCKED
    assert f"locked by pid {proc.pid}" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()  # nothing trained or registered
