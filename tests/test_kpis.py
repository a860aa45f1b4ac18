"""The alert KPIs computed by hand on a small store (tests/kpi_fixtures.py says where every
number comes from), empty denominators, the catalogue and its docs, and the command."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from kpi_fixtures import build_kpi_store

from riskmodel.alerts.feedback import OUTCOMES
from riskmodel.cli import main
from riskmodel.errors import InputError
from riskmodel.kpis.catalogue import CATALOGUE
from riskmodel.kpis.compute import VISITED, compute_kpis, period_of
from riskmodel.kpis.docs import MARKER, catalogue_markdown

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def kstore(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build_kpi_store(tmp_path_factory.mktemp("kpis"))


@pytest.fixture(scope="module")
def db(kstore: dict) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{kstore['store']}?mode=ro", uri=True)


def values(row) -> dict:  # type: ignore[no-untyped-def]
    return {k: v.value for k, v in row.values.items()}


def test_catalogue_entries_are_complete() -> None:
    assert list(CATALOGUE) == ["alert_precision", "share_visited", "time_to_acknowledge",
                               "time_to_visit", "lead_time", "cases_per_visit",
                               "population_covered", "alerts_per_period"]
    for name, k in CATALOGUE.items():
        assert k.name == name and k.direction in ("higher", "lower", "neutral")
        for text in (k.label, k.definition, k.formula, k.unit, k.source, k.empty):
            assert text.strip() and "\n" not in text, name
        json.dumps(k.describe())
    # Visits are the feedback outcomes that say a visit happened.
    assert set(VISITED) < set(OUTCOMES) and "not_visited" not in VISITED


def test_all_partners_by_hand(kstore: dict, db: sqlite3.Connection) -> None:
    total = compute_kpis(db, partners=kstore["partners"].partner, by=()).total
    assert total.key == {"partner": "*"} and total.alerts == 5
    v = total.values
    # a1..a4 visited (a5's outcome comes from a partner that does not cover it)
    assert (v["share_visited"].numerator, v["share_visited"].denominator) == (4, 5)
    assert v["share_visited"].value == pytest.approx(0.8)
    # a1, a3, a4 confirmed of the four visited
    assert v["alert_precision"].value == pytest.approx(0.75)
    assert v["alert_precision"].n == 4
    # acknowledged after 0.5, 2 and 1 days
    assert v["time_to_acknowledge"].value == pytest.approx(1.0)
    assert v["time_to_acknowledge"].n == 3
    # first visits after 10 (a1: pa on day 10, pd on day 14), 20, 4 and 30 days
    assert v["time_to_visit"].value == pytest.approx(15.0)
    assert v["time_to_visit"].n == 4
    # fl XAA-01: 2026-01-01 -> 2026-02-11 = 41 d; cl XAB-02: 2026-02-01 -> 2026-03-31 = 58 d
    assert v["lead_time"].value == pytest.approx(49.5)
    assert v["lead_time"].n == 2
    # five partner visits (pd's too), three found a case
    assert (v["cases_per_visit"].numerator, v["cases_per_visit"].denominator) == (3, 5)
    # people: fl population, cl children: visited 1000+800+1000+300 of 3200
    assert v["population_covered"].value == pytest.approx(3100 / 3200)
    assert v["population_covered"].n == 5
    # five alerts over three processed months
    assert v["alerts_per_period"].value == pytest.approx(5 / 3)
    assert all(x.reason is None for x in v.values())


def test_each_partner_by_hand(kstore: dict, db: sqlite3.Connection) -> None:
    rep = compute_kpis(db, partners=kstore["partners"].partner, by=("partner",))
    rows = {r.key["partner"]: r for r in rep.rows}
    assert set(rows) == {"pa", "pb", "pd"}
    assert rows["pa"].alerts == 3 and values(rows["pa"]) == pytest.approx({
        "alert_precision": 2 / 3, "share_visited": 1.0, "time_to_acknowledge": 1.25,
        "time_to_visit": 10.0, "lead_time": 41.0, "cases_per_visit": 2 / 3,
        "population_covered": 1.0, "alerts_per_period": 1.0})
    assert rows["pb"].alerts == 1 and values(rows["pb"]) == pytest.approx({
        "alert_precision": 1.0, "share_visited": 1.0, "time_to_acknowledge": 1.0,
        "time_to_visit": 30.0, "lead_time": 58.0, "cases_per_visit": 1.0,
        "population_covered": 1.0, "alerts_per_period": 1 / 3})
    pd = rows["pd"].values
    assert rows["pd"].alerts == 2
    assert pd["alert_precision"].value == 0.0 and pd["alert_precision"].denominator == 1
    assert pd["share_visited"].value == pytest.approx(0.5)
    assert pd["time_to_visit"].value == pytest.approx(14.0)
    assert pd["cases_per_visit"].value == 0.0
    assert pd["population_covered"].value == pytest.approx(0.5)
    # pd never acknowledged nor confirmed: no value, a reason, never 0
    for name in ("time_to_acknowledge", "lead_time"):
        assert pd[name].value is None and pd[name].reason == CATALOGUE[name].empty


def test_partner_view_holds_only_its_own(kstore: dict, db: sqlite3.Connection) -> None:
    rep = compute_kpis(db, partners=kstore["partners"].partner, partner="pd",
                       by=("country", "target"))
    assert rep.partners == ["pd"] and rep.total.key == {"partner": "pd"}
    assert [r.key for r in rep.rows] == [{"country": "XAA", "target": "fl"}]
    # pa's confirmed outcome and acknowledgement of a1 are not pd's
    assert rep.total.values["alert_precision"].value == 0.0
    assert rep.total.values["time_to_acknowledge"].value is None
    with pytest.raises(InputError, match="unknown partner"):
        compute_kpis(db, partners=kstore["partners"].partner, partner="zz")


def test_grouping_by_country_target_period(kstore: dict, db: sqlite3.Connection) -> None:
    rep = compute_kpis(db, partners=kstore["partners"].partner,
                       by=("country", "target", "period"))
    keys = [tuple(r.key.values()) for r in rep.rows]
    assert keys == [("XAA", "cl", "2026-01"), ("XAA", "fl", "2026-01"),
                    ("XAA", "fl", "2026-03"), ("XAB", "cl", "2026-02")]
    xab = rep.rows[-1]
    assert xab.alerts == 2
    assert xab.values["share_visited"].value == pytest.approx(0.5)  # a4 yes, a5 no
    assert xab.values["alerts_per_period"].value == 2.0  # one period per row
    q = compute_kpis(db, partners=kstore["partners"].partner, by=("period",),
                     period="quarter")
    assert [(r.key["period"], r.alerts) for r in q.rows] == [("2026-Q1", 5)]
    assert q.rows[0].values["alerts_per_period"].value == 5.0
    assert period_of("2026-11", "quarter") == "2026-Q4" and period_of("2026-11", "year") == "2026"


def test_month_range_and_empty_denominators(kstore: dict, db: sqlite3.Connection) -> None:
    rep = compute_kpis(db, partners=kstore["partners"].partner, by=(),
                       start="2026-02", end="2026-02")
    assert rep.total.alerts == 2  # a4, a5
    assert rep.total.values["alerts_per_period"].value == 2.0
    empty = compute_kpis(db, partners=kstore["partners"].partner, by=("partner",),
                         start="2025-01", end="2025-12")
    assert empty.rows == [] and empty.total.alerts == 0
    for name, v in empty.total.values.items():
        assert v.value is None and v.reason == CATALOGUE[name].empty, name
    for bad in ({"start": "2026-13"}, {"end": "26-01"}, {"start": "2026-03", "end": "2026-01"},
                {"by": ("partner", "region")}, {"period": "week"}):
        with pytest.raises(InputError):
            compute_kpis(db, partners=kstore["partners"].partner, **bad)


def test_without_partners_every_outcome_counts(kstore: dict, db: sqlite3.Connection) -> None:
    # No partners file: no gate, so the ungated row on a5 counts too.
    total = compute_kpis(db, by=()).total
    assert total.values["share_visited"].numerator == 5


def test_docs_page_is_the_generated_catalogue() -> None:
    page = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert page.count(MARKER) == 1
    assert page.split(MARKER, 1)[1].lstrip("\n") == catalogue_markdown(), (
        "regenerate the part after the marker: riskmodel kpis catalogue --markdown")
    for name in CATALOGUE:
        assert f"`{name}`" in page


def test_cli_prints_and_writes_json(kstore: dict, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kpis.json"
    with pytest.raises(SystemExit) as e:
        main(["kpis", "--config", str(kstore["config"]), "--by", "partner",
              "--json", str(out)])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "pa " in text and "75% (3/4)" in text  # the total's precision
    data = json.loads(out.read_text())
    assert [r["partner"] for r in data["rows"]] == ["pa", "pb", "pd"]
    assert data["total"]["kpis"]["lead_time"]["value"] == 49.5
    pd = data["rows"][2]["kpis"]["time_to_acknowledge"]
    assert pd["value"] is None and pd["reason"] == "no acknowledged alert"
    assert [c["name"] for c in data["catalogue"]] == list(CATALOGUE)
    with pytest.raises(SystemExit) as e:
        main(["kpis", "--config", str(kstore["config"]), "--from", "2026-1"])
    assert e.value.code == 2
    assert "--from '2026-1' is not a month" in capsys.readouterr().err


def test_cli_partner_view_html_and_catalogue(kstore: dict, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    html = tmp_path / "k.html"
    out = tmp_path / "k.json"
    with pytest.raises(SystemExit) as e:
        main(["kpis", "--config", str(kstore["config"]), "--partner", "pb",
              "--json", str(out), "--html", str(html)])
    assert e.value.code == 0
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["partners"] == ["pb"] and data["total"]["alerts"] == 1
    assert [c["country"] for c in data["countries"]] == ["XAB"]
    assert "XAA" not in text and "XAA" not in html.read_text()
    assert "<h2>Key performance indicators</h2>" in html.read_text()
    with pytest.raises(SystemExit):
        main(["kpis", "catalogue", "--markdown"])
    assert capsys.readouterr().out == catalogue_markdown()
    with pytest.raises(SystemExit):
        main(["kpis", "catalogue"])
    assert len(capsys.readouterr().out.splitlines()) == len(CATALOGUE) + 5


def test_history_only_periods_are_not_periods_partners_had(kstore: dict,
                                                           tmp_path: Path) -> None:
    """A period recorded as history only (before a store's first delivery) sent nothing:
    alerts per period divides by the published periods alone."""
    import shutil

    from riskmodel.alerts.store import AlertStore

    copy = tmp_path / "alerts.sqlite"
    shutil.copy(kstore["store"], copy)
    with AlertStore(copy) as st:
        st.add_run("2025-12", "h", "2026-01-01T00:00:00+00:00", True, {},
                   {"history_only": True}, [])
        rep = compute_kpis(st.db, partners=kstore["partners"].partner, by=())
    assert rep.total.values["alerts_per_period"].value == pytest.approx(5 / 3)
