"""Partner portal API: tokens, CAP Atom feed, CAP, GeoJSON, detail, ack and outcome writes,
per-partner scoping of every endpoint, limits, audit log, and the `partners`/`serve` CLI."""

from __future__ import annotations

import json
import sqlite3
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2")
from portal_fixtures import build_store  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from riskmodel.alerts.ack import acknowledge  # noqa: E402
from riskmodel.alerts.cap import check_cap  # noqa: E402
from riskmodel.alerts.store import MIGRATIONS, AlertStore  # noqa: E402
from riskmodel.commands.alerts import main as alerts_cli  # noqa: E402
from riskmodel.portal.app import create_app  # noqa: E402
from riskmodel.portal.limits import Limits, RateLimiter  # noqa: E402
from riskmodel.portal.tokens import (  # noqa: E402
    audit_rows,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)

ATOM = "{http://www.w3.org/2005/Atom}"
CAPNS = "{urn:oasis:names:tc:emergency:cap:1.2}"
PARTNERS = ("pa", "pb", "pc", "pd")


@pytest.fixture()
def env(tmp_path: Path) -> dict:
    s = build_store(tmp_path)
    with AlertStore(s["store"]) as store:
        s["tokens"] = {p: create_token(store, p)[1] for p in PARTNERS}
        s["covered"] = {p.id: {a["alert_id"] for a in store.alerts() if p.covers(a)}
                        for p in s["partners"].partner}
        s["all_ids"] = {a["alert_id"] for a in store.alerts()}
        s["identifiers"] = {r[0]: r[1] for r in store.db.execute(
            "SELECT identifier, alert_id FROM messages")}
    s["client"] = TestClient(create_app(s["store"], s["partners"]),
                             client=("203.0.113.7", 40000))
    return s


def H(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def db_rows(path: Path, q: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(q).fetchall()


def test_migration_appended_and_tables_exist(env) -> None:
    with AlertStore(env["store"]) as store:
        assert store.schema_version() == len(MIGRATIONS)
    tables = {r[0] for r in db_rows(env["store"], "SELECT name FROM sqlite_master")}
    assert {"portal_tokens", "portal_audit"} <= tables


def test_tokens_are_hashed_checked_and_revocable(env) -> None:
    token = env["tokens"]["pa"]
    wal = Path(str(env["store"]) + "-wal")
    raw = env["store"].read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert token.encode() not in raw and token.split("_")[2].encode() not in raw
    with AlertStore(env["store"]) as store:
        info = authenticate(store, token)
        assert info is not None and info.partner == "pa"
        forged = token[:-1] + ("0" if token[-1] != "0" else "1")
        assert authenticate(store, forged) is None
        assert authenticate(store, "rmp_" + "0" * 16 + "_" + "0" * 64) is None
        assert authenticate(store, "") is None and authenticate(store, token + " ") is None
        assert revoke_token(store, info.token_id) is True
        assert revoke_token(store, info.token_id) is False
        assert authenticate(store, token) is None
        rows = [r for r in list_tokens(store) if r["token_id"] == info.token_id]
        assert rows[0]["revoked_at"] and "token_sha256" not in rows[0]
        actions = [(r["action"], r["token_id"]) for r in audit_rows(store, "pa")]
    assert ("token_created", info.token_id) in actions
    assert ("token_revoked", info.token_id) in actions
    r = env["client"].get("/api/v1/me", headers=H(token))
    assert r.status_code == 401 and "pa" not in r.text


def test_feed_is_atom_linking_cap_of_own_alerts(env) -> None:
    c, tok = env["client"], env["tokens"]["pa"]
    r = c.get("/api/v1/feed.atom", headers=H(tok))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    assert feed.tag == ATOM + "feed" and feed.findtext(ATOM + "id")
    entries = feed.findall(ATOM + "entry")
    assert len(entries) == len(env["covered"]["pa"])  # one message per alert so far
    seen = set()
    for e in entries:
        link = e.find(ATOM + "link[@rel='alternate']")
        assert link is not None and link.get("type") == "application/cap+xml"
        ident = e.findtext(CAPNS + "identifier")
        assert link.get("href").endswith(f"/api/v1/cap/{ident}.xml")
        assert e.findtext(ATOM + "updated") == e.findtext(CAPNS + "sent")
        cap = c.get(link.get("href"), headers=H(tok))
        assert cap.status_code == 200
        assert cap.headers["content-type"].startswith("application/cap+xml")
        with AlertStore(env["store"]) as store:
            assert cap.text == store.get_message(ident)["xml"]  # the exact stored bytes
        assert check_cap(cap.content) == []
        assert e.findtext(ATOM + "title") == ET.fromstring(cap.content).findtext(
            f"{CAPNS}info/{CAPNS}headline")
        seen.add(env["identifiers"][ident])
    assert seen == env["covered"]["pa"]


def test_geojson_list_and_detail(env) -> None:
    c, tok = env["client"], env["tokens"]["pb"]
    fc = c.get("/api/v1/alerts.geojson", headers=H(tok))
    assert fc.headers["content-type"].startswith("application/geo+json")
    fc = fc.json()
    assert fc["type"] == "FeatureCollection" and fc["synthetic"] is True
    assert {f["id"] for f in fc["features"]} == env["covered"]["pb"] == {"cl-XAB-02-2026-05"}
    f = fc["features"][0]
    assert f["geometry"]["type"] == "MultiPolygon" and f["properties"]["rank"] == 1
    lst = c.get("/api/v1/alerts", headers=H(tok)).json()
    assert [a["alert_id"] for a in lst] == ["cl-XAB-02-2026-05"]
    d = c.get("/api/v1/alerts/cl-XAB-02-2026-05", headers=H(tok)).json()
    assert d["drivers"][0][0] == "spi3" and d["history"][0]["to_state"] == "new"
    assert d["messages"][0]["identifier"] == "cl-XAB-02-2026-05.1"
    assert d["feedback"] is None and d["acknowledged"] is False
    assert c.get("/api/v1/alerts?state=bogus", headers=H(tok)).status_code == 422
    me = c.get("/api/v1/me", headers=H(tok)).json()
    assert me["partner"] == "pb" and me["admin1"] == ["XAB-02"]


def test_every_endpoint_refuses_other_partners_ids(env) -> None:
    """Each partner's token against every alert and message it does not cover: 404 with no
    data, nothing written; the lists hold exactly its own alerts."""
    c = env["client"]
    names = {}
    with AlertStore(env["store"]) as store:
        for a in store.alerts():
            names[a["alert_id"]] = a["name"]
    for p in PARTNERS:
        tok, mine = env["tokens"][p], env["covered"][p]
        others = env["all_ids"] - mine
        assert others, p
        got = {a["alert_id"] for a in c.get("/api/v1/alerts?state=all", headers=H(tok)).json()}
        assert got == mine
        fc = c.get("/api/v1/alerts.geojson", headers=H(tok)).json()
        assert {f["id"] for f in fc["features"]} == mine
        feed = ET.fromstring(c.get("/api/v1/feed.atom", headers=H(tok)).content)
        assert {env["identifiers"][e.findtext(CAPNS + "identifier")]
                for e in feed.findall(ATOM + "entry")} == mine
        for aid in sorted(others):
            for r in (c.get(f"/api/v1/alerts/{aid}", headers=H(tok)),
                      c.post(f"/api/v1/alerts/{aid}/ack", headers=H(tok), json={}),
                      c.post(f"/api/v1/alerts/{aid}/outcome", headers=H(tok),
                             json={"outcome": "confirmed"})):
                assert r.status_code == 404, (p, aid, r.request.url)
                assert r.json() == {"error": "no such alert"}
                assert names[aid] not in r.text
        for ident, aid in env["identifiers"].items():
            if aid in others:
                r = c.get(f"/api/v1/cap/{ident}.xml", headers=H(tok))
                assert r.status_code == 404 and "<alert" not in r.text
    # Malformed ids are refused the same way.
    for bad in ("..%2Fx", "x'%20OR%201=1", "%00"):
        assert c.get(f"/api/v1/alerts/{bad}", headers=H(env["tokens"]["pa"])).status_code == 404
    assert db_rows(env["store"], "SELECT count(*) FROM feedback") == [(0,)]
    assert db_rows(env["store"], "SELECT count(*) FROM history WHERE to_state='acknowledged'"
                   ) == [(0,)]
    denied = db_rows(env["store"], "SELECT partner, count(*) FROM portal_audit WHERE "
                                   "action='denied' GROUP BY partner")
    assert dict(denied) == {p: 2 * len(env["all_ids"] - env["covered"][p]) for p in PARTNERS}


def test_without_token_nothing(env) -> None:
    c = env["client"]
    for path in ("/api/v1/me", "/api/v1/alerts", "/api/v1/alerts.geojson", "/api/v1/feed.atom",
                 "/api/v1/alerts/fl-XAA-01-2026-05", "/api/v1/cap/fl-XAA-01-2026-05.1.xml"):
        for headers in ({}, {"Authorization": "Bearer nope"},
                        {"Authorization": "Basic " + env["tokens"]["pa"]}):
            r = c.get(path, headers=headers)
            assert r.status_code == 401 and "XAA" not in r.text
            assert r.headers["www-authenticate"].startswith("Bearer")
    r = c.post("/api/v1/alerts/fl-XAA-01-2026-05/ack", json={})
    assert r.status_code == 401


def test_ack_and_outcome_write_the_cli_rows_and_audit(env, tmp_path: Path, capsys) -> None:
    c, tok = env["client"], env["tokens"]["pa"]
    aid = "fl-XAA-02-2026-05"
    r = c.post(f"/api/v1/alerts/{aid}/ack", headers=H(tok), json={"note": "team sent"})
    assert r.status_code == 200 and r.json() == {"alert_id": aid, "acknowledged": True,
                                                 "changed": True}
    assert c.post(f"/api/v1/alerts/{aid}/ack", headers=H(tok), json={}).json()["changed"] is False
    # The CLI acknowledges another alert of the same partner: same row shapes.
    assert alerts_cli(["alerts", "ack", "--config", str(env["config"]), "cl-XAA-02-2026-05",
                       "--partner", "pa", "--note", "team sent"]) == 0
    hist = db_rows(env["store"], "SELECT alert_id, from_state, to_state, detail FROM history "
                                 "WHERE to_state='acknowledged' ORDER BY seq")
    assert [(h[1], h[2], json.loads(h[3])) for h in hist] == [
        ("new", "acknowledged", {"note": "team sent", "partner": "pa", "state": "new"})] * 2
    ack = db_rows(env["store"], "SELECT acknowledged_by FROM alerts WHERE acknowledged_by "
                                "IS NOT NULL")
    assert ack == [("pa",), ("pa",)]

    body = {"outcome": "confirmed", "observed_on": "2026-06-20", "note": 'a "quoted",\nnote'}
    r = c.post(f"/api/v1/alerts/{aid}/outcome", headers=H(tok), json=body)
    assert r.status_code == 200 and r.json()["recorded"] is True
    csv_path = tmp_path / "fb.csv"
    csv_path.write_text("alert_id,outcome,observed_on,note\n"
                        "cl-XAA-02-2026-05,confirmed,2026-06-20,\"a \"\"quoted\"\",\nnote\"\n")
    assert alerts_cli(["alerts", "feedback", "--config", str(env["config"]), str(csv_path),
                       "--partner", "pa"]) == 0
    fb = db_rows(env["store"], "SELECT alert_id, partner, outcome, observed_on, note, source "
                               "FROM feedback ORDER BY alert_id")
    assert [f[1:5] for f in fb] == [("pa", "confirmed", "2026-06-20", 'a "quoted",\nnote')] * 2
    token_id = env["tokens"]["pa"].split("_")[1]
    assert fb[0][5] == "fb.csv:3" and fb[1][5].startswith(f"portal-{token_id}.csv:")
    d = c.get(f"/api/v1/alerts/{aid}", headers=H(tok)).json()
    assert d["feedback"]["outcome"] == "confirmed" and d["acknowledged"] is True
    # Latest outcome wins, as with the CLI.
    c.post(f"/api/v1/alerts/{aid}/outcome", headers=H(tok), json={"outcome": "not_found"})
    assert db_rows(env["store"], f"SELECT outcome FROM feedback WHERE alert_id='{aid}'"
                   ) == [("not_found",)]

    with AlertStore(env["store"]) as store:
        rows = [r for r in audit_rows(store, "pa") if r["action"] in ("acknowledge", "outcome")]
    assert [(r["action"], r["alert_id"], r["remote"], r["token_id"]) for r in rows] == [
        ("acknowledge", aid, "203.0.113.7", token_id)] * 2 + [
        ("outcome", aid, "203.0.113.7", token_id)] * 2
    assert rows[0]["detail"] == {"note": "team sent", "result": "acknowledged"}
    assert rows[1]["detail"]["result"] == "already"
    assert rows[2]["detail"] == {"outcome": "confirmed", "observed_on": "2026-06-20",
                                 "note": 'a "quoted",\nnote'}
    assert all(r["at"].endswith("+00:00") for r in rows)


def test_shared_alert_shows_only_own_acknowledgement(env) -> None:
    """pa and pd share fl-XAA-01: pd's acknowledgement and note are not pa's business."""
    c, aid = env["client"], "fl-XAA-01-2026-05"
    r = c.post(f"/api/v1/alerts/{aid}/ack", headers=H(env["tokens"]["pd"]),
               json={"note": "pd private"})
    assert r.status_code == 200
    c.post(f"/api/v1/alerts/{aid}/outcome", headers=H(env["tokens"]["pd"]),
           json={"outcome": "not_found", "note": "pd private"})
    tok = env["tokens"]["pa"]
    d = c.get(f"/api/v1/alerts/{aid}", headers=H(tok))
    assert "pd private" not in d.text
    d = d.json()
    assert d["acknowledged"] is False and d["feedback"] is None
    assert [h["to_state"] for h in d["history"]] == ["new"]
    lst = {a["alert_id"]: a for a in c.get("/api/v1/alerts", headers=H(tok)).json()}
    assert lst[aid]["acknowledged"] is False
    fc = c.get("/api/v1/alerts.geojson", headers=H(tok)).json()
    assert [f["properties"]["acknowledged"] for f in fc["features"] if f["id"] == aid] == [False]
    d = c.get(f"/api/v1/alerts/{aid}", headers=H(env["tokens"]["pd"])).json()
    assert d["acknowledged"] is True and d["feedback"]["note"] == "pd private"
    assert [h["to_state"] for h in d["history"]] == ["new", "acknowledged"]


def test_bad_requests_and_limits(env) -> None:
    c, tok = env["client"], env["tokens"]["pa"]
    url = "/api/v1/alerts/fl-XAA-02-2026-05/outcome"
    big = {"outcome": "confirmed", "note": "x" * 20000}
    r = c.post(url, headers=H(tok), json=big)
    assert r.status_code == 413
    r = c.post(url, headers={**H(tok), "Content-Type": "text/plain"}, content=b"outcome=x")
    assert r.status_code == 415
    r = c.post(url, headers={**H(tok), "Content-Type": "application/json"}, content=b"{nope")
    assert r.status_code == 400
    for body, word in (({"outcome": "maybe"}, "outcome"), ({"outcome": 3}, "outcome"),
                       ({"outcome": "confirmed", "observed_on": "20/06/2026"}, "observed_on"),
                       ({"outcome": "confirmed", "note": "a\x00b"}, "control"),
                       ({"outcome": "confirmed", "note": "y" * 2001}, "longer")):
        r = c.post(url, headers=H(tok), json=body)
        assert r.status_code == 422 and word in r.json()["error"], body
    assert c.post(url, headers=H(tok), json=[1]).status_code == 400
    assert c.get(url, headers=H(tok)).status_code == 405
    assert db_rows(env["store"], "SELECT count(*) FROM feedback") == [(0,)]


def test_rate_limit_per_token_and_per_address(env) -> None:
    app = create_app(env["store"], env["partners"], Limits(rate=0.5, burst=3))
    c = TestClient(app)
    tok = env["tokens"]["pa"]
    codes = [c.get("/api/v1/me", headers=H(tok)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = c.get("/api/v1/me", headers=H(tok))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # Another partner's token has its own bucket.
    assert c.get("/api/v1/me", headers=H(env["tokens"]["pb"])).status_code == 200
    # Guessing tokens is throttled per remote address.
    codes = [c.get("/api/v1/me", headers=H("rmp_bad")).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_rate_limiter_refills() -> None:
    t = [0.0]
    rl = RateLimiter(2.0, 2, clock=lambda: t[0])
    assert [rl.take("k"), rl.take("k")] == [0.0, 0.0]
    assert rl.take("k") == pytest.approx(0.5)
    t[0] = 0.5
    assert rl.take("k") == 0.0 and rl.take("k") > 0


def test_token_of_partner_no_longer_configured_is_forbidden(env) -> None:
    with AlertStore(env["store"]) as store:
        _, tok = create_token(store, "gone")
    r = env["client"].get("/api/v1/alerts", headers=H(tok))
    assert r.status_code == 403 and "XAA" not in r.text


def test_page_and_static_files_are_served_with_security_headers(env) -> None:
    c = env["client"]
    r = c.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    for src in ("/static/portal.js", "/static/portal.css", "/static/vendor/leaflet/leaflet.js",
                "/static/vendor/leaflet/leaflet.css", "/static/vendor/leaflet/LICENSE"):
        assert src.rsplit("/", 1)[1] in r.text or src.endswith("LICENSE")
        assert c.get(src).status_code == 200, src
    assert "BSD" in c.get("/static/vendor/leaflet/LICENSE").text
    assert c.get("/static/../app.py").status_code == 404
    assert c.get("/api/v1/alerts", headers=H(env["tokens"]["pa"])).headers[
        "cache-control"] == "no-store"


def test_partners_cli_tokens(env, capsys) -> None:
    from riskmodel.cli import main
    cfg = ["--config", str(env["config"])]

    def run(*argv: str) -> int:
        with pytest.raises(SystemExit) as e:
            main(list(argv))
        return int(e.value.code)

    assert run("partners", "token", "create", *cfg, "--partner", "pc", "--label", "ops") == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("rmp_") and len(out.out.splitlines()) == 1
    token_id = token.split("_")[1]
    assert "shown once" in out.err
    assert env["client"].get("/api/v1/me", headers=H(token)).json()["partner"] == "pc"
    assert run("partners", "token", "create", *cfg, "--partner", "zz") == 2
    assert "unknown partner 'zz'" in capsys.readouterr().err
    assert run("partners", "token", "list", *cfg, "--json", "--partner", "pc") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["token_id"] for r in rows} >= {token_id} and token not in json.dumps(rows)
    assert run("partners", "token", "revoke", *cfg, token_id) == 0
    assert "revoked" in capsys.readouterr().out
    assert env["client"].get("/api/v1/me", headers=H(token)).status_code == 401
    assert run("partners", "token", "revoke", *cfg, "--partner", "pa", "--all") == 0
    assert "revoked 1 token(s) of pa" in capsys.readouterr().out
    assert env["client"].get("/api/v1/me", headers=H(env["tokens"]["pa"])).status_code == 401
    assert run("partners", "token", "revoke", *cfg, "notanid") == 2
    assert run("partners", "audit", *cfg, "--partner", "pc", "--json") == 0
    acts = [r["action"] for r in json.loads(capsys.readouterr().out)]
    assert acts == ["token_created", "token_created", "token_revoked"]


def test_serve_says_how_to_install_the_extra(env, monkeypatch, capsys) -> None:
    from riskmodel.cli import main
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    with pytest.raises(SystemExit) as e:
        main(["serve", "--config", str(env["config"])])
    assert e.value.code == 2
    assert "pip install 'riskmodel[portal]'" in capsys.readouterr().err


def test_acknowledge_function_is_what_the_portal_calls(env) -> None:
    """The store rows of an acknowledgement made directly with riskmodel.alerts.ack and
    through the portal are the same (the portal adds only its audit row)."""
    aid = "cl-XAA-01-2026-05"
    with AlertStore(env["store"]) as store:
        acknowledge(store, aid, "pa", partners=env["partners"], note="n")
        direct = store.history(aid)[-1]
    env["client"].post("/api/v1/alerts/fl-XAA-02-2026-05/ack", headers=H(env["tokens"]["pa"]),
                       json={"note": "n"})
    with AlertStore(env["store"]) as store:
        via = store.history("fl-XAA-02-2026-05")[-1]
    keys = ("to_state", "from_state", "detail", "as_of", "run_id")
    assert {k: direct[k] for k in keys} == {k: via[k] for k in keys}


def test_write_and_its_audit_row_commit_together(env, monkeypatch) -> None:
    """If the audit row cannot be written, the acknowledgement or outcome is not kept."""
    import riskmodel.portal.app as portal_app

    def broken(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(portal_app, "add_audit", broken)
    c = TestClient(create_app(env["store"], env["partners"]), raise_server_exceptions=False)
    tok, aid = env["tokens"]["pa"], "fl-XAA-02-2026-05"
    assert c.post(f"/api/v1/alerts/{aid}/ack", headers=H(tok), json={}).status_code == 500
    assert c.post(f"/api/v1/alerts/{aid}/outcome", headers=H(tok),
                  json={"outcome": "confirmed"}).status_code == 500
    assert db_rows(env["store"], "SELECT count(*) FROM history WHERE to_state='acknowledged'"
                   ) == [(0,)]
    assert db_rows(env["store"], "SELECT acknowledged_by FROM alerts WHERE alert_id="
                                 f"'{aid}'") == [(None,)]
    assert db_rows(env["store"], "SELECT count(*) FROM feedback") == [(0,)]
