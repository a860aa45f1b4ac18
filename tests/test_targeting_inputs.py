"""Validation of events.csv and programmes.csv: every bad row named with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmodel.errors import InputError
from riskmodel.targeting import load_events, load_inputs, load_programmes

EV_HEADER = "iso3,year,event,instrument\n"
PR_HEADER = "iso3,programme_id,start_year,end_year,focus,acceleration_factors\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_events_parse(tmp_path: Path) -> None:
    path = _write(tmp_path, "events.csv", EV_HEADER + "XAB,2021,observation,C029\n"
                  "\nXAC,2022,tip_watchlist,\n")
    events = load_events(path)
    assert [(e.iso3, e.year, e.event, e.instrument, e.line) for e in events] == [
        ("XAB", 2021, "observation", "C029", 2), ("XAC", 2022, "tip_watchlist", "", 4)]


def test_bom_column_order_and_extra_whitespace_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes("\ufeffyear,iso3,instrument,event\n2021, XAB ,C138,cas\n".encode())
    (event,) = load_events(path)
    assert (event.iso3, event.year, event.event, event.instrument) == ("XAB", 2021, "cas",
                                                                       "C138")


@pytest.mark.parametrize(("row", "expected"), [
    ("xab,2021,observation,C029", "iso3 'xab' (expected 3 capital letters A-Z)"),
    ("XABC,2021,observation,C029", "iso3 'XABC'"),
    ("ÄBC,2021,observation,C029", "iso3 'ÄBC'"),
    ("XAB,2021.0,observation,C029", "year '2021.0' (expected an integer year"),
    ("XAB,２０２１,observation,C029", "year '２０２１'"),
    ("XAB,,observation,C029", "year ''"),
    ("XAB,2021,observaton,C029", "event 'observaton' (expected one of observation, "
                                  "direct_request, cas, ta_request, ratification, "
                                  "tip_watchlist)"),
    ("XAB,2021,observation,", "instrument '' (expected an ILO instrument code"),
    ("XAB,2021,observation,c029", "instrument 'c029'"),
    ("XAB,2021,tip_watchlist,C029", "instrument 'C029' (expected empty for tip_watchlist)"),
    ("XAB,2021,observation", "3 fields (expected 4"),
])
def test_bad_event_row_names_file_line_and_expectation(tmp_path: Path, row: str,
                                                       expected: str) -> None:
    path = _write(tmp_path, "events.csv", EV_HEADER + "XAA,2021,cas,C029\n" + row + "\n")
    with pytest.raises(InputError) as info:
        load_events(path)
    message = str(info.value)
    assert f"{path}:3: " in message
    assert expected in message
    assert "\n" not in message


def test_all_bad_rows_are_reported_in_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "events.csv", EV_HEADER + "XAA,2021,cas,C029\n"
                  "XAB,twenty,cas,C029\nXAC,2021,cas,C029\nXAD,2021,oops,C029\n")
    with pytest.raises(InputError) as info:
        load_events(path)
    message = str(info.value)
    assert message.startswith(f"2 bad rows: {path}:3: year 'twenty'")
    assert f"{path}:5: event 'oops'" in message
    assert "\n" not in message


def test_many_bad_rows_are_capped_with_a_count(tmp_path: Path) -> None:
    rows = "".join(f"XAB,{i}x,cas,C029\n" for i in range(30))
    with pytest.raises(InputError) as info:
        load_events(_write(tmp_path, "events.csv", EV_HEADER + rows))
    assert str(info.value).startswith("30 bad rows: ")
    assert str(info.value).endswith("; and 10 more bad row(s)")


@pytest.mark.parametrize("header", ["iso3,year,event\n", "iso3,year,event,instrument,note\n",
                                    "iso,year,event,instrument\n", ""])
def test_wrong_header_is_reported_on_line_1(tmp_path: Path, header: str) -> None:
    path = _write(tmp_path, "events.csv", header + "XAB,2021,cas,C029\n" if header else "")
    with pytest.raises(InputError, match=rf"^1 bad row: {path}:1: .*iso3,year,event,instrument"):
        load_events(path)


def test_missing_and_non_utf8_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.csv: file not found"):
        load_events(tmp_path / "nope.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(EV_HEADER.encode() + "XAB,2021,cas,C029 \xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.csv: not UTF-8 text \(byte \d+\)"):
        load_events(bad)


def test_good_programmes_parse_and_exact_duplicates_collapse(tmp_path: Path) -> None:
    row = "XAB,P-1,2020,2023,FL+CL,knowledge; financing\n"
    path = _write(tmp_path, "programmes.csv", PR_HEADER + row + row +
                  "XAC,P-1,2019,2019,FPRW,\n")
    progs = load_programmes(path)
    assert [(p.iso3, p.programme_id, p.start_year, p.end_year, p.focus,
             sorted(p.acceleration_factors)) for p in progs] == [
        ("XAB", "P-1", 2020, 2023, "FL+CL", ["financing", "knowledge"]),
        ("XAC", "P-1", 2019, 2019, "FPRW", [])]


@pytest.mark.parametrize(("row", "expected"), [
    ("XAB,P-1,2020,2023,Fl,knowledge", "focus 'Fl' (expected one of FL, CL, FL+CL, FPRW)"),
    ("XAB,P-1,2020,2023,FL,knowledge;money", "acceleration_factors 'money' (expected a "
                                            "';'-separated subset of political_commitment"),
    ("XAB,P-1,2020,2023,FL,knowledge,financing", "7 fields (expected 6"),
    ("XAB,P-1,20x0,2023,FL,", "start_year '20x0' (expected an integer year)"),
    ("XAB,P-1,2020,,FL,", "end_year '' (expected an integer year)"),
    ("XAB,P-1,2024,2023,FL,", "start_year 2024 after end_year 2023"),
    ("XAB,,2020,2023,FL,", "programme_id is empty"),
    ("X1B,P-1,2020,2023,FL,", "iso3 'X1B'"),
    ("XAA,P-0,2020,2023,CL,", "programme 'P-0' in XAA already defined differently on line 2"),
])
def test_bad_programme_row_names_file_and_line(tmp_path: Path, row: str,
                                               expected: str) -> None:
    path = _write(tmp_path, "programmes.csv",
                  PR_HEADER + "XAA,P-0,2020,2023,FL,\n" + row + "\n")
    with pytest.raises(InputError) as info:
        load_programmes(path)
    assert f"{path}:3: " in str(info.value)
    assert expected in str(info.value)


def test_load_inputs_reports_both_files_at_once(tmp_path: Path) -> None:
    ev = _write(tmp_path, "events.csv", EV_HEADER + "XAB,2021,oops,C029\n")
    pr = _write(tmp_path, "programmes.csv", PR_HEADER + "XAB,P,2020,2023,XX,\n")
    with pytest.raises(InputError) as info:
        load_inputs(ev, pr)
    assert f"{ev}:2: event 'oops'" in str(info.value)
    assert f"{pr}:2: focus 'XX'" in str(info.value)


def test_line_numbers_follow_quoted_multiline_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, "programmes.csv", PR_HEADER +
                  'XAB,"P\n1",2020,2023,FL,\nXAB,P2,2020,2023,BAD,\n')
    with pytest.raises(InputError, match=rf"{path}:4: focus 'BAD'"):
        load_programmes(path)
