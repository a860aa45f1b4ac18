"""Nightly runs in process on the tiny world: the first run backfills alert history, a rerun
changes nothing, failing input checks stop the run before anything is published (with the
right exit code and a report), overrides are recorded, and the history and `riskmodel
status` tell what happened; `--log-json` lines are JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import riskmodel.pipeline as pipeline
from riskmodel.cli import main
from riskmodel.config import load_config
from riskmodel.errors import DriftError
from riskmodel.ops.history import read_history
from test_ops_support import fast_world, ops_config, registry, store_counts  # noqa: F401

AS_OF = "2024-12"


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    return int(info.value.code or 0)


def write_inputs(folder: Path, config: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """The config's world with `change(ds)` applied, saved as an inputs NetCDF."""
    cfg = load_config(config)
    ds = pipeline.make_world(cfg.world, cfg.seed).copy(deep=True)
    change(ds)
    path = folder / "world.nc"
    ds.to_netcdf(path, engine="netcdf4")
    return path


def test_first_run_backfills_history_and_rerun_publishes_nothing_new(
        tmp_path: Path, registry: Path, fast_world: None, capsys: pytest.CaptureFixture
) -> None:
    config = ops_config(tmp_path, registry)
    store = tmp_path / "alerts.sqlite"
    assert run("run", "--config", str(config), "--log-json") == 0
    err = capsys.readouterr().err
    events = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert {e["event"] for e in events} >= {"run", "stage"}
    assert events[-1]["event"] == "run" and events[-1]["status"] == "ok"
    assert {"ts", "level"} <= set(events[0])

    run_dir = tmp_path / "runs" / "tiny" / AS_OF
    first = store_counts(store)
    # rules need 2 of the last 3 runs: the two months before as-of were published first
    assert first["runs"] == ["2024-10", "2024-11", AS_OF]
    assert first["alerts"] > 0 and first["outbox"] > 0
    assert first["dup_new"] == first["dup_outbox"] == first["orphan_messages"] == 0
    assert (run_dir / "backfill" / "2024-10" / "alerts.csv").is_file()
    assert not (run_dir / "backfill" / "2024-10" / "risk.nc").exists()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["backfilled"] == ["2024-10", "2024-11"] and manifest["status"] == "ok"
    assert manifest["checks"]["status"] in ("ok", "warnings") and manifest["overrides"] == []
    assert set(manifest["timings_s"]) >= {"world", "features", "checks", "backfill", "score",
                                           "alerts", "report"}
    assert manifest["peak_rss_mib"] > 0

    assert run("run", "--config", str(config), "--quiet") == 0
    assert store_counts(store) == first  # no new alert, message or outbox row
    hist = read_history(tmp_path / "runs" / "tiny" / "history.jsonl")
    assert [h["status"] for h in hist] == ["ok", "ok"]
    assert hist[0]["backfilled"] == ["2024-10", "2024-11"] and hist[1]["backfilled"] == []
    assert hist[1]["alerts_rerun_of"] == f"tiny-{AS_OF}"

    capsys.readouterr()
    assert run("status", "--config", str(config)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("started") and len([x for x in out if AS_OF in x]) == 2
    assert "(rerun)" in out[1] and "ok" in out[2]
    assert run("status", "--config", str(config), "--json", "--fail-on-error") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["outcome"] for r in rows] == ["ok", "ok"]


def test_stale_input_stops_before_publishing_and_override_is_recorded(
        tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture) -> None:
    # Only freshness can fail here: coverage and drift limits are out of reach.
    config = ops_config(tmp_path, registry,
                        checks={"max_missing_share": 1.0, "drift_psi": 1e6})

    def stale(ds: xr.Dataset) -> None:
        ds["poverty_rate"][-2:] = np.nan  # the source stopped two months ago

    inputs = write_inputs(tmp_path, config, stale)
    store = tmp_path / "alerts.sqlite"
    code = run("run", "--config", str(config), "--inputs", str(inputs), "--quiet")
    err = capsys.readouterr().err
    assert code == 3
    last = err.splitlines()[-1]  # the one-line error, after the check warnings
    assert last.startswith("riskmodel: error: input checks failed before scoring 2024-12")
    assert "freshness: poverty_rate: newest data 2024-10 is 2 months before as-of 2024-12" \
        in last and "--allow-stale" in last
    run_dir = tmp_path / "runs" / "tiny" / AS_OF
    report = json.loads((run_dir / "checks.json").read_text())
    assert report["status"] == "failed"
    assert [f["subject"] for f in report["findings"] if f["status"] == "fail"] == \
        ["poverty_rate"]
    # nothing published: no risk, no manifest, no alert run, no backfill
    assert not (run_dir / "risk.nc").exists() and not (run_dir / "manifest.json").exists()
    assert not store.exists() or store_counts(store)["runs"] == []
    hist = read_history(tmp_path / "runs" / "tiny" / "history.jsonl")
    assert hist[-1]["status"] == "failed" and hist[-1]["exit_code"] == 3
    assert hist[-1]["checks"] == "failed" and hist[-1]["as_of"] == AS_OF  # how far it got

    assert run("run", "--config", str(config), "--inputs", str(inputs), "--quiet",
               "--allow-stale") == 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["overrides"] == ["allow_stale"]
    assert manifest["checks"]["status"] == "overridden"
    hist = read_history(tmp_path / "runs" / "tiny" / "history.jsonl")
    assert hist[-1]["overrides"] == ["allow_stale"]
    assert any(w.startswith("freshness: poverty_rate") for w in hist[-1]["warnings"])
    assert run("status", "--config", str(config), "--fail-on-error") == 0


def test_drift_and_bad_schema_exit_with_their_codes(
        tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture) -> None:
    config = ops_config(tmp_path, registry)

    def heat(ds: xr.Dataset) -> None:
        ds["temperature"][-1] += 9.0  # a month hotter than any in training, everywhere

    inputs = write_inputs(tmp_path, config, heat)
    assert run("run", "--config", str(config), "--inputs", str(inputs), "--quiet") == 4
    err = capsys.readouterr().err
    assert "drift: temp_anomaly: PSI" in err and "--allow-drift" in err
    assert not (tmp_path / "runs" / "tiny" / AS_OF / "risk.nc").exists()

    def duplicated(ds: xr.Dataset) -> None:
        t = ds["time"].values.copy()
        t[-1] = t[-2]
        ds["time"] = t

    inputs = write_inputs(tmp_path, config, duplicated)
    assert run("run", "--config", str(config), "--inputs", str(inputs), "--quiet") == 2
    err = capsys.readouterr().err
    assert "time: duplicated timestamp 2024-11-01" in err and "Traceback" not in err
    hist = read_history(tmp_path / "runs" / "tiny" / "history.jsonl")
    assert [h["exit_code"] for h in hist] == [4, 2]
    # drift fails in the checks; the broken time axis already when the inputs are read
    assert [h["checks"] for h in hist] == ["failed", None]
    assert run("status", "--config", str(config), "--fail-on-error") == 2


def test_drift_warnings_are_one_line_that_points_at_checks_json(tmp_path: Path) -> None:
    # Eight drifting features of a synthetic world are one warning line (with --quiet
    # too: a warning is not progress), naming the largest; checks.json keeps each.
    import io

    from riskmodel.checks import CheckReport, Finding
    from riskmodel.progress import Progress

    report = CheckReport(as_of=AS_OF)
    report.add("drift", 40, [Finding("drift", f"f{i}", "warn", f"PSI {0.2 + i / 10:.2f}",
                                     round(0.2 + i / 10, 4), 0.15) for i in range(8)])
    report.add("freshness", 1, [Finding("freshness", "poverty_rate", "fail", "old", 2, 1)])
    report.overrides.append("allow_stale")
    for quiet in (False, True):
        stream = io.StringIO()
        pipeline._settle(Progress(stream, quiet=quiet), report, report.findings, tmp_path,
                         ["fl", "cl"])
        lines = stream.getvalue().splitlines()
        drift = [x for x in lines if "kind=drift" in x]
        assert len(drift) == 1 and len(lines) == 2, lines  # + the overridden freshness
        assert "features=8 " in drift[0] and "targets=fl,cl" in drift[0]
        assert "8 of 40 features" in drift[0] and "f7 0.90, f6 0.80, f5 0.70 and 5 more" \
            in drift[0] and f"details in {tmp_path / 'checks.json'}" in drift[0]
    saved = json.loads((tmp_path / "checks.json").read_text())
    assert len([f for f in saved["findings"] if f["kind"] == "drift"]) == 8
    report.findings[-1] = Finding("drift", "f9", "fail", "PSI 9.00 beyond 2.00", 9.0, 2.0)
    with pytest.raises(DriftError):  # a drift failure still stops the night
        pipeline._settle(Progress(io.StringIO()), report, report.findings, tmp_path, ["fl"])
