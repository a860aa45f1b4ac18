"""publish_alerts end to end on fake risk grids: lifecycle, reruns, formats, synthetic marking."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
import xmlschema
from test_alerts_fakes import make_risk

from riskmodel.alerts.cap import check_cap
from riskmodel.alerts.publish import publish_alerts
from riskmodel.config import AlertsConfig
from riskmodel.alerts.rules import load_rules
from riskmodel.errors import ConfigError, InputError

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "riskmodel" / "alerts" / "schema"
SENT = datetime(2026, 6, 2, 3, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def cap_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA_DIR / "CAP-v1.2.xsd")


def cfg_for(tmp_path: Path, rules: str | None = None,
            partners: str | None = None) -> AlertsConfig:
    rp = pp = None
    if rules is not None:
        rp = tmp_path / "alerts.toml"
        rp.write_text(rules)
    if partners is not None:
        pp = tmp_path / "partners.toml"
        pp.write_text(partners)
    return AlertsConfig(store=str(tmp_path / "alerts.sqlite"),
                        rules=str(rp) if rp else None, partners=str(pp) if pp else None)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def run(tmp_path: Path, cfg: AlertsConfig, ds, name: str, sent: datetime = SENT) -> dict:
    return publish_alerts(ds, run_dir=tmp_path / name, cfg=cfg, run_id=name, sent=sent)


def test_first_night_threshold_alerts_and_files(tmp_path: Path, cap_schema) -> None:
    cfg = cfg_for(tmp_path)
    ds = make_risk({"XAA-01": 0.7, "XAB-02": 0.55})
    s = run(tmp_path, cfg, ds, "r1")
    # FL: XAA-01 (0.7), XAB-02 (0.55); CL = 0.8 x FL: XAA-01 (0.56) only.
    assert (s["new"], s["ongoing"], s["escalated"], s["resolved"]) == (3, 0, 0, 0)
    caps = sorted((tmp_path / "r1" / "alerts" / "cap").glob("*.xml"))
    assert len(caps) == 3
    for p in caps:
        cap_schema.validate(str(p))
        assert check_cap(p.read_bytes()) == []
        text = p.read_text()
        assert "<status>Exercise</status>" in text and "<msgType>Alert</msgType>" in text
    fc = json.loads((tmp_path / "r1" / "alerts.geojson").read_text())
    assert fc["type"] == "FeatureCollection" and fc["synthetic"] is True
    assert {f["properties"]["area_key"] for f in fc["features"]} == {"XAA-01", "XAB-02"}
    for f in fc["features"]:
        ring = f["geometry"]["coordinates"][0][0]
        assert ring[0] == ring[-1] and len(ring) >= 4
        lons = [x for x, _ in ring]
        assert min(lons) >= 20.0 and max(lons) <= 24.0  # lon first (RFC 7946)
        assert f["properties"]["driver_1"] == "spi3" and f["properties"]["rank"] >= 1
        assert f["properties"]["contrib_climatic"] == pytest.approx(0.6)
        assert f["properties"]["contrib_supervisory"] == pytest.approx(-0.1)
    rows = list(csv.DictReader((tmp_path / "r1" / "alerts.csv").open()))
    assert len(rows) == 3 and all(r["synthetic"] == "true" for r in rows)
    assert rows[0]["rank"] == "1" and rows[0]["model_id"].endswith("test-0001")


def test_rerun_same_night_changes_nothing(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path, partners=f"""
[[partner]]
id = "pa"
name = "A"
countries = ["XAA"]
channels = [{{ kind = "directory", path = "{tmp_path}/drop" }}]
""")
    ds = make_risk({"XAA-01": 0.7})
    s1 = run(tmp_path, cfg, ds, "r1")
    assert s1["partners"]["pa"]["queued"] == 4  # 2 CAP Alerts + GeoJSON + CSV
    db = sqlite3.connect(cfg.store)
    before = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("alerts", "history", "messages", "outbox", "observations")]
    s2 = run(tmp_path, cfg, make_risk({"XAA-01": 0.9}), "r2",
             sent=datetime(2026, 6, 3, tzinfo=timezone.utc))
    after = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("alerts", "history", "messages", "outbox", "observations")]
    assert before == after and s2["rerun_of"] == "r1"
    for name in ("alerts.geojson", "alerts.csv"):
        assert (tmp_path / "r1" / name).read_bytes() == (tmp_path / "r2" / name).read_bytes()
    c1 = sorted(p.name for p in (tmp_path / "r1" / "alerts" / "cap").iterdir())
    assert c1 == sorted(p.name for p in (tmp_path / "r2" / "alerts" / "cap").iterdir())


def test_cap_status_of_real_data_comes_from_the_rules(tmp_path: Path) -> None:
    # Real data: Exercise unless the rules' [cap] status says Actual.
    s = run(tmp_path, cfg_for(tmp_path), make_risk({"XAA-01": 0.7}, synthetic=0), "r0")
    assert s["new"] == 2
    for p in (tmp_path / "r0" / "alerts" / "cap").glob("*.xml"):
        assert "<status>Exercise</status>" in p.read_text() and "SYNTHETIC" not in p.read_text()
    actual = tmp_path / "actual"
    actual.mkdir()
    cfg = cfg_for(actual, rules='[cap]\nstatus = "Actual"\n')
    s = run(actual, cfg, make_risk({"XAA-01": 0.7}, synthetic=0), "r1")
    assert s["new"] == 2
    for p in (actual / "r1" / "alerts" / "cap").glob("*.xml"):
        assert "<status>Actual</status>" in p.read_text() and "SYNTHETIC" not in p.read_text()
    # The synthetic world is never Actual, and a status outside CAP's is refused.
    with pytest.raises(ConfigError, match='status = "Actual" refused'):
        run(actual, cfg, make_risk({"XAA-01": 0.7}, as_of="2026-06"), "r2")
    with pytest.raises(ConfigError, match="status"):
        load_rules(_write(tmp_path / "bad.toml", '[cap]\nstatus = "actual"\n'))
    with pytest.raises(InputError, match="timezone"):
        run(tmp_path, cfg, make_risk({"XAA-01": 0.7}, as_of="2026-06"), "r2",
            sent=datetime(2026, 7, 1))


def test_going_back_in_time_is_refused(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path)
    run(tmp_path, cfg, make_risk({"XAA-01": 0.7}, as_of="2026-06"), "r1")
    with pytest.raises(InputError, match="refusing"):
        run(tmp_path, cfg, make_risk({"XAA-01": 0.7}, as_of="2026-05"), "r0")


def test_lifecycle_escalate_hysteresis_cancel(tmp_path: Path, cap_schema) -> None:
    cfg = cfg_for(tmp_path, rules='targets = ["fl"]\n[threshold]\nenter = 0.5\nleave = 0.4\n')
    s = run(tmp_path, cfg, make_risk({"XAA-01": 0.55}, as_of="2026-01"), "r1")
    assert s["new"] == 1
    s = run(tmp_path, cfg, make_risk({"XAA-01": 0.56}, as_of="2026-02"), "r2")
    assert (s["new"], s["ongoing"], s["messages"]) == (0, 1, 0)
    s = run(tmp_path, cfg, make_risk({"XAA-01": 0.7}, as_of="2026-03"), "r3")
    assert s["escalated"] == 1 and s["messages"] == 1
    # Lower risk but above `leave`: hysteresis keeps the alert, no Cancel yet.
    s = run(tmp_path, cfg, make_risk({"XAA-01": 0.45}, as_of="2026-04"), "r4")
    assert (s["resolved"], s["ongoing"], s["messages"]) == (0, 1, 0)
    s = run(tmp_path, cfg, make_risk({"XAA-01": 0.3}, as_of="2026-05"), "r5")
    assert s["resolved"] == 1 and s["active"] == 0
    caps = list((tmp_path / "r5" / "alerts" / "cap").glob("*.xml"))
    assert len(caps) == 1
    text = caps[0].read_text()
    assert "<msgType>Cancel</msgType>" in text
    refs = text.split("<references>")[1].split("</references>")[0].split()
    assert [r.split(",")[1] for r in refs] == ["fl-XAA-01-2026-01.1", "fl-XAA-01-2026-01.2"]
    cap_schema.validate(str(caps[0]))
    assert check_cap(text) == []
    db = sqlite3.connect(cfg.store)
    states = [r[0] for r in db.execute("SELECT to_state FROM history ORDER BY seq")]
    assert states == ["new", "ongoing", "escalated", "resolved"]


def test_contract_breaches_name_the_variable(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path)
    ds = make_risk({"XAA-01": 0.7})
    with pytest.raises(InputError, match="missing variable 'risk_hi'"):
        run(tmp_path, cfg, ds.drop_vars("risk_hi"), "a")
    bad = ds.copy()
    bad["risk"] = bad["risk"] * 2
    with pytest.raises(InputError, match=r"risk outside \[0, 1\]"):
        run(tmp_path, cfg, bad, "b")
    bad = ds.copy()
    bad.attrs["as_of"] = "2026-07"
    with pytest.raises(InputError, match="not on its time axis"):
        run(tmp_path, cfg, bad, "c")
    assert not Path(cfg.store).exists() or sqlite3.connect(cfg.store).execute(
        "SELECT count(*) FROM runs").fetchone()[0] == 0
    off = cfg.model_copy(update={"enabled": False})
    assert run(tmp_path, off, ds, "d") == {"enabled": False}


def test_two_writers_same_night_one_wins(tmp_path: Path) -> None:
    import threading
    cfg = cfg_for(tmp_path)
    ds = make_risk({"XAA-01": 0.7, "XAC-01": 0.8})
    out: dict[str, dict] = {}
    errors: list[BaseException] = []

    def write(n: str) -> None:
        try:
            out[n] = run(tmp_path, cfg, ds, n)
        except BaseException as exc:  # report it in the main thread
            errors.append(exc)

    ths = [threading.Thread(target=write, args=(n,)) for n in ("w1", "w2")]
    for t in ths:
        t.start()
    for t in ths:
        t.join(60)
    assert errors == []
    assert sorted("rerun_of" in s for s in out.values()) == [False, True]
    assert sqlite3.connect(cfg.store).execute("SELECT count(*) FROM alerts").fetchone()[0] == 4
    assert (tmp_path / "w1" / "alerts.csv").read_bytes() == \
        (tmp_path / "w2" / "alerts.csv").read_bytes()


PERSIST_2_OF_3 = """
[persistence]
k = 2
n = 3
"""


@pytest.mark.parametrize("warm_up,first_night_new", [(True, 1), (False, 0)])
def test_backfill_without_warm_up_needs_full_persistence(tmp_path: Path, warm_up: bool,
                                                         first_night_new: int) -> None:
    cfg = cfg_for(tmp_path, rules=PERSIST_2_OF_3)
    first = publish_alerts(make_risk({"XAA-01": 0.7}, as_of="2026-04", cl_levels={}),
                           run_dir=tmp_path / "r1", cfg=cfg, run_id="r1", sent=SENT,
                           warm_up=warm_up)
    assert first["new"] == first_night_new
    second = publish_alerts(make_risk({"XAA-01": 0.7}, as_of="2026-05", cl_levels={}),
                            run_dir=tmp_path / "r2", cfg=cfg, run_id="r2", sent=SENT,
                            warm_up=warm_up)
    # Two triggering months in a row meet k=2 either way; the alert opens once.
    assert first["new"] + second["new"] == 1
