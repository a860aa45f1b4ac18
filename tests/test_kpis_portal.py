"""The portal's KPI endpoint and panel: each partner sees its own KPIs and results, never
another partner's numbers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2")
from kpi_fixtures import build_kpi_store  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from riskmodel.alerts.store import AlertStore  # noqa: E402
from riskmodel.kpis.compute import compute_kpis  # noqa: E402
from riskmodel.kpis.interventions import (  # noqa: E402
    ResultsStore,
    import_results,
    interventions_path,
)
from riskmodel.portal.app import create_app  # noqa: E402
from riskmodel.portal.tokens import create_token  # noqa: E402

HEADER = "country,sector,programme,period,indicator,value,unit"


@pytest.fixture()
def env(tmp_path: Path) -> dict:
    s = build_kpi_store(tmp_path)
    with ResultsStore(interventions_path(s["store"])) as rs:
        for partner, country, value in (("pa", "XAA", 4321), ("pb", "XAB", 8765)):
            f = tmp_path / f"{partner}.csv"
            f.write_text(f"{HEADER}\n{country},fishing,{partner.upper()}-PROG,2026-Q1,"
                         f"victims_assisted,{value},persons\n")
            assert import_results(rs, f, partner=partner, countries=(country,)).stored == 1
    with AlertStore(s["store"]) as store:
        s["tokens"] = {p: create_token(store, p)[1] for p in ("pa", "pb", "pd")}
    s["client"] = TestClient(create_app(s["store"], s["partners"]))
    return s


def get(env: dict, partner: str, query: str = "") -> tuple[int, dict]:
    r = env["client"].get("/api/v1/kpis" + query,
                          headers={"Authorization": f"Bearer {env['tokens'][partner]}"})
    return r.status_code, r.json()


def test_each_partner_sees_only_its_own(env: dict) -> None:
    code, pa = get(env, "pa")
    assert code == 200 and pa["partners"] == ["pa"] and pa["total"]["partner"] == "pa"
    code, pb = get(env, "pb")
    assert code == 200 and pb["partners"] == ["pb"]
    # The numbers are exactly the partner's view computed directly.
    with sqlite3.connect(env["store"]) as db:
        for partner, got in (("pa", pa), ("pb", pb)):
            want = compute_kpis(db, partners=env["partners"].partner, partner=partner,
                                by=("target", "period")).to_dict()
            assert got["total"] == json.loads(json.dumps(want["total"]))
            assert got["rows"] == json.loads(json.dumps(want["rows"]))
    assert pa["total"]["alerts"] == 3 and pb["total"]["alerts"] == 1
    # Results: each partner's own only; no trace of the other's country, programme, value.
    assert [(r["country"], r["value"]) for r in pa["results"]] == [("XAA", 4321)]
    assert [(r["country"], r["value"]) for r in pb["results"]] == [("XAB", 8765)]
    text_a, text_b = json.dumps(pa), json.dumps(pb)
    for other in ("XAB", "PB-PROG", "8765"):
        assert other not in text_a
    for other in ("XAA", "PA-PROG", "4321"):
        assert other not in text_b
    # pd shares alert a1 with pa: pa's acknowledgement and confirmed visit are not pd's.
    code, pd = get(env, "pd")
    assert pd["total"]["kpis"]["time_to_acknowledge"]["value"] is None
    assert pd["total"]["kpis"]["alert_precision"]["value"] == 0.0
    assert pd["results"] == []


def test_query_is_checked_and_a_token_is_needed(env: dict) -> None:
    code, body = get(env, "pa", "?from=2026-02&to=2026-03&period=quarter")
    assert code == 200 and [r["period"] for r in body["rows"]] == ["2026-Q1"]
    for bad in ("?from=2026-1", "?to=<script>", "?period=week", "?from=2026-03&to=2026-01"):
        code, body = get(env, "pa", bad)
        assert code == 422 and "expected" in body["error"], bad
        assert "<script>" not in body["error"].replace("'<script>'", "")
    r = env["client"].get("/api/v1/kpis")
    assert r.status_code == 401


def test_panel_is_served(env: dict) -> None:
    page = env["client"].get("/").text
    assert 'id="kpis"' in page and "/static/kpis.js" in page
    js = env["client"].get("/static/kpis.js")
    assert js.status_code == 200 and "/api/v1/kpis" in js.text
    assert "innerHTML" not in js.text  # data goes through textContent only
