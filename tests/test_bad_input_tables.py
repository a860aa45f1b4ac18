"""Bad-input campaign, the targeting readers (events.csv, programmes.csv that every nightly
run writes and reads back): random cells, truncation, non-UTF-8 bytes and duplicates end in
rows true to the file or one `InputError` line naming the file, never a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.errors import InputError
from riskmodel.targeting.inputs import load_events, load_programmes

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
ISO = st.sampled_from(["XAA", "XAB", "xaa", "ÄBC", "XA", "", "XAA "])
YEAR = st.sampled_from(["2022", "2023", "1800", "20x2", "", "2022.0", "99999"])
EVENT = st.sampled_from(["observation", "cas", "ta_request", "tip_watchlist", "nope", ""])
INSTR = st.sampled_from(["C029", "C138", "C182", "C999", "", "c029"])


def outcome(path: Path, data: bytes, load):  # type: ignore[no-untyped-def]
    path.write_bytes(data)
    try:
        return load(path)
    except InputError as exc:
        msg = str(exc)
        assert str(path) in msg and "Traceback" not in msg, msg
        return None


@SETTINGS
@given(rows=st.lists(st.tuples(ISO, YEAR, EVENT, INSTR), max_size=6))
def test_events_read_true_or_refused(tmp_path: Path, rows: list[tuple[str, ...]]) -> None:
    text = "iso3,year,event,instrument\n" + "".join(",".join(r) + "\n" for r in rows)
    got = outcome(tmp_path / "events.csv", text.encode(), load_events)
    if got is None:
        return
    written = {(i.strip(), y.strip(), e.strip(), s.strip()) for i, y, e, s in rows}
    for ev in got:  # every event read is a row of the file
        assert (ev.iso3, str(ev.year), ev.event, ev.instrument) in written
        assert len(ev.iso3) == 3 and ev.iso3.isascii() and ev.iso3.isupper()


VALID = ("iso3,programme_id,start_year,end_year,focus,acceleration_factors\n"
         "XAA,XAA-1,2020,2024,FL+CL,political_commitment;root_causes\n"
         "XAB,XAB-1,2023,2027,CL,knowledge\n").encode()


@SETTINGS
@given(cut=st.integers(0, len(VALID)), at=st.integers(0, len(VALID) - 1),
       byte=st.sampled_from([0x80, 0xFF, 0x00, ord(","), ord("\n"), ord(";"), ord("9")]))
def test_programmes_truncated_or_corrupted(tmp_path: Path, cut: int, at: int,
                                           byte: int) -> None:
    outcome(tmp_path / "p.csv", VALID[:cut], load_programmes)
    data = bytearray(VALID)
    data[at] = byte
    got = outcome(tmp_path / "p.csv", bytes(data), load_programmes)
    if got is not None:
        for p in got:
            assert p.start_year <= p.end_year and len(p.iso3) == 3
    if byte >= 0x80:
        assert got is None  # never read past bytes that are not UTF-8
