"""What commands print for people: a table by default, JSON only when asked
(`targeting` without `--json`), and progress on the long steps (`features build`)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from riskmodel.cli import main

DATA = Path(__file__).parent / "data" / "targeting"


def cli(*argv: str) -> int:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    return int(info.value.code or 0)


def targeting(*extra: str) -> list[str]:
    return ["targeting", "--events", str(DATA / "events.csv"), "--programmes",
            str(DATA / "programmes.csv"), "--from", "2021", "--to", "2023", *extra]


def test_targeting_prints_a_table_and_json_is_optional(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    assert cli(*targeting()) == 0
    table = capsys.readouterr().out
    assert cli(*targeting("--json", str(tmp_path / "out.json"))) == 0
    assert capsys.readouterr().out == table  # the same table, and the file besides
    doc = json.loads((tmp_path / "out.json").read_text())
    lines = table.splitlines()
    assert lines[0] == "countries per group, 2021-2023"
    assert lines[1].split()[:3] == ["group", "observed", "CAS"]
    for name, g in doc["groups"].items():
        row = next(ln for ln in lines if ln.startswith(name + " "))
        assert [int(v) for v in row.split()[1:]] == [
            g["observed"], g["cas"], g["without_fprw_programming"],
            g["without_focused_programming"], g["ta"]["requested"]]
    assert "opportunities" not in table


def test_targeting_table_ranks_the_top_opportunities_with_risk(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec = importlib.util.spec_from_file_location("targeting_risk_grid", DATA / "risk_grid.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.tiny_risk().to_netcdf(tmp_path / "risk.nc")
    assert cli(*targeting("--risk", str(tmp_path / "risk.nc"), "--json",
                          str(tmp_path / "o.json"))) == 0
    out = capsys.readouterr().out
    opps = json.loads((tmp_path / "o.json").read_text())["opportunities"]
    assert f"top {min(10, len(opps))} of {len(opps)} opportunities" in out
    rows = out.split("opportunities", 1)[1].splitlines()[2:]
    assert [r.split()[1] for r in rows] == [o["iso3"] for o in opps[:10]]
    assert [int(r.split()[0]) for r in rows] == [o["rank"] for o in opps[:10]]


def test_features_build_reports_its_stages(tiny_config: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import riskmodel.commands.features as command

    monkeypatch.setattr(command, "ANNOUNCE_AFTER_S", 0.0)  # every stage counts as long
    assert cli("features", "build", "--config", str(tiny_config), "--cube",
               str(tmp_path / "cube.nc")) == 0
    err = capsys.readouterr().err.splitlines()
    cube = [ln for ln in err if "stage=cube" in ln]
    assert cube[0] == "riskmodel: stage=cube status=running"
    assert cube[-1].startswith("riskmodel: stage=cube status=done seconds=")
    assert any(ln.startswith("riskmodel: stage=write status=done") for ln in err)
    # A config that fails at once is still one line, and no stage speaks.
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[sources]\nstart_year = 2000\nend_year = 2001\n'
                   '[sources.inputs.a]\nreader = "csv"\npath = "missing.csv"\n'
                   '[sources.inputs.a.variables]\nx = { column = "x", units = "1" }\n')
    monkeypatch.setattr(command, "ANNOUNCE_AFTER_S", 3.0)
    assert cli("features", "build", "--config", str(bad), "--cube",
               str(tmp_path / "x.nc")) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
