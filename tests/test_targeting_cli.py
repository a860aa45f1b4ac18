"""`riskmodel targeting` end to end: outputs, exit codes, and no output on bad input."""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import riskmodel.cli as cli

DATA = Path(__file__).parent / "data" / "targeting"


def _tiny_risk():
    spec = importlib.util.spec_from_file_location("targeting_risk_grid",
                                                  DATA / "risk_grid.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tiny_risk()


def _siblings_importable() -> bool:
    try:
        for name in cli.COMMAND_MODULES:
            importlib.import_module(name)
    except ModuleNotFoundError:
        return False
    return True


@pytest.fixture
def run_cli(monkeypatch):
    """Call the real `cli.main`; register only this command when siblings are not built yet.

    Other subcommands land concurrently; a missing sibling module must not hide whether
    this command works, so the registry is narrowed to it only in that case.
    """
    if not _siblings_importable():
        monkeypatch.setattr(cli, "COMMAND_MODULES", ("riskmodel.commands.targeting",))

    def run(argv: list[str]) -> int:
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        return int(info.value.code)
    return run


def _args(tmp_path: Path, *extra: str, window=("2021", "2023")) -> list[str]:
    return ["targeting", "--events", str(DATA / "events.csv"),
            "--programmes", str(DATA / "programmes.csv"),
            "--from", window[0], "--to", window[1],
            "--json", str(tmp_path / "out.json"), *extra]


def test_command_is_registered() -> None:
    assert "riskmodel.commands.targeting" in cli.COMMAND_MODULES


def test_json_and_html_written(tmp_path: Path, run_cli) -> None:
    code = run_cli(_args(tmp_path, "--html", str(tmp_path / "out.html")))
    assert code == 0
    data = json.loads((tmp_path / "out.json").read_text())
    assert set(data) == {"window", "groups"}
    assert data["window"] == [2021, 2023]
    fl, cl = data["groups"]["forced_labour"], data["groups"]["child_labour"]
    assert (fl["observed"], fl["cas"], fl["with_fprw_programming"],
            fl["with_focused_programming"], fl["without_fprw_programming"]
            ) == (79, 6, 37, 26, 42)
    assert (cl["observed"], cl["cas"], cl["with_fprw_programming"],
            cl["with_focused_programming"], cl["without_focused_programming"]
            ) == (103, 7, 46, 40, 63)
    html = (tmp_path / "out.html").read_text()
    assert "Between 2021 and 2023, 79 countries received observations" in html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.html", "out.json"]


def test_risk_adds_ranked_opportunities(tmp_path: Path, run_cli) -> None:
    risk = tmp_path / "risk.nc"
    ds = _tiny_risk()  # countries XAA, XAB, XAE are in the fixture; the others are not
    ds.to_netcdf(risk)
    assert run_cli(_args(tmp_path, "--risk", str(risk))) == 0
    data = json.loads((tmp_path / "out.json").read_text())
    opps = data["opportunities"]
    assert data["risk_time"] == "2026-10-01"
    assert [o["rank"] for o in opps] == list(range(1, len(opps) + 1))
    scored = [o for o in opps if o["score"] is not None]
    assert {o["iso3"] for o in scored} <= {"XAA", "XAB", "XAE"} and scored
    assert opps[: len(scored)] == scored  # unmodelled countries come after all scored
    assert [o["score"] for o in scored] == sorted((o["score"] for o in scored), reverse=True)


def test_bad_row_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, run_cli,
                                                          capsys) -> None:
    events = tmp_path / "events.csv"
    lines = (DATA / "events.csv").read_text().splitlines(keepends=True)
    lines[41] = "XAB,2O22,observation,C029\n"  # letter O in the year, line 42
    events.write_text("".join(lines))
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.json").write_text("previous")
    argv = ["targeting", "--events", str(events), "--programmes", str(DATA / "programmes.csv"),
            "--from", "2021", "--to", "2023", "--json", str(out / "new.json"),
            "--html", str(out / "new.html")]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    assert err == f"riskmodel: error: 1 bad row: {events}:42: year '2O22' (expected an " \
                  "integer year such as 2021)\n"
    assert sorted(p.name for p in out.iterdir()) == ["old.json"]  # no output, no temp file


def test_existing_output_survives_a_failed_run(tmp_path: Path, run_cli) -> None:
    (tmp_path / "out.json").write_text("previous")
    args = _args(tmp_path, "--risk", str(tmp_path / "missing.nc"))
    assert run_cli(args) == 2
    assert (tmp_path / "out.json").read_text() == "previous"


def test_reversed_window_is_an_input_error(tmp_path: Path, run_cli, capsys) -> None:
    assert run_cli(_args(tmp_path, window=("2023", "2021"))) == 2
    assert "--from is after --to" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


def test_subprocess_exit_codes(tmp_path: Path) -> None:
    """As the nightly job calls it: the console script, or `python -c` with only this
    command registered while sibling subcommands are still being built."""
    exe = Path(sys.executable).with_name("riskmodel")
    if exe.exists() and _siblings_importable():
        prefix = [str(exe)]
    else:
        prefix = [sys.executable, "-c",
                  "import sys, riskmodel.cli as c; "
                  "c.COMMAND_MODULES = ('riskmodel.commands.targeting',); c.main(sys.argv[1:])"]
    ok = subprocess.run([*prefix, *_args(tmp_path, window=("2019", "2023"))],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["groups"]["child_labour"]["ta"]["requested"] == 10
    bad = subprocess.run([*prefix, *_args(tmp_path / "x", window=("2019", "2023"))[:-2],
                          "--json", str(tmp_path / "x.json"), "--risk", str(tmp_path)],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("riskmodel: error: ") and bad.stderr.count("\n") == 1
    assert not (tmp_path / "x.json").exists()
