"""What the operator of the nightly run relies on: the README's recipes run the night and
deliver (every command parses with the CLI's parser), a night refused for its config is
in the history so `status --fail-on-error` fails, two nights on two input files score two
months, first-night alerts count as new, warnings are counted and reported, a refused
month writes nothing, and `score --no-alerts` re-scores a past month without the store."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import sqlite3
from pathlib import Path

import pytest
import xarray as xr

import riskmodel.pipeline as pipeline
from conftest import ROOT
from riskmodel.cli import build_parser, main
from riskmodel.config import load_config
from riskmodel.errors import ConfigError
from riskmodel.ops.history import history_path, read_history
from test_ops_support import fast_world, ops_config, registry, store_counts  # noqa: F401

AS_OF = "2024-12"


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    return int(info.value.code or 0)


def nightly_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Operating it nightly")
    return text[start:text.index("\n## ", start + 1)]


def riskmodel_commands(line: str) -> list[list[str]]:
    """The argument lists of every `.../riskmodel ...` command in a shell line."""
    out = []
    for part in re.split(r"&&|;", line):
        words = shlex.split(part)
        at = [i for i, w in enumerate(words) if w.endswith("bin/riskmodel")]
        if not at:
            continue
        args = []
        for w in words[at[0] + 1:]:
            if w.startswith((">", "2>")):
                break
            args.append(w)
        out.append(args)
    return out


def test_readme_recipes_run_the_night_then_deliver_and_parse() -> None:
    section = nightly_section()
    cron = [ln for ln in section.splitlines() if re.match(r"^[\d*/,-]+ [\d*/,-]+ ", ln)]
    assert len(cron) == 1
    service = [ln.split("=", 1)[1] for ln in section.splitlines()
               if ln.startswith(("ExecStart=", "ExecStopPost="))]
    parser = build_parser()
    for recipe in (riskmodel_commands(cron[0]),
                   [c for ln in service for c in riskmodel_commands(ln)]):
        assert [c[:2] for c in recipe] == [["run", "--config"], ["alerts", "deliver"]]
        for argv in recipe:
            args = parser.parse_args(argv)  # an unknown command or option exits here
            assert callable(args.handler)
        run_args = parser.parse_args(recipe[0])
        assert run_args.inputs and run_args.log_json  # fresh inputs every night
    assert "User=riskmodel" in section and "/srv/riskmodel" in section
    assert "/work/main" not in section


def test_config_files_checked_at_load_naming_key_and_file(tmp_path: Path) -> None:
    from conftest import write_tiny_config
    from riskmodel.ops.paths import check_config_files
    for key in ("rules", "partners"):
        (tmp_path / key).mkdir()
        config = write_tiny_config(tmp_path / key, alerts={key: str(tmp_path / "typo.toml")})
        with pytest.raises(ConfigError) as info:
            check_config_files(load_config(config), str(config))
        assert f"alerts.{key}" in str(info.value) and "typo.toml" in str(info.value)
        assert str(config) in str(info.value)


def test_refused_config_is_in_the_history_and_status_fails(
        tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture) -> None:
    config = ops_config(tmp_path, registry, alerts={"rules": str(tmp_path / "rulez.toml")})
    assert run("run", "--config", str(config)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "alerts.rules" in err[0] and "rulez.toml" in err[0]
    family = tmp_path / "runs" / "tiny"
    assert [p.name for p in family.iterdir() if p.is_dir()] == []  # no work done
    hist = read_history(history_path(family))
    assert [(h["status"], h["exit_code"]) for h in hist] == [("failed", 2)]
    assert run("status", "--config", str(config), "--fail-on-error") == 2

    # A file that is not TOML: recorded under <out default>/<file stem>, read by status.
    broken = tmp_path / "nightly.toml"
    broken.write_bytes(b"name = \"nightly\"\n[world\n")
    out = tmp_path / "elsewhere"
    assert run("score", "--config", str(broken), "--out", str(out), "--as-of", AS_OF) == 2
    hist = read_history(history_path(out / "nightly"))
    assert hist[-1]["command"] == "score" and hist[-1]["exit_code"] == 2
    capsys.readouterr()
    assert run("status", "--config", str(broken), "--out", str(out), "--fail-on-error") == 2
    assert "failed (exit 2)" in capsys.readouterr().out


def write_months(folder: Path, config: Path, months: int) -> Path:
    """The config's world cut to its first `months` months, as an inputs NetCDF."""
    cfg = load_config(config)
    ds: xr.Dataset = pipeline.make_world(cfg.world, cfg.seed).isel(time=slice(0, months))
    path = folder / f"inputs-{months}.nc"
    ds.to_netcdf(path, engine="netcdf4")
    return path


def test_two_nights_on_two_input_files_score_two_months(
        tmp_path: Path, registry: Path, fast_world: None) -> None:
    config = ops_config(tmp_path, registry)
    n = load_config(config).world.n_months
    first, second = write_months(tmp_path, config, n - 1), write_months(tmp_path, config, n)
    assert run("run", "--config", str(config), "--inputs", str(first), "--quiet") == 0
    assert run("run", "--config", str(config), "--inputs", str(second), "--quiet") == 0
    family = tmp_path / "runs" / "tiny"
    assert (family / "2024-11" / "risk.nc").is_file() and (family / AS_OF / "risk.nc").is_file()
    assert [h["as_of"] for h in read_history(history_path(family))] == ["2024-11", AS_OF]
    assert store_counts(tmp_path / "alerts.sqlite")["runs"][-2:] == ["2024-11", AS_OF]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_night_counts_backfilled_alerts_as_new(
        tmp_path: Path, registry: Path, fast_world: None,
        capsys: pytest.CaptureFixture) -> None:
    config = ops_config(tmp_path, registry)
    store = tmp_path / "alerts.sqlite"
    assert run("run", "--config", str(config), "--log-json") == 0
    events = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.strip()]
    family = tmp_path / "runs" / "tiny"
    hist = read_history(history_path(family))
    with sqlite3.connect(store) as db:
        opened = db.execute("SELECT count(*) FROM alerts").fetchone()[0]
        before = db.execute("SELECT count(*) FROM alerts WHERE opened_as_of < ?",
                            (AS_OF,)).fetchone()[0]
    assert opened > 0 and before > 0  # some alerts were opened in backfilled months
    # Every alert in the new store reaches partners for the first time tonight.
    alerts = hist[-1]["alerts"]
    assert alerts["new"] == opened and alerts["ongoing"] == 0
    assert events[-1]["alerts"]["new"] == opened
    manifest = json.loads((family / AS_OF / "manifest.json").read_text())
    assert manifest["summary"]["alerts"]["new_backfilled"] == before
    assert "<h2>Warnings</h2>" in (family / AS_OF / "report.html").read_text()
    capsys.readouterr()
    assert run("status", "--config", str(config)) == 0
    assert f"{opened} new" in capsys.readouterr().out


def test_refused_month_leaves_nothing_and_no_alerts_rescores_it(
        tmp_path: Path, registry: Path, fast_world: None,
        capsys: pytest.CaptureFixture) -> None:
    config = ops_config(tmp_path, registry)
    store = tmp_path / "alerts.sqlite"
    family = tmp_path / "runs" / "tiny"
    assert run("run", "--config", str(config), "--quiet") == 0
    capsys.readouterr()
    # A month before the store's newest is refused, and nothing is left behind.
    counts, digest = store_counts(store), sha(store)
    assert run("score", "--config", str(config), "--as-of", "2024-06") == 2
    assert "--no-alerts" in capsys.readouterr().err
    assert not (family / "2024-06").exists()
    assert read_history(history_path(family))[-1]["exit_code"] == 2
    # ... and re-scored without alerts: risk.nc and report, the store untouched.
    assert run("score", "--config", str(config), "--as-of", "2024-06", "--no-alerts",
               "--quiet") == 0
    assert (family / "2024-06" / "risk.nc").is_file()
    assert (family / "2024-06" / "report.html").is_file()
    assert not (family / "2024-06" / "alerts.csv").exists()
    assert store_counts(store) == counts and sha(store) == digest
    assert read_history(history_path(family))[-1]["status"] == "ok"


def test_status_counts_the_warnings_it_does_not_show_and_report_lists_them(
        tiny_config: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = load_config(tiny_config)
    family = Path(cfg.out) / cfg.name
    family.mkdir(parents=True)
    warnings = [f"drift: f{i}: above 95% of training months" for i in range(8)]
    history_path(family).write_text(json.dumps({
        "run_id": "r1", "status": "ok", "exit_code": 0, "started": "2026-01-01T02:30:00+00:00",
        "as_of": AS_OF, "run_dir": str(family / AS_OF), "warnings": warnings,
        "alerts": {"new": 1}}) + "\n")
    assert run("status", "--config", str(tiny_config)) == 0
    out = capsys.readouterr().out
    assert out.count("warning: drift") == 5
    assert f"and 3 more warning(s) (all in {family / AS_OF / 'checks.json'})" in out

    manifest = {"checks": {"overrides": ["allow_stale"], "findings": [
        {"kind": "drift", "subject": "f1", "status": "warn", "message": "m1"},
        {"kind": "freshness", "subject": "gdp", "status": "fail", "message": "m2"},
        {"kind": "drift", "subject": "f2", "status": "fail", "message": "m3"}]}}
    from riskmodel.report.run_report import warnings_section
    html = warnings_section(manifest)
    assert "2 warning(s)" in html and "m1" in html and "m2" in html and "m3" not in html
