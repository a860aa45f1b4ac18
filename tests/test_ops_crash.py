"""Crash safety: `riskmodel run` SIGKILLed at several points (between stages, after a
backfilled month, with risk.nc and manifest.json half way through their atomic write)
leaves only whole files; the next run completes; and the alert store ends with exactly
the alerts, messages and outbox rows of an uninterrupted run, none lost or duplicated.
A kill inside the store's transaction rolls the whole night back.

The kill points are the `RISKMODEL_TEST_KILL_AT` test hook (riskmodel.faults). The
killed runs are chained in one test (each resumes the previous one's state) to keep the
number of full subprocess runs small.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from riskmodel.cli import main
from riskmodel.faults import ENV
from riskmodel.ops.verify import verify_tree
from test_ops_support import ROOT, fast_world, ops_config, registry, store_counts  # noqa: F401

AS_OF = "2024-12"


def run_cli(config: Path, kill_at: str | None) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = {**os.environ, ENV: kill_at} if kill_at else {
        k: v for k, v in os.environ.items() if k != ENV}
    return subprocess.run([sys.executable, "-m", "riskmodel", "run", "--config", str(config),
                           "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def store_rows(store: Path) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    """What must match an uninterrupted run: alerts with state, messages, outbox keys."""
    with sqlite3.connect(store) as db:
        return {"alerts": db.execute("SELECT alert_id, state, opened_as_of, last_as_of FROM "
                                     "alerts ORDER BY 1").fetchall(),
                "messages": db.execute("SELECT identifier, msg_type, as_of FROM messages "
                                       "ORDER BY 1").fetchall(),
                "outbox": db.execute("SELECT idempotency_key, partner, filename, state FROM "
                                     "outbox ORDER BY 1").fetchall(),
                "runs": db.execute("SELECT as_of, run_id FROM runs ORDER BY 1").fetchall()}


def test_killed_runs_leave_whole_files_and_the_next_run_completes(
        tmp_path: Path, registry: Path, fast_world: None) -> None:
    # the uninterrupted reference, in process
    ref_config = ops_config(tmp_path / "ref", registry)
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(ref_config), "--quiet"])
    assert info.value.code == 0
    reference = store_rows(tmp_path / "ref" / "alerts.sqlite")
    assert reference["alerts"] and reference["outbox"]

    config = ops_config(tmp_path / "crash", registry)
    family = tmp_path / "crash" / "runs" / "tiny"
    store = tmp_path / "crash" / "alerts.sqlite"
    expected_runs = {"backfill:2024-10": ["2024-10"],
                     "write:risk.nc": ["2024-10", "2024-11"],
                     "write:manifest.json:running": ["2024-10", "2024-11", AS_OF]}
    for point, runs in expected_runs.items():
        proc = run_cli(config, point)
        assert proc.returncode == -signal.SIGKILL, (point, proc.stderr[-2000:])
        counts = store_counts(store)
        assert counts["runs"] == runs, point
        assert counts["dup_new"] == counts["dup_outbox"] == counts["orphan_messages"] == 0
        problems = verify_tree(family)
        # the only thing a kill may leave is the hidden temporary of the interrupted write
        assert all(v == "leftover temporary file" for v in problems.values()), problems
        if point.startswith("write:"):
            name = point.split(":")[1]
            assert [Path(k).name.startswith(f".{name}.") for k in problems] == [True], point
            assert not (family / AS_OF / "manifest.json").exists()

    proc = run_cli(config, None)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert verify_tree(family) == {}  # every file opens and validates; temporaries gone
    for name in ("risk.nc", "manifest.json", "report.html", "alerts.csv", "alerts.geojson"):
        assert (family / AS_OF / name).is_file()
    got = store_rows(store)
    assert [a for a, _ in got["runs"]] == [a for a, _ in reference["runs"]]
    assert got["alerts"] == reference["alerts"]  # none lost, none opened twice
    assert got["messages"] == reference["messages"]
    assert got["outbox"] == reference["outbox"]
    states = [h["status"] for h in map(eval_json, (family / "history.jsonl").read_text()
                                       .splitlines())]
    assert states == ["running"] * 3 + ["ok"]  # the killed runs never recorded an end


def eval_json(line: str) -> dict:  # type: ignore[type-arg]
    import json

    return json.loads(line)


KILL_IN_TRANSACTION = """
import os, signal, sys
from datetime import datetime, timezone
import numpy as np, xarray as xr
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import AlertStore
from riskmodel.config import load_config

cfg = load_config(sys.argv[1])
risk = xr.open_dataset(sys.argv[2]).load()
# the same scores one month later: a new night for the store
risk = risk.assign_coords(time=risk["time"].values + np.timedelta64(31, "D"))
risk.attrs["as_of"] = "2025-01"
if sys.argv[3] == "kill":
    def add_run(self, *a, **k):  # called last inside the night's transaction
        os.kill(os.getpid(), signal.SIGKILL)
    AlertStore.add_run = add_run
publish_alerts(risk, run_dir=sys.argv[4], cfg=cfg.alerts, run_id="tiny-2025-01",
               sent=datetime(2025, 1, 2, tzinfo=timezone.utc))
"""


def test_kill_inside_the_alert_transaction_rolls_the_night_back(
        tmp_path: Path, registry: Path, tiny_run: dict) -> None:  # type: ignore[type-arg]
    # Start from a copy of the session's tiny run: its store and risk of 2024-12.
    config = ops_config(tmp_path, registry)
    store = tmp_path / "alerts.sqlite"
    with sqlite3.connect(Path(tiny_run["folder"]) / "alerts.sqlite") as src, \
            sqlite3.connect(store) as dst:
        src.backup(dst)
    risk = Path(tiny_run["run_dir"]) / "risk.nc"
    before = store_rows(store)

    def publish(mode: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        return subprocess.run([sys.executable, "-c", KILL_IN_TRANSACTION, str(config),
                               str(risk), mode, str(tmp_path / "next")], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    proc = publish("kill")
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert store_rows(store) == before  # the interrupted night left no trace
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    proc = publish("normal")
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = store_rows(store)
    assert [a for a, _ in after["runs"]][-1] == "2025-01"
    assert len(after["outbox"]) > len(before["outbox"])  # the partner's feeds at least
    assert store_counts(store)["dup_outbox"] == 0
    assert publish("normal").returncode == 0
    assert store_rows(store) == after  # publishing the same night again changes nothing


def test_kill_point_hook_fires_only_at_its_named_point(tmp_path: Path) -> None:
    script = ("from riskmodel.progress import Progress\n"
              "p = Progress(quiet=True)\n"
              "for name in ('world', 'features', 'score'):\n"
              "    with p.stage(name):\n"
              "        pass\n"
              "    print(name, flush=True)\n")
    for point, printed, code in (("after:features", "world\n", -signal.SIGKILL),
                                 ("after:nowhere", "world\nfeatures\nscore\n", 0)):
        proc = subprocess.run([sys.executable, "-c", script], env={**os.environ, ENV: point},
                              capture_output=True, text=True, timeout=60)
        assert (proc.returncode, proc.stdout) == (code, printed), point
