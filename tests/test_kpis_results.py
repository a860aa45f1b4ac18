"""Programme results partners report: validation of hostile files (one line per bad row,
nothing stored), storage beside the alert store, aggregation, the join with targeting,
the `kpis import` command and the run report's KPI section."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from kpi_fixtures import build_kpi_store

from riskmodel.cli import main
from riskmodel.errors import InputError
from riskmodel.kpis.compute import compute_kpis
from riskmodel.kpis.interventions import (
    COLUMNS,
    INDICATORS,
    ResultsStore,
    aggregate,
    import_results,
    interventions_path,
    period_months,
)
from riskmodel.kpis.join import country_view
from riskmodel.kpis.section import run_kpi_section
from riskmodel.targeting.inputs import load_inputs
from riskmodel.targeting.summary import assess

ROOT = Path(__file__).resolve().parents[1]
HEADER = ",".join(COLUMNS)
GOOD = f"""{HEADER}
XAA,agriculture,XAA-P1,2026-Q1,children_withdrawn,120,children
XAA,agriculture,XAA-P1,2026-04,children_withdrawn,30,children
XAA,mining,XAA-P1,2026-Q1,children_prevented,300,children
XAA,all,XAA-NEW,2026,inspections,42,inspections
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def rs(tmp_path: Path) -> ResultsStore:
    with ResultsStore(tmp_path / "alerts.interventions.sqlite") as s:
        yield s


def test_template_header_is_the_schema() -> None:
    assert (ROOT / "docs" / "kpi-template.csv").read_text().strip() == HEADER


def test_good_file_is_stored_and_summed(rs: ResultsStore, tmp_path: Path) -> None:
    res = import_results(rs, write(tmp_path / "r.csv", GOOD), partner="pa",
                         countries=("XAA",))
    assert (res.stored, res.errors) == (4, [])
    rows = rs.rows()
    assert len(rows) == 4 and {r["partner"] for r in rows} == {"pa"}
    assert rows[0]["source"].startswith("r.csv:")
    agg = aggregate(rows, by=("country", "sector"))
    got = {(r["sector"], r["indicator"]): r["value"] for r in agg}
    assert got == {("agriculture", "children_withdrawn"): 150,
                   ("mining", "children_prevented"): 300, ("all", "inspections"): 42}
    # In Jan-Mar only the quarter counts; April is outside, the year runs past the range.
    q1 = {(r["sector"], r["indicator"]): r for r in
          aggregate(rows, start="2026-01", end="2026-03", by=("country", "sector"))}
    assert q1[("agriculture", "children_withdrawn")]["value"] == 120
    year = q1[("all", "inspections")]
    assert year["value"] is None and year["partial"] == 1 and year["reason"]
    log = rs.db.execute("SELECT partner, file, rows FROM imports").fetchall()
    assert log == [("pa", "r.csv", 4)]


def test_reimport_replaces_the_same_period(rs: ResultsStore, tmp_path: Path) -> None:
    import_results(rs, write(tmp_path / "r.csv", GOOD), partner="pa", countries=("XAA",))
    fixed = f"{HEADER}\nXAA,agriculture,XAA-P1,2026-Q1,children_withdrawn,125,children\n"
    res = import_results(rs, write(tmp_path / "fix.csv", fixed), partner="pa",
                         countries=("XAA",))
    assert res.stored == 1
    vals = {(r["period"], r["indicator"]): r["value"] for r in rs.rows()}
    assert vals[("2026-Q1", "children_withdrawn")] == 125 and len(vals) == 4


@pytest.mark.parametrize("row, column, expected", [
    ("XAB,agriculture,P1,2026,inspections,1,inspections", "country", "partner's countries"),
    ("XA1,agriculture,P1,2026,inspections,1,inspections", "country", "ISO 3166-1"),
    ("xaa,agriculture,P1,2026,inspections,1,inspections", "country", "ISO 3166-1"),
    ("XAA,farming,P1,2026,inspections,1,inspections", "sector", "one of agriculture"),
    ("XAA,all,=HYPERLINK(1),2026,inspections,1,inspections", "programme", "identifier"),
    ("XAA,all,P1\x1b[2J,2026,inspections,1,inspections", "programme", "identifier"),
    ("XAA,all,P1,2026-13,inspections,1,inspections", "period", "YYYY, YYYY-Qn"),
    ("XAA,all,P1,2026-Q5,inspections,1,inspections", "period", "YYYY, YYYY-Qn"),
    ("XAA,all,P1,26,inspections,1,inspections", "period", "YYYY, YYYY-Qn"),
    ("XAA,all,P1,2026,raids,1,inspections", "indicator", "children_withdrawn"),
    ("XAA,all,P1,2026,inspections,1,visits", "unit", "'inspections' for inspections"),
    ("XAA,all,P1,2026,inspections,-1,inspections", "value", "whole count"),
    ("XAA,all,P1,2026,inspections,1.5,inspections", "value", "whole count"),
    ("XAA,all,P1,2026,inspections,1e3,inspections", "value", "whole count"),
    ("XAA,all,P1,2026,inspections,NaN,inspections", "value", "whole count"),
    ("XAA,all,P1,2026,inspections,\u0661\u0662,inspections", "value", "whole count"),
    ("XAA,all,P1,2026,inspections,99999999999,inspections", "value", "whole count"),
    ("XAA,all,P1,2026,inspections,1,inspections,extra", "fields", "expected 7"),
])
def test_each_bad_row_is_one_line_and_nothing_is_stored(rs: ResultsStore, tmp_path: Path,
                                                        row: str, column: str,
                                                        expected: str) -> None:
    import_results(rs, write(tmp_path / "old.csv", GOOD), partner="pa", countries=("XAA",))
    before = rs.rows()
    text = f"{HEADER}\nXAA,all,OK1,2025,inspections,5,inspections\n{row}\n"
    path = write(tmp_path / "bad.csv", text)
    res = import_results(rs, path, partner="pa", countries=("XAA",))
    assert res.stored == 0 and len(res.errors) == 1, res.errors
    line = res.errors[0]
    assert line.startswith(f"{path}:3: ") and column in line and expected in line, line
    assert "\x1b" not in line and "\n" not in line
    assert rs.rows() == before  # the valid row of the bad file was not stored either


def test_file_level_problems(rs: ResultsStore, tmp_path: Path) -> None:
    cases = {"empty.csv": ("", "empty file"),
             "head.csv": ("country,sector,programme,period,indicator,value\n", "missing unit"),
             "extra.csv": (HEADER + ",note\n", "unknown 'note'")}
    for name, (text, want) in cases.items():
        res = import_results(rs, write(tmp_path / name, text), partner="pa",
                             countries=("XAA",))
        assert res.stored == 0 and len(res.errors) == 1 and want in res.errors[0], res.errors
        assert res.errors[0].startswith(f"{tmp_path / name}:1: ")
    (tmp_path / "bin.csv").write_bytes(HEADER.encode() + b"\n\xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8"):
        import_results(rs, tmp_path / "bin.csv", partner="pa", countries=("XAA",))
    (tmp_path / "nul.csv").write_bytes(HEADER.encode() + b"\nXAA,all,P\x00,2026,a,1,b\n")
    res = import_results(rs, tmp_path / "nul.csv", partner="pa", countries=("XAA",))
    assert res.stored == 0 and res.errors and ":2:" in res.errors[0]
    assert rs.rows() == []


def test_overlapping_periods_are_refused(rs: ResultsStore, tmp_path: Path) -> None:
    both = (f"{HEADER}\nXAA,all,P1,2026,inspections,10,inspections\n"
            f"XAA,all,P1,2026-Q2,inspections,3,inspections\n")
    res = import_results(rs, write(tmp_path / "a.csv", both), partner="pa",
                         countries=("XAA",))
    assert res.stored == 0 and "overlaps period '2026'" in res.errors[0]
    assert res.errors[0].startswith(f"{tmp_path / 'a.csv'}:3: ")
    import_results(rs, write(tmp_path / "y.csv", f"{HEADER}\nXAA,all,P1,2026,inspections,10,"
                                                 f"inspections\n"), partner="pa",
                   countries=("XAA",))
    res = import_results(rs, write(tmp_path / "q.csv", f"{HEADER}\nXAA,all,P1,2026-Q2,"
                                                       f"inspections,3,inspections\n"),
                         partner="pa", countries=("XAA",))
    assert res.stored == 0 and "overlaps the stored period '2026'" in res.errors[0]
    # Another partner's series is its own: no clash.
    res = import_results(rs, tmp_path / "q.csv", partner="pb", countries=("XAA",))
    assert res.stored == 1


def test_periods_and_indicators() -> None:
    assert period_months("2026") == ("2026-01", "2026-12")
    assert period_months("2026-Q3") == ("2026-07", "2026-09")
    assert period_months("2026-02") == ("2026-02", "2026-02")
    assert period_months("2026-02\n") is None and period_months("2026-1") is None
    assert set(INDICATORS) == {"children_withdrawn", "children_prevented",
                               "workers_reached", "inspections", "victims_assisted"}


def test_join_with_targeting(tmp_path: Path) -> None:
    s = build_kpi_store(tmp_path / "s")
    ev = write(tmp_path / "events.csv", "iso3,year,event,instrument\n"
               "XAA,2026,observation,C182\nXAC,2026,cas,C029\n")
    pr = write(tmp_path / "programmes.csv",
               "iso3,programme_id,start_year,end_year,focus,acceleration_factors\n"
               "XAA,XAA-P1,2025,2027,CL,knowledge\nXAC,XAC-P9,2020,2021,FL,\n")
    events, programmes = load_inputs(ev, pr)
    with ResultsStore(tmp_path / "r.sqlite") as rs:
        import_results(rs, write(tmp_path / "r.csv", GOOD), partner="pa",
                       countries=("XAA",))
        rows = rs.rows()
    with sqlite3.connect(s["store"]) as db:
        kpis = compute_kpis(db, partners=s["partners"].partner, by=("country",))
    view = country_view(kpis=kpis, results=aggregate(rows, by=("country",)),
                        assessment=assess(events, programmes, (2026, 2026)),
                        programmes=programmes,
                        risk={"cl": {"XAA": 0.4, "XAB": 0.2, "XZZ": 0.9}})
    by = {r["country"]: r for r in view}
    assert sorted(by) == ["XAA", "XAB", "XAC"]  # XZZ: risk alone does not add a row
    xaa = by["XAA"]
    assert xaa["need"] == ["child_labour: observation"]
    assert xaa["programmes"] == ["XAA-P1"]  # active in 2026
    assert xaa["results"]["children_withdrawn"]["value"] == 150
    assert xaa["unlisted_programmes"] == ["XAA-NEW"]
    assert xaa["alerts"] == 3 and xaa["share_visited"]["value"] == 1.0
    assert xaa["risk_cl"] == 0.4
    xac = by["XAC"]  # need, an inactive programme, no alerts, no results
    assert xac["need"] == ["forced_labour: CAS"] and xac["programmes"] == []
    assert xac["alerts"] == 0 and xac["alert_precision"]["value"] is None
    assert xac["results"] == {} and xac["risk_cl"] is None


def test_import_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = build_kpi_store(tmp_path / "s")
    bad = write(tmp_path / "bad.csv", f"{HEADER}\nXAA,all,P1,2026,inspections,1,inspections\n"
                f"XAB,all,P1,2026,inspections,x,inspections\n")
    with pytest.raises(SystemExit) as e:
        main(["kpis", "import", str(bad), "--partner", "pa", "--config", str(s["config"])])
    assert e.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{bad}:3: country 'XAB'") and "value 'x'" in err[0]
    assert "nothing stored" in err[-1]
    side = interventions_path(s["store"])
    with ResultsStore(side, readonly=True) as rs:
        assert rs.rows() == []
    good = write(tmp_path / "good.csv", GOOD)
    with pytest.raises(SystemExit) as e:  # shared options before the subcommand work too
        main(["kpis", "--config", str(s["config"]), "import", str(good), "--partner", "pa"])
    assert e.value.code == 0 and "stored 4 result(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["kpis", "import", str(good), "--partner", "pb", "--config", str(s["config"])])
    assert e.value.code == 2  # XAA is not pb's
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["kpis", "--config", str(s["config"]), "--by", "country"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "children_withdrawn  150" in out


def test_run_report_section(tmp_path: Path) -> None:
    s = build_kpi_store(tmp_path / "s")
    with ResultsStore(interventions_path(s["store"])) as rs:
        import_results(rs, write(tmp_path / "r.csv", GOOD), partner="pa", countries=("XAA",))
    manifest = {"config": {"alerts": {"enabled": True, "store": str(s["store"]),
                                      "partners": str(tmp_path / "s" / "partners.toml")}}}
    html = run_kpi_section(tmp_path, manifest)
    assert "<h2>Key performance indicators</h2>" in html
    assert "75% (3/4)" in html and "children withdrawn from child labour" in html
    assert "n/a: no acknowledged alert" in html  # pd's row
    missing = {"config": {"alerts": {"enabled": True, "store": str(tmp_path / "none.sqlite"),
                                     "partners": None}}}
    assert "Not available" in run_kpi_section(tmp_path, missing)
