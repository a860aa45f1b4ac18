"""Readers and validation for the targeting inputs `events.csv` and `programmes.csv`.

Both files are UTF-8 CSV with a header row (the column order is free, the set of columns is
fixed). Every row is checked before anything is used: a bad row is reported as
`file:line: what (expected ...)`, and all bad rows of a file are collected so one run shows
every problem. `load_events` and `load_programmes` raise `InputError` (exit code 2) when any
row is bad; `load_inputs` validates both files and reports the problems of both at once.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from riskmodel.errors import InputError

EVENT_TYPES = ("observation", "direct_request", "cas", "ta_request", "ratification",
               "tip_watchlist")
FOCUSES = ("FL", "CL", "FL+CL", "FPRW")
ACCELERATION_FACTORS = ("political_commitment", "root_causes", "vulnerable_populations",
                        "knowledge", "financing", "innovation")
# How the factors read in sentences and column heads (the keys stay the data's contract).
FACTOR_LABELS = {
    "political_commitment": "political commitment",
    "root_causes": "root causes",
    "vulnerable_populations": "vulnerable populations",
    "knowledge": "knowledge and data",
    "financing": "financing",
    "innovation": "innovation",
}
EVENT_COLUMNS = ("iso3", "year", "event", "instrument")
PROGRAMME_COLUMNS = ("iso3", "programme_id", "start_year", "end_year", "focus",
                     "acceleration_factors")

# Bad rows listed in full in one error message; beyond this the message says how many more,
# so a wholly wrong file still gives a readable one-line error.
MAX_REPORTED = 20


@dataclass(frozen=True)
class Event:
    """One row of events.csv; `instrument` is "" for `tip_watchlist`. `line` is for messages."""

    iso3: str
    year: int
    event: str
    instrument: str
    line: int = 0

    def key(self) -> tuple[str, int, str, str]:
        """The identity of the event: duplicates with the same key count once."""
        return (self.iso3, self.year, self.event, self.instrument)


@dataclass(frozen=True)
class Programme:
    """One row of programmes.csv: a programme in one country over [start_year, end_year]."""

    iso3: str
    programme_id: str
    start_year: int
    end_year: int
    focus: str
    acceleration_factors: frozenset[str]
    line: int = 0

    def active_in(self, window: tuple[int, int]) -> bool:
        """True when the programme overlaps the window [from, to] (both ends included)."""
        return self.start_year <= window[1] and self.end_year >= window[0]


def _is_iso3(text: str) -> bool:
    # str.isupper/isalpha accept non-ASCII letters ("ÄBC"); ISO 3166 codes are A-Z only.
    return len(text) == 3 and all("A" <= ch <= "Z" for ch in text)


def _parse_year(text: str) -> int | None:
    # str.isdigit accepts other scripts' digits and int() accepts "1_000"; years are 0-9 only.
    if 1 <= len(text) <= 4 and all("0" <= ch <= "9" for ch in text):
        return int(text)
    return None


def _is_instrument(text: str) -> bool:
    # "Others allowed": any code of capital letters and digits (C087, P029, R203, MLC);
    # lower case is rejected because "c029" would otherwise silently match nothing.
    return bool(text) and "A" <= text[0] <= "Z" and all(
        ("A" <= ch <= "Z") or ("0" <= ch <= "9") for ch in text)


class _Problems:
    """Collects `file:line: message` strings for one or more files."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: Path, line: int, message: str) -> None:
        self.items.append(f"{path}:{line}: {message}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:MAX_REPORTED]
        more = len(self.items) - len(shown)
        tail = f"; and {more} more bad row(s)" if more else ""
        noun = "bad row" if len(self.items) == 1 else "bad rows"
        raise InputError(f"{len(self.items)} {noun}: " + "; ".join(shown) + tail)


def _rows(path: Path, columns: tuple[str, ...],
          problems: _Problems) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, row) for each non-blank data row; header faults go to `problems`."""
    try:
        text = path.read_bytes().decode("utf-8-sig")  # tolerate a BOM from spreadsheet tools
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        problems.add(path, 1, f"empty file (expected a header row: {','.join(columns)})")
        return
    missing = [c for c in columns if c not in header]
    unknown = [h for h in header if h not in columns]
    if missing or unknown or len(set(header)) != len(header):
        problems.add(path, 1, f"header {','.join(header)!r} does not match "
                              f"(expected the columns {','.join(columns)})")
        return
    index = {name: header.index(name) for name in columns}
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue  # blank lines (often a trailing one) carry no data
            if len(fields) != len(header):
                problems.add(path, line, f"{len(fields)} fields (expected {len(header)}: "
                                         f"{','.join(header)})")
                continue
            yield line, {name: fields[i].strip() for name, i in index.items()}
    except csv.Error as exc:
        problems.add(path, reader.line_num, f"malformed CSV ({exc})")


def _read_events(path: Path, problems: _Problems) -> list[Event]:
    events: list[Event] = []
    for line, row in _rows(path, EVENT_COLUMNS, problems):
        bad: list[str] = []
        year = _parse_year(row["year"])
        if not _is_iso3(row["iso3"]):
            bad.append(f"iso3 {row['iso3']!r} (expected 3 capital letters A-Z)")
        if year is None:
            bad.append(f"year {row['year']!r} (expected an integer year such as 2021)")
        event, instrument = row["event"], row["instrument"]
        if event not in EVENT_TYPES:
            bad.append(f"event {event!r} (expected one of {', '.join(EVENT_TYPES)})")
        elif event == "tip_watchlist":
            if instrument:
                bad.append(f"instrument {instrument!r} (expected empty for tip_watchlist)")
        elif not _is_instrument(instrument):
            bad.append(f"instrument {instrument!r} (expected an ILO instrument code "
                       f"such as C029, C105, C138, C182, P029)")
        if bad:
            problems.add(path, line, "; ".join(bad))
        else:
            assert year is not None
            events.append(Event(row["iso3"], year, event, instrument, line))
    return events


def _read_programmes(path: Path, problems: _Problems) -> list[Programme]:
    programmes: list[Programme] = []
    # A programme may span several countries (one row each), but one (iso3, id) pair
    # must describe one programme: conflicting repeats would make coverage ambiguous.
    seen: dict[tuple[str, str], tuple[Programme, int]] = {}
    for line, row in _rows(path, PROGRAMME_COLUMNS, problems):
        bad: list[str] = []
        start, end = _parse_year(row["start_year"]), _parse_year(row["end_year"])
        if not _is_iso3(row["iso3"]):
            bad.append(f"iso3 {row['iso3']!r} (expected 3 capital letters A-Z)")
        if not row["programme_id"]:
            bad.append("programme_id is empty (expected an identifier)")
        if start is None:
            bad.append(f"start_year {row['start_year']!r} (expected an integer year)")
        if end is None:
            bad.append(f"end_year {row['end_year']!r} (expected an integer year)")
        if start is not None and end is not None and start > end:
            bad.append(f"start_year {start} after end_year {end} (expected start <= end)")
        if row["focus"] not in FOCUSES:
            bad.append(f"focus {row['focus']!r} (expected one of {', '.join(FOCUSES)})")
        factors = [f.strip() for f in row["acceleration_factors"].split(";") if f.strip()]
        unknown = [f for f in factors if f not in ACCELERATION_FACTORS]
        if unknown:
            bad.append(f"acceleration_factors {', '.join(map(repr, unknown))} (expected a "
                       f"';'-separated subset of {', '.join(ACCELERATION_FACTORS)})")
        if bad:
            problems.add(path, line, "; ".join(bad))
            continue
        assert start is not None and end is not None
        prog = Programme(row["iso3"], row["programme_id"], start, end, row["focus"],
                         frozenset(factors), line)
        key = (prog.iso3, prog.programme_id)
        if key in seen:
            first, first_line = seen[key]
            if _same(first, prog):
                continue  # an exact repeat is a duplicate row: count it once
            problems.add(path, line, f"programme {prog.programme_id!r} in {prog.iso3} "
                                     f"already defined differently on line {first_line} "
                                     f"(expected one row per programme and country)")
            continue
        seen[key] = (prog, line)
        programmes.append(prog)
    return programmes


def _same(a: Programme, b: Programme) -> bool:
    return (a.start_year, a.end_year, a.focus, a.acceleration_factors) == (
        b.start_year, b.end_year, b.focus, b.acceleration_factors)


def _load(path: Path | str, reader: Callable[[Path, _Problems], list]) -> list:
    problems = _Problems()
    result = reader(Path(path), problems)
    problems.raise_if_any()
    return result


def load_events(path: Path | str) -> list[Event]:
    """Read and validate events.csv (`iso3,year,event,instrument`) into `Event`s.

    Raises `InputError` listing every bad row as `file:line: field value (expected ...)`:
    iso3 not three capital letters, a year that is not an integer, an unknown event, a
    missing or malformed instrument code (or one given for `tip_watchlist`). Duplicate rows
    are kept here; the summary counts countries, so they count once there.
    """
    return _load(path, _read_events)


def load_programmes(path: Path | str) -> list[Programme]:
    """Read and validate programmes.csv into `Programme`s, dropping exact duplicate rows.

    Columns `iso3,programme_id,start_year,end_year,focus,acceleration_factors`; focus is one
    of FL, CL, FL+CL, FPRW and the factors a `;`-separated subset of the six acceleration
    factor keys (possibly empty). Raises `InputError` listing every bad row with file and
    line, including a start after the end and one (iso3, programme_id) given twice with
    different contents.
    """
    return _load(path, _read_programmes)


def load_inputs(events_path: Path | str,
                programmes_path: Path | str) -> tuple[list[Event], list[Programme]]:
    """Read and validate both files, reporting the bad rows of both in one `InputError`."""
    problems = _Problems()
    events = _read_events(Path(events_path), problems)
    programmes = _read_programmes(Path(programmes_path), problems)
    problems.raise_if_any()
    return events, programmes
