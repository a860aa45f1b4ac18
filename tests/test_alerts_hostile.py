"""Hostile inputs and unlucky operators against the alert paths: names, codes and attributes
of the risk dataset, store paths, partner scopes that change, acknowledgements, feedback,
labels and CSV cells. Each test reproduces one finding of a review of these paths."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from test_alerts_fakes import ADMIN1, make_risk

from riskmodel.alerts.deliver import deliver
from riskmodel.alerts.partners import load_partners
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import AlertStore
from riskmodel.commands.alerts import main as cli
from riskmodel.config import AlertsConfig
from riskmodel.errors import ConfigError, InputError

NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
SENT = datetime(2026, 6, 2, 3, 0, tzinfo=timezone.utc)


def partners_file(tmp: Path, text: str, name: str = "partners.toml") -> str:
    (tmp / name).write_text(text)
    return str(tmp / name)


def one_partner(tmp: Path, pid: str = "pa", country: str = "XAA", extra: str = "",
                drop: bool = True) -> str:
    ch = f'channels = [{{ kind = "directory", path = "{tmp}/drop/{pid}" }}]\n' if drop else ""
    return f'[[partner]]\nid = "{pid}"\nname = "{pid}"\ncountries = ["{country}"]\n{extra}{ch}\n'


def run(tmp: Path, cfg: AlertsConfig, ds, name: str, sent: datetime = SENT) -> dict:
    return publish_alerts(ds, run_dir=tmp / name, cfg=cfg, run_id=name, sent=sent)


def counts(store: str) -> tuple[int, int, int]:
    if not Path(store).exists():
        return (0, 0, 0)
    db = sqlite3.connect(store)
    try:
        n = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("runs", "messages", "outbox")]
        return n[0], n[1], n[2]
    except sqlite3.OperationalError:
        return (0, 0, 0)


# --- the risk dataset is hostile -----------------------------------------------------------

def test_admin1_code_with_traversal_is_refused(tmp_path: Path) -> None:
    cfg = AlertsConfig(store=str(tmp_path / "s" / "a.sqlite"),
                       partners=partners_file(tmp_path, one_partner(tmp_path)))
    ds = make_risk({"XAA-01": 0.9})
    evil = [*ADMIN1]
    evil[0] = "XAA-01/../../../../escaped"
    ds = ds.assign_coords(admin1=evil)
    with pytest.raises(InputError, match=r"admin1\[0\]"):
        run(tmp_path, cfg, ds, "run")
    assert not list(tmp_path.rglob("escaped*")) and counts(cfg.store)[0] == 0


def test_directory_drop_never_writes_outside_its_folder(tmp_path: Path) -> None:
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"),
                       partners=partners_file(tmp_path, one_partner(tmp_path)))
    run(tmp_path, cfg, make_risk({"XAA-01": 0.9}), "run")
    with AlertStore(cfg.store) as st, st.transaction():  # a tampered or legacy outbox row
        st.db.execute("UPDATE outbox SET filename='cap/../../../outside.xml' WHERE id=1")
    rep = deliver(cfg.store, load_partners(cfg.partners))
    assert not (tmp_path / "outside.xml").exists() and not list(tmp_path.rglob("outside.xml"))
    assert rep["failed"] == 1 and rep["delivered"] == 3


def test_missing_or_odd_synthetic_attribute(tmp_path: Path) -> None:
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"))
    ds = make_risk({"XAA-01": 0.9})
    del ds.attrs["synthetic"]
    with pytest.raises(InputError, match="'synthetic' is missing"):
        run(tmp_path, cfg, ds, "r0")
    assert counts(cfg.store)[0] == 0
    ds.attrs["synthetic"] = "maybe"
    with pytest.raises(InputError, match="'synthetic'"):
        run(tmp_path, cfg, ds, "r0")
    ds.attrs["synthetic"] = "true"  # what a NetCDF string attribute looks like
    run(tmp_path, cfg, ds, "r1")
    for p in (tmp_path / "r1" / "alerts" / "cap").glob("*.xml"):
        assert "<status>Exercise</status>" in p.read_text()


@pytest.mark.parametrize("bad", ["Province\x00One", "Prov\x1bince", "Prov\x0cince"])
def test_control_characters_in_names_refused_before_the_store(tmp_path: Path, bad: str) -> None:
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"),
                       partners=partners_file(tmp_path, one_partner(tmp_path)))
    ds = make_risk({"XAA-01": 0.9})
    names = ds["admin1_name"].values.copy().astype(object)
    names[0] = bad
    ds["admin1_name"] = ("admin1", names.astype(str))
    with pytest.raises(InputError, match=r"admin1_name\[0\].*control character"):
        run(tmp_path, cfg, ds, "r1")
    assert counts(cfg.store) == (0, 0, 0)


def test_invalid_cap_language_refused(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text('[cap]\nlanguage = "en US<"\n')
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), rules=str(tmp_path / "rules.toml"))
    with pytest.raises(ConfigError, match="language"):
        run(tmp_path, cfg, make_risk({"XAA-01": 0.9}), "r1")
    assert counts(cfg.store)[1] == 0


def test_schema_invalid_cap_is_never_queued(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever slips past the input checks (here: a writer that forgets `status`), the
    # schema gate refuses it inside the night's transaction: nothing stored or queued.
    from riskmodel.alerts import cap as capmod
    real = capmod.build_message

    def broken(*a, **kw):  # type: ignore[no-untyped-def]
        return real(*a, **kw).replace("<status>Exercise</status>", "")

    monkeypatch.setattr(capmod, "build_message", broken)
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"),
                       partners=partners_file(tmp_path, one_partner(tmp_path)))
    with pytest.raises(InputError, match="schema"):
        run(tmp_path, cfg, make_risk({"XAA-01": 0.9}), "r1")
    assert counts(cfg.store) == (0, 0, 0)
    assert not (tmp_path / "r1" / "alerts" / "cap").exists()


def test_absurdly_long_codes_are_refused(tmp_path: Path) -> None:
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"))
    codes = [*ADMIN1]
    codes[0] = "XAA-" + "1" * 300  # would make file names longer than a file system allows
    with pytest.raises(InputError, match=r"admin1\[0\]"):
        run(tmp_path, cfg, make_risk({"XAA-01": 0.9}).assign_coords(admin1=codes), "r1")
    assert counts(cfg.store) == (0, 0, 0)


def test_verify_cap_reports_unparsable_xml_in_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "junk.xml").write_bytes(b"<alert><unclosed>")
    (tmp_path / "nul.xml").write_bytes(b"<?xml version='1.0'?><alert>\x00</alert>")
    assert cli(["alerts", "verify", "--cap", str(tmp_path / "junk.xml"),
                str(tmp_path / "nul.xml"), str(tmp_path / "absent.xml")]) == 2
    err = capsys.readouterr().err
    assert err.count("not well-formed XML") == 2 and "absent.xml: cannot read" in err


# --- stores and the CLI ---------------------------------------------------------------------

@pytest.fixture()
def published(tmp_path: Path) -> tuple[Path, AlertsConfig]:
    text = one_partner(tmp_path, "pa", "XAA") + one_partner(tmp_path, "pc", "XAC")
    text += one_partner(tmp_path, "pa1", "XAA", extra='admin1 = ["XAA-01"]\n')
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), partners=partners_file(tmp_path, text))
    run(tmp_path, cfg, make_risk({a: 0.8 for a in ADMIN1}), "run")
    return tmp_path, cfg


def test_store_paths_with_dotdot_or_typos_are_refused(published, capsys) -> None:
    tmp, cfg = published
    sneaky = str(tmp / "x" / ".." / "a.sqlite")
    for sub in ("list", "deliver"):
        assert cli(["alerts", sub, "--store", sneaky, "--partners", cfg.partners]) == 2
    typo = tmp / "a.sqlitee"
    assert cli(["alerts", "deliver", "--store", str(typo), "--partners", cfg.partners]) == 2
    assert not typo.exists()
    err = capsys.readouterr().err
    assert "'..'" in err and "no alert store" in err


def _as_reader(argv: list[str]) -> tuple[int, str]:
    """Run the CLI as a user who may read but not write the store: ourselves after chmod,
    or, when we are root (who ignores modes), a forked child switched to `nobody`."""
    import riskmodel.alerts.export  # noqa: F401  (imported before the fork drops rights)
    import riskmodel.alerts.store  # noqa: F401
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            import sys
            sys.stdout = os.fdopen(w, "w")
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            rc = cli(argv)
            sys.stdout.flush()
            os._exit(rc)
        except BaseException:
            os._exit(99)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def test_read_only_store_still_lists_and_exports(tmp_path: Path) -> None:
    import shutil
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="alertsec-ro-"))
    try:
        folder.chmod(0o755)
        text = one_partner(tmp_path, "pc", "XAC", drop=False)
        cfg = AlertsConfig(store=str(folder / "a.sqlite"),
                           partners=partners_file(folder, text))
        run(tmp_path, cfg, make_risk({a: 0.8 for a in ADMIN1}), "run")
        os.chmod(cfg.store, 0o444)
        os.chmod(cfg.partners, 0o444)
        out = folder / "exp"
        out.mkdir(mode=0o777)
        out.chmod(0o777)
        before = Path(cfg.store).read_bytes()
        rc, text = _as_reader(["alerts", "list", "--store", cfg.store, "--json"])
        assert rc == 0 and len(json.loads(text)) == 12
        rc, _ = _as_reader(["alerts", "export", "--store", cfg.store, "--partners",
                            cfg.partners, "--dest", str(out), "--partner", "pc"])
        assert rc == 0 and (out / "alerts.csv").exists()
        assert Path(cfg.store).read_bytes() == before
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_ack_and_feedback_need_the_partners_file(published, capsys) -> None:
    tmp, cfg = published
    assert cli(["alerts", "ack", "fl-XAA-01-2026-05", "--partner", "nobody-at-all",
                "--store", cfg.store]) == 2
    (tmp / "fb.csv").write_text("alert_id,outcome,partner\nfl-XAA-01-2026-05,confirmed,pc\n")
    assert cli(["alerts", "feedback", str(tmp / "fb.csv"), "--store", cfg.store]) == 2
    assert "partners file" in capsys.readouterr().err
    with AlertStore(cfg.store) as st:
        assert st.get_alert("fl-XAA-01-2026-05")["acknowledged_by"] is None
        assert st.db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0


def test_labels_only_from_the_partner_of_the_area(published, capsys) -> None:
    tmp, cfg = published
    (tmp / "fb.csv").write_text("alert_id,outcome,partner\n"
                                "fl-XAA-01-2026-05,confirmed,pa\n"
                                "fl-XAC-01-2026-05,not_found,pc\n"
                                "fl-XAA-01-2026-05,not_found,pa1\n")
    assert cli(["alerts", "feedback", str(tmp / "fb.csv"), "--store", cfg.store,
                "--partners", cfg.partners]) == 0
    with AlertStore(cfg.store) as st, st.transaction():  # recorded under an older config
        st.db.execute("INSERT INTO feedback VALUES ('fl-XAA-02-2026-05','pc','confirmed',"
                      "NULL,NULL,'2026-06-03','old')")
    base = ["alerts", "export", "--labels", "--store", cfg.store, "--partners", cfg.partners]
    assert cli([*base, "--dest", str(tmp / "all.csv")]) == 0
    rows = list(csv.DictReader((tmp / "all.csv").open()))
    assert sorted((r["alert_id"], r["partner"]) for r in rows) == [
        ("fl-XAA-01-2026-05", "pa"), ("fl-XAA-01-2026-05", "pa1"), ("fl-XAC-01-2026-05", "pc")]
    assert cli([*base, "--partner", "pa", "--dest", str(tmp / "pa.csv")]) == 0
    rows = list(csv.DictReader((tmp / "pa.csv").open()))
    assert [(r["alert_id"], r["partner"]) for r in rows] == [("fl-XAA-01-2026-05", "pa")]


def test_ack_shows_only_in_the_acknowledging_partners_feed(published, capsys) -> None:
    tmp, cfg = published
    assert cli(["alerts", "ack", "fl-XAA-01-2026-05", "--partner", "pa1", "--store", cfg.store,
                "--partners", cfg.partners]) == 0
    for pid, expect in (("pa", "false"), ("pa1", "true")):
        assert cli(["alerts", "export", "--store", cfg.store, "--partners", cfg.partners,
                    "--dest", str(tmp / pid), "--partner", pid]) == 0
        rows = {r["alert_id"]: r for r in csv.DictReader((tmp / pid / "alerts.csv").open())}
        assert rows["fl-XAA-01-2026-05"]["acknowledged"] == expect, pid
        fc = json.loads((tmp / pid / "alerts.geojson").read_text())
        ack = {f["id"]: f["properties"]["acknowledged"] for f in fc["features"]}
        assert ack["fl-XAA-01-2026-05"] is (expect == "true")


def test_csv_cells_are_not_spreadsheet_formulas(tmp_path: Path) -> None:
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"))
    ds = make_risk({"XAA-01": 0.9})
    names = [str(n) for n in ds["admin1_name"].values]
    names[0] = '=HYPERLINK("http://evil.example","click")'
    ds["admin1_name"] = ("admin1", np.array(names))
    run(tmp_path, cfg, ds, "r1")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r1" / "alerts.csv").read_text())))
    assert rows and all(not r["name"].startswith(("=", "+", "-", "@")) for r in rows)
    assert rows[0]["name"].startswith("'=HYPERLINK")


# --- partner scopes that change -------------------------------------------------------------

def test_queued_messages_withdrawn_when_scope_no_longer_covers(tmp_path: Path) -> None:
    pf = partners_file(tmp_path, one_partner(tmp_path, "pa", "XAA"))
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), partners=pf)
    run(tmp_path, cfg, make_risk({"XAA-01": 0.9, "XAA-02": 0.9}), "r1")
    # The partner's scope narrows before delivery: XAA-01 is no longer theirs.
    partners_file(tmp_path, one_partner(tmp_path, "pa", "XAA", extra='admin1 = ["XAA-02"]\n'))
    rep = deliver(cfg.store, load_partners(pf))
    sent = [p for p in (tmp_path / "drop" / "pa").rglob("*") if p.is_file()]
    assert sent and all("XAA-01" not in p.read_text() for p in sent)
    assert rep["withdrawn"] >= 2  # the two XAA-01 CAP messages (and the feeds naming it)


def test_requeued_dead_letters_are_scope_checked(tmp_path: Path) -> None:
    text = ('[delivery]\nmax_attempts = 1\n' +
            one_partner(tmp_path, "pa", "XAA", drop=False) +
            'secret_env = "NOPE_NOT_SET"\n'
            'channels = [{ kind = "webhook", url = "http://127.0.0.1:9/x" }]\n')
    pf = partners_file(tmp_path, text)
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), partners=pf)
    run(tmp_path, cfg, make_risk({"XAA-01": 0.9}), "r1")
    assert cli(["alerts", "deliver", "--store", cfg.store, "--partners", pf]) == 2
    partners_file(tmp_path, text.replace('countries = ["XAA"]', 'countries = ["XAB"]'))
    assert cli(["alerts", "deliver", "--store", cfg.store, "--partners", pf,
                "--requeue-dead"]) == 0
    with AlertStore(cfg.store) as st:
        got = dict(st.db.execute("SELECT state, count(*) FROM outbox GROUP BY state"))
    assert got == {"withdrawn": 4}


def test_leaving_partner_gets_a_cancel_with_its_own_area(tmp_path: Path) -> None:
    pf = partners_file(tmp_path, one_partner(tmp_path, "pa", "XAA"))
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), partners=pf)
    rules = tmp_path / "rules.toml"
    rules.write_text('targets = ["fl"]\n')
    cfg = cfg.model_copy(update={"rules": str(rules)})
    run(tmp_path, cfg, make_risk({"XAA-01": 0.9}, as_of="2026-04"), "r1")
    # XAA-01 moves to a new partner; pa keeps XAA-02 only.
    partners_file(tmp_path, one_partner(tmp_path, "pa", "XAA", extra='admin1 = ["XAA-02"]\n')
                  + one_partner(tmp_path, "pn", "XAA", extra='admin1 = ["XAA-01"]\n'))
    s = run(tmp_path, cfg, make_risk({"XAA-01": 0.9}, as_of="2026-05"), "r2")
    assert s["partners"]["pa"]["withdrawn"] == 1
    with AlertStore(cfg.store) as st:
        rows = st.db.execute("SELECT filename, body FROM outbox WHERE partner='pa' AND "
                             "as_of='2026-05' AND kind='cap'").fetchall()
        hist = [h["to_state"] for h in st.history("fl-XAA-01-2026-04")]
    assert len(rows) == 1 and "withdrawn" in hist
    root = ET.fromstring(rows[0][1])
    assert root.findtext(NS + "msgType") == "Cancel"
    assert "fl-XAA-01-2026-04.1" in root.findtext(NS + "references")
    from riskmodel.alerts.cap import validate_cap
    assert validate_cap(rows[0][1]) == []
    # Delivery sends the Cancel to pa (it is about an alert pa had, no longer pa's).
    rep = deliver(cfg.store, load_partners(pf), partner="pa")
    assert rep["delivered"] >= 1
    dropped = tmp_path / "drop" / "pa" / "cap" / "fl-XAA-01-2026-04.withdrawn-pa-2026-05.xml"
    assert dropped.read_bytes() == rows[0][1]
    # A third night changes nothing more for pa: one Cancel is enough.
    s = run(tmp_path, cfg, make_risk({"XAA-01": 0.9}, as_of="2026-06"), "r3")
    assert s["partners"]["pa"]["withdrawn"] == 0


CLUSTERS = 'targets = ["fl"]\n[area]\nkind = "cluster"\nmin_cells = 3\n'


def test_clusters_never_straddle_partners(tmp_path: Path) -> None:
    text = (one_partner(tmp_path, "ps", "XAA", extra='admin1 = ["XAA-01"]\nbudget = 1\n')
            + one_partner(tmp_path, "pn", "XAA", extra='admin1 = ["XAA-02"]\nbudget = 1\n'))
    (tmp_path / "rules.toml").write_text(CLUSTERS)
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), rules=str(tmp_path / "rules.toml"),
                       partners=partners_file(tmp_path, text))
    s = run(tmp_path, cfg, make_risk({"XAA-01": 0.9, "XAA-02": 0.9}), "r1")
    # One cluster per partner scope (not one that belongs to nobody), each within budget.
    assert s["new"] == 2
    assert s["partners"]["ps"]["alerts"] == 1 and s["partners"]["pn"]["alerts"] == 1
    with AlertStore(cfg.store) as st:
        assert sorted(tuple(a["admin1"]) for a in st.alerts()) == [("XAA-01",), ("XAA-02",)]


def test_cluster_growing_toward_another_partner_stays_with_its_partner(tmp_path: Path) -> None:
    text = (one_partner(tmp_path, "ps", "XAA", extra='admin1 = ["XAA-01"]\n')
            + one_partner(tmp_path, "pn", "XAA", extra='admin1 = ["XAA-02"]\n'))
    (tmp_path / "rules.toml").write_text(CLUSTERS)
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), rules=str(tmp_path / "rules.toml"),
                       partners=partners_file(tmp_path, text))
    s1 = run(tmp_path, cfg, make_risk({"XAA-01": 0.9}, as_of="2026-04"), "r1")
    assert s1["partners"]["ps"]["alerts"] == 1
    s2 = run(tmp_path, cfg, make_risk({"XAA-01": 0.9, "XAA-02": 0.9}, as_of="2026-05"), "r2")
    # ps still holds its alert (no silent drop); pn gets its own; nothing straddles.
    assert s2["partners"]["ps"]["alerts"] == 1 and s2["partners"]["pn"]["alerts"] == 1
    with AlertStore(cfg.store) as st:
        for a in st.alerts():
            assert len(a["admin1"]) == 1
