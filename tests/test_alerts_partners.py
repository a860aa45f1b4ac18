"""Partner isolation: no partner ever receives another's areas, in any channel or format."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_alerts_fakes import ADMIN1, make_risk

from riskmodel.alerts.deliver import deliver
from riskmodel.alerts.export import export
from riskmodel.alerts.partners import load_partners
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import AlertStore
from riskmodel.commands.alerts import main as cli
from riskmodel.config import AlertsConfig

NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
SENT = datetime(2026, 6, 2, 3, 0, tzinfo=timezone.utc)

# What each partner may see: (admin-1 ids, targets).
ALLOWED = {
    "pa": ({"XAA-01", "XAA-02"}, {"fl", "cl"}),
    "pb": ({"XAB-02"}, {"cl"}),
    "pc": ({"XAC-01", "XAC-02"}, {"fl", "cl"}),
}


def partners_toml(tmp: Path) -> str:
    return f"""
[[partner]]
id = "pa"
name = "A"
countries = ["XAA"]
channels = [{{ kind = "directory", path = "{tmp}/drop/pa" }}]

[[partner]]
id = "pb"
name = "B"
countries = ["XAB"]
admin1 = ["XAB-02"]
targets = ["cl"]
formats = ["geojson", "csv"]
channels = [{{ kind = "directory", path = "{tmp}/drop/pb" }}]

[[partner]]
id = "pc"
name = "C"
countries = ["XAC"]
formats = ["cap"]
channels = [{{ kind = "directory", path = "{tmp}/drop/pc" }},
            {{ kind = "directory", path = "{tmp}/drop/pc-mirror" }}]
"""


def check_bytes(pid: str, name: str, data: bytes) -> int:
    """Assert `data` (any format) only mentions the partner's areas; return areas seen."""
    admin1, targets = ALLOWED[pid]
    text = data.decode()
    for a in ADMIN1:
        if a not in admin1:
            assert a not in text, f"{pid}: {name} mentions foreign area {a}"
    seen: set[str] = set()
    if name.endswith(".xml"):
        root = ET.fromstring(data)
        for g in root.iter(NS + "geocode"):
            if g.findtext(NS + "valueName") == "riskmodel:admin1":
                seen.add(g.findtext(NS + "value") or "")
        tgt = root.find(f"{NS}info/{NS}eventCode/{NS}value")
        assert tgt is not None and tgt.text.lower() in targets
    elif name.endswith(".geojson"):
        for f in json.loads(data)["features"]:
            seen |= set(f["properties"]["admin1"].split())
            assert f["properties"]["target"] in targets
    elif name.endswith(".csv"):
        for r in csv.DictReader(io.StringIO(text)):
            seen |= set(r["admin1"].split())
            assert r["target"] in targets
    assert seen <= admin1, f"{pid}: {name} carries {seen - admin1}"
    return len(seen)


@pytest.fixture()
def published(tmp_path: Path) -> tuple[Path, AlertsConfig]:
    (tmp_path / "partners.toml").write_text(partners_toml(tmp_path))
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), partners=str(tmp_path / "partners.toml"))
    levels = {a: 0.8 for a in ADMIN1}
    s = publish_alerts(make_risk(levels), run_dir=tmp_path / "run", cfg=cfg, run_id="r1",
                       sent=SENT)
    assert s["new"] == 12
    assert s["partners"]["pb"]["alerts"] == 1 and s["partners"]["pa"]["alerts"] == 4
    return tmp_path, cfg


def test_run_folder_feeds_isolated(published) -> None:
    tmp, _ = published
    for pid in ALLOWED:
        files = [p for p in (tmp / "run" / "alerts" / "partners" / pid).rglob("*") if p.is_file()]
        assert files, pid
        seen = sum(check_bytes(pid, p.name, p.read_bytes()) for p in files)
        assert seen > 0
    # Format choice is honoured: pb gets no CAP, pc gets only CAP.
    assert not (tmp / "run/alerts/partners/pb/cap").exists()
    assert not (tmp / "run/alerts/partners/pc/alerts.csv").exists()


def test_outbox_and_directory_drops_isolated(published) -> None:
    tmp, cfg = published
    with AlertStore(cfg.store) as st:
        rows = st.db.execute("SELECT partner, filename, body FROM outbox").fetchall()
        assert {r[0] for r in rows} == set(ALLOWED)
        for pid, fname, body in rows:
            check_bytes(pid, fname, body)
    rep = deliver(cfg.store, load_partners(cfg.partners))
    assert rep["delivered"] == len(rows) and rep["outbox_pending"] == 0
    for d in (tmp / "drop").iterdir():
        pid = d.name.split("-")[0]
        files = [p for p in d.rglob("*") if p.is_file()]
        assert files
        for p in files:
            check_bytes(pid, p.name, p.read_bytes())
    assert sorted(p.name for p in (tmp / "drop/pc").rglob("*.xml")) == \
        sorted(p.name for p in (tmp / "drop/pc-mirror").rglob("*.xml"))


def test_export_and_list_isolated(published, capsys) -> None:
    tmp, cfg = published
    with AlertStore(cfg.store) as st:
        for pid in ALLOWED:
            export(st, tmp / "exp" / pid, partners=load_partners(cfg.partners), partner=pid)
            for p in (tmp / "exp" / pid).rglob("*"):
                if p.is_file():
                    check_bytes(pid, p.name, p.read_bytes())
    for pid in ALLOWED:
        assert cli(["alerts", "list", "--store", cfg.store, "--partners", cfg.partners,
                    "--partner", pid, "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert rows and all(set(r["admin1"]) <= ALLOWED[pid][0] for r in rows)
    # A partner cannot acknowledge another partner's alert.
    assert cli(["alerts", "ack", "fl-XAA-01-2026-05", "--partner", "pc", "--store", cfg.store,
                "--partners", cfg.partners]) == 2
    assert cli(["alerts", "ack", "fl-XAA-01-2026-05", "--partner", "pa", "--store", cfg.store,
                "--partners", cfg.partners]) == 0


def test_feedback_only_from_the_partner_of_the_alert(published, capsys) -> None:
    tmp, cfg = published
    f = tmp / "fb.csv"
    f.write_text("alert_id,outcome,partner\n"
                 "fl-XAA-01-2026-05,confirmed,pa\n"
                 "fl-XAA-02-2026-05,confirmed,pc\n"   # pc reporting on pa's area
                 "cl-XAB-01-2026-05,not_found,pb\n"   # XAB-01 is not in pb's admin-1 list
                 "cl-XAB-02-2026-05,not_found,pb\n"
                 "fl-XAC-01-2026-05,confirmed,nobody\n")
    assert cli(["alerts", "feedback", "--store", cfg.store, "--partners", cfg.partners,
                str(f)]) == 2
    err = capsys.readouterr().err
    assert "fb.csv:3: alert fl-XAA-02-2026-05 is not in partner pc's areas" in err
    assert "fb.csv:4:" in err and "fb.csv:6: unknown partner 'nobody'" in err
    with AlertStore(cfg.store) as st:
        got = sorted(tuple(r) for r in st.db.execute("SELECT alert_id, partner FROM feedback"))
    assert got == [("cl-XAB-02-2026-05", "pb"), ("fl-XAA-01-2026-05", "pa")]
