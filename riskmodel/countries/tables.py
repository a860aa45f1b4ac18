"""Strict reading of the shipped long-format CSV tables behind the real outcomes.

`read_rows` yields one dict per data row with the line number, after checking the header
has the columns asked for and every row has as many fields as the header. `country`,
`integer` and `number` parse one field or raise `InputError` naming the file, line and
column and what was expected, so a bad cell is one clear line, never a traceback.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from riskmodel.errors import InputError
from riskmodel.sources.codes import is_country_code


def read_rows(path: Path, need: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) of every non-empty data row of CSV `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or any(c not in header for c in need):
        raise InputError(f"{path}: line 1: header must have columns {list(need)}, "
                         f"got {header}")
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise InputError(f"{path}: line {line}: {len(row)} fields, header has "
                             f"{len(header)}")
        yield line, dict(zip(header, row))


def country(path: Path, line: int, row: dict[str, str], column: str = "iso3") -> str:
    """The ISO 3166-1 alpha-3 code in `column`, or `InputError`."""
    code = row[column].strip()
    if not is_country_code(code):
        raise InputError(f"{path}: line {line}: column {column}: {code!r} is not an ISO "
                         f"3166-1 alpha-3 code")
    return code


def integer(path: Path, line: int, row: dict[str, str], column: str) -> int:
    """The integer in `column`, or `InputError`."""
    try:
        return int(row[column])
    except ValueError:
        raise InputError(f"{path}: line {line}: column {column}: {row[column]!r} is not an "
                         f"integer") from None


def number(path: Path, line: int, row: dict[str, str], column: str, *,
           low: float = float("-inf"), high: float = float("inf"),
           unit: str = "") -> float:
    """The finite number in `column` within [low, high], or `InputError`."""
    try:
        v = float(row[column])
    except ValueError:
        raise InputError(f"{path}: line {line}: column {column}: {row[column]!r} is not a "
                         f"number") from None
    if not (low <= v <= high):  # also refuses NaN
        raise InputError(f"{path}: line {line}: column {column}: {v} is outside "
                         f"[{low:g}, {high:g}]{' ' + unit if unit else ''}")
    return v
