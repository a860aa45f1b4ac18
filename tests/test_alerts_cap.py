"""CAP reader/writer against the OASIS example and schema; store migrations are versioned."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
import xmlschema
from test_alerts_fakes import make_risk

from riskmodel.alerts.cap import check_cap, read_message
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import MIGRATIONS, SCHEMA_VERSION, AlertStore
from riskmodel.config import AlertsConfig
from riskmodel.errors import InputError

SCHEMA = Path(__file__).resolve().parents[1] / "riskmodel" / "alerts" / "schema"


def test_oasis_example_reads_and_validates() -> None:
    xsd = xmlschema.XMLSchema(SCHEMA / "CAP-v1.2.xsd")
    ex = (SCHEMA / "cap_amber_alert_example.xml").read_bytes()
    xsd.validate(ex.decode())
    assert check_cap(ex) == []
    msg = read_message(ex)
    assert msg["identifier"] == "KAR0-0306112239-SW" and msg["sent"].endswith("-07:00")
    assert len(msg["info"]) == 2 and msg["info"][1]["language"] == "es-US"
    assert msg["info"][0]["areas"][0]["geocodes"] == [("SAME", "006037")]


def test_our_messages_round_trip(tmp_path: Path) -> None:
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"))
    publish_alerts(make_risk({"XAB-02": 0.85}), run_dir=tmp_path / "r", cfg=cfg, run_id="r",
                   sent=datetime(2026, 6, 2, 4, 5, 6, tzinfo=timezone.utc))
    p = tmp_path / "r" / "alerts" / "cap" / "fl-XAB-02-2026-05.1.xml"
    msg = read_message(p.read_bytes())
    assert (msg["status"], msg["msgType"], msg["sent"]) == (
        "Exercise", "Alert", "2026-06-02T04:05:06+00:00")
    info = msg["info"][0]
    assert info["severity"] == "Severe" and info["certainty"] == "Likely"
    assert info["expires"] == "2026-08-01T00:00:00+00:00"  # end of the 3-month horizon
    assert float(info["parameters"]["risk"]) == pytest.approx(0.85, abs=1e-4)
    assert info["parameters"]["synthetic"] == "1"
    assert info["parameters"]["domain_economic"] == "+0.2500"
    (poly,) = info["areas"][0]["polygons"]
    assert poly[0] == poly[-1] and len(poly) >= 5
    lats = [la for la, _ in poly]
    assert min(lats) == pytest.approx(0.5) and max(lats) == pytest.approx(2.0)  # north half
    assert ("riskmodel:admin1", "XAB-02") in info["areas"][0]["geocodes"]


def test_store_migrates_step_by_step_and_refuses_newer(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.close()
    with AlertStore(path) as st:
        assert st.schema_version() == SCHEMA_VERSION
        st.db.execute("SELECT * FROM outbox").fetchall()
        st.db.execute("SELECT * FROM feedback").fetchall()
        st.db.execute("SELECT domains FROM alerts").fetchall()
        assert st.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(InputError, match="newer than this code"):
        AlertStore(path)
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError, match="not a usable alert store"):
        AlertStore(tmp_path / "junk.sqlite")
