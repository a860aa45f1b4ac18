"""What a partner meets: CAP identifiers wherever an alert id goes, numbers rounded for
people (full precision in JSON), the verifier's time message, and CAP times in order
(effective and onset before expires) even for months already over when sent."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_alerts_fakes import make_risk

from riskmodel.alerts import cap
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.verify import sign
from riskmodel.commands.alerts import main as cli
from riskmodel.config import AlertsConfig

AID = "fl-XAA-01-2026-05"
KEY = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.fixture()
def store(tmp_path: Path) -> tuple[Path, list[str]]:
    (tmp_path / "partners.toml").write_text(
        '[[partner]]\nid = "pa"\nname = "A"\ncountries = ["XAA"]\n')
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), partners=str(tmp_path / "partners.toml"))
    publish_alerts(make_risk({"XAA-01": 0.7}), run_dir=tmp_path / "run", cfg=cfg,
                   run_id="r1", sent=datetime(2026, 6, 2, 1, tzinfo=timezone.utc))
    return tmp_path, ["--store", cfg.store, "--partners", cfg.partners]


def test_cap_identifier_names_its_alert_in_feedback_show_and_ack(store, capsys) -> None:
    tmp, c = store
    f = tmp / "fb.csv"
    # The identifier in the alert_id column (as a partner copies it from the CAP file), and
    # in the identifier column; an identifier of no message stays an error.
    f.write_text("alert_id,outcome,partner\n"
                 f"{AID}.1,confirmed,pa\n"
                 f"{AID}.9,confirmed,pa\n")
    assert cli(["alerts", "feedback", *c, str(f), "--json"]) == 2
    out = capsys.readouterr()
    res = json.loads(out.out)
    assert res["recorded"] == 1 and [e[0] for e in res["errors"]] == [3]
    assert f"unknown alert '{AID}.9'" in out.err
    g = tmp / "fb2.csv"
    g.write_text("identifier,outcome,partner\ncl-XAA-01-2026-05.1,not_found,pa\n")
    assert cli(["alerts", "feedback", *c, str(g)]) == 0
    capsys.readouterr()
    assert cli(["alerts", "show", *c[:2], f"{AID}.1", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["alert_id"] == AID
    assert [(x["partner"], x["outcome"]) for x in info["feedback"]] == [("pa", "confirmed")]
    assert cli(["alerts", "ack", *c, f"{AID}.1", "--partner", "pa"]) == 0
    assert capsys.readouterr().out.startswith(f"{AID}: acknowledged by pa")
    assert cli(["alerts", "show", *c[:2], AID, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["acknowledged_by"] == "pa"
    assert cli(["alerts", "ack", *c, f"{AID}.7", "--partner", "pa"]) == 2
    assert "unknown alert" in capsys.readouterr().err


def test_show_rounds_for_people_json_keeps_precision(store, capsys) -> None:
    _, c = store
    assert cli(["alerts", "show", *c[:2], AID, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert cli(["alerts", "show", *c[:2], AID]) == 0
    text = capsys.readouterr().out
    risk_line = next(x for x in text.splitlines() if x.strip().startswith("risk:"))
    assert risk_line.split(":", 1)[1].strip() == (
        f"{info['risk']:.2f} (80% interval {info['risk_lo']:.2f}-{info['risk_hi']:.2f})")
    # No number in the human view has more than two decimals.
    assert not re.search(r"\d\.\d{3,}", text), text
    assert re.search(r"\d\.\d{5,}", json.dumps(info["risk"])), "JSON keeps full precision"


@pytest.mark.parametrize("offset,words", [(-41, "41 s in the past"), (75, "75 s in the future")])
def test_verify_says_past_or_future(tmp_path: Path, capsys, monkeypatch, offset: int,
                                    words: str) -> None:
    now, body = 1_780_000_000, b"<alert/>"
    ts = now + offset
    (tmp_path / "body").write_bytes(body)
    monkeypatch.setenv("WH_SECRET", KEY)
    rc = cli(["alerts", "verify", str(tmp_path / "body"), "--id", "m1", "--timestamp", str(ts),
              "--signature", sign(KEY, "m1", ts, body), "--secret-env", "WH_SECRET",
              "--tolerance", "5", "--now", str(now)])
    err = capsys.readouterr().err
    assert rc == 2 and words in err and "tolerance 5 s" in err, err


def test_info_times_in_order_for_current_and_past_months() -> None:
    # Sent during the forecast window: effective when sent.
    assert cap.info_times("2026-06-02T01:00:00+00:00", "2026-06", 3) == (
        "2026-06-02T01:00:00+00:00", "2026-06-01T00:00:00+00:00", "2026-09-01T00:00:00+00:00")
    # A month long over (the demo replays 2024 in 2026): effective at onset, not after expiry.
    eff, onset, exp = cap.info_times("2026-12-07T11:00:00+00:00", "2024-11", 1)
    assert eff == onset == "2024-11-01T00:00:00+00:00" and exp == "2024-12-01T00:00:00+00:00"


def test_replayed_month_message_is_valid_and_check_cap_catches_disorder(tmp_path: Path) -> None:
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"))
    publish_alerts(make_risk({"XAA-01": 0.7}, as_of="2024-11"), run_dir=tmp_path / "run",
                   cfg=cfg, run_id="r1", sent=datetime(2026, 12, 7, 11, tzinfo=timezone.utc))
    files = sorted((tmp_path / "run" / "alerts" / "cap").glob("*.xml"))
    assert files
    for p in files:
        xml = p.read_text()
        assert cap.validate_cap(xml) == [], p
        info = cap.read_message(xml)["info"][0]
        exp = datetime.fromisoformat(info["expires"])
        assert datetime.fromisoformat(info["effective"]) < exp
        assert datetime.fromisoformat(info["onset"]) < exp
    bad = re.sub(r"<effective>[^<]+</effective>", "<effective>2026-12-07T11:00:00+00:00"
                 "</effective>", files[0].read_text())
    assert any("effective" in pr and "expires" in pr for pr in cap.check_cap(bad))


def test_tiny_run_cap_files_take_effect_before_they_expire(tiny_run: dict) -> None:
    files = sorted(tiny_run["folder"].rglob("cap/*.xml"))
    assert files, "the tiny run publishes CAP messages"
    for p in files:
        xml = p.read_text()
        assert cap.validate_cap(xml) == [], p
        for info in cap.read_message(xml)["info"]:
            exp = datetime.fromisoformat(info["expires"])
            assert datetime.fromisoformat(info["effective"]) < exp, p
            assert datetime.fromisoformat(info["onset"]) < exp, p
