"""`riskmodel alerts` subcommands: list/show --json, ack, export, feedback by line, verify --cap."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_alerts_fakes import make_risk

from riskmodel.alerts.publish import publish_alerts
from riskmodel.commands.alerts import main as cli
from riskmodel.config import AlertsConfig


@pytest.fixture()
def store(tmp_path: Path) -> tuple[Path, list[str]]:
    (tmp_path / "partners.toml").write_text(
        '[[partner]]\nid = "pa"\nname = "A"\ncountries = ["XAA"]\n\n'
        '[[partner]]\nid = "pc"\nname = "C"\ncountries = ["XAC"]\n')
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), partners=str(tmp_path / "partners.toml"))
    publish_alerts(make_risk({"XAA-01": 0.7, "XAC-02": 0.9}), run_dir=tmp_path / "run",
                   cfg=cfg, run_id="r1", sent=datetime(2026, 6, 2, 1, tzinfo=timezone.utc))
    # A run config pointing at the store, as `riskmodel run` would use.
    (tmp_path / "run.toml").write_text(f'[alerts]\nstore = "{cfg.store}"\n'
                                       f'partners = "{cfg.partners}"\n')
    return tmp_path, ["--config", str(tmp_path / "run.toml")]


def test_list_show_json(store, capsys) -> None:
    tmp, c = store
    assert cli(["alerts", "list", *c, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["alert_id"] for r in rows][:1] == ["fl-XAC-02-2026-05"]  # highest priority first
    assert len(rows) == 4 and all(r["state"] == "new" for r in rows)
    assert cli(["alerts", "list", *c, "--target", "cl"]) == 0
    assert "2 alert(s)" in capsys.readouterr().out
    assert cli(["alerts", "show", *c, "fl-XAA-01-2026-05", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["history"][0]["to_state"] == "new"
    assert info["messages"][0]["identifier"] == "fl-XAA-01-2026-05.1"
    assert info["drivers"][0][0] == "spi3"
    assert cli(["alerts", "show", *c, "fl-XAA-01-2026-05"]) == 0
    assert "history:" in capsys.readouterr().out
    assert cli(["alerts", "show", *c, "nope"]) == 2
    assert cli(["alerts", "list", "--store", str(tmp / "missing.sqlite")]) == 2


def test_ack_is_history_and_idempotent(store, capsys) -> None:
    _, c = store
    assert cli(["alerts", "ack", *c, "fl-XAA-01-2026-05", "--partner", "pa"]) == 0
    assert cli(["alerts", "ack", *c, "fl-XAA-01-2026-05", "--partner", "pa"]) == 0
    assert "already acknowledged" in capsys.readouterr().out
    cli(["alerts", "show", *c, "fl-XAA-01-2026-05", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert [h["to_state"] for h in info["history"]] == ["new", "acknowledged"]
    assert info["state"] == "new" and info["acknowledged_by"] == "pa"


def test_export_and_verify_cap(store, capsys) -> None:
    tmp, c = store
    assert cli(["alerts", "export", *c, "--dest", str(tmp / "exp")]) == 0
    caps = sorted(str(p) for p in (tmp / "exp" / "cap").glob("*.xml"))
    assert len(caps) == 4 and (tmp / "exp" / "alerts.geojson").exists()
    assert cli(["alerts", "verify", "--cap", *caps]) == 0
    bad = tmp / "bad.xml"
    text = Path(caps[0]).read_text()
    # Break the spec's polygon rule (open ring) and the offset rule; the XSD alone misses both.
    import re
    text = re.sub(r"(<polygon>[^<]*?) [^ <]+</polygon>", r"\1</polygon>", text, count=1)
    text = text.replace("+00:00</sent>", "</sent>")
    bad.write_text(text)
    capsys.readouterr()
    assert cli(["alerts", "verify", "--cap", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not closed" in err and "sent" in err
    assert cli(["alerts", "export", *c, "--dest", str(tmp / "x"), "--format", "kml"]) == 2


def test_feedback_bad_rows_by_line_valid_kept(store, capsys) -> None:
    tmp, c = store
    f = tmp / "fb.csv"
    f.write_text(
        "alert_id,outcome,partner,observed_on,note\n"
        "fl-XAA-01-2026-05,confirmed,pa,2026-06-20,two workers\n"     # 2 ok
        "fl-XZZ-01-2026-05,confirmed,pa,2026-06-20,\n"                # 3 unknown alert
        "cl-XAA-01-2026-05,maybe,pa,,\n"                              # 4 bad outcome
        "fl-XAC-02-2026-05,not found,pc,2026-06-21,\n"                # 5 ok (spelling normalised)
        "cl-XAC-02-2026-05,confirmed,pc,21/06/2026,\n"                # 6 bad date
        "cl-XAC-02-2026-05,not_visited,pc,,,extra\n"                  # 7 extra field
        "\n"
        "cl-XAA-01-2026-05,confirmed,pa,,\n")                         # 9 ok
    assert cli(["alerts", "feedback", *c, str(f), "--json"]) == 2
    out = capsys.readouterr()
    res = json.loads(out.out)
    assert res["recorded"] == 3
    assert [e[0] for e in res["errors"]] == [3, 4, 6, 7]
    assert "fb.csv:4: outcome 'maybe'" in out.err
    assert res["precision"]["all"]["precision"] == pytest.approx(2 / 3)
    assert res["precision"]["fl"]["precision"] == pytest.approx(1 / 2)
    # Confirmed outcomes become labels for the next training.
    assert cli(["alerts", "export", *c, "--labels", "--dest", str(tmp / "labels.csv")]) == 0
    rows = list(csv.DictReader((tmp / "labels.csv").open()))
    assert sorted((r["alert_id"], r["label"]) for r in rows) == [
        ("cl-XAA-01-2026-05", "1"), ("fl-XAA-01-2026-05", "1"), ("fl-XAC-02-2026-05", "0")]
    assert json.loads(rows[0]["admin1"]) in (["XAA-01"], ["XAC-02"])
    # A header without the required columns is one error naming line 1.
    (tmp / "h.csv").write_text("id,result\nx,y\n")
    assert cli(["alerts", "feedback", *c, str(tmp / "h.csv")]) == 2
    assert "h.csv:1: header needs" in capsys.readouterr().err
