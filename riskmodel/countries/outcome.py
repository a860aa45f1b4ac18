"""The real-data outcome: the World Bank's share of children aged 7-14 in employment.

`load_outcome` reads the shipped WDI extract (riskmodel/datasets/wdi_child_employment,
see its SOURCE.md: survey years 1994-2014, irregular, 1-7 surveys per country) or any CSV
with the same columns, and validates it: every row needs an ISO 3166-1 alpha-3 code, an
integer year and a total share in [0, 100] percent; a (country, year) may appear once. A
bad row raises `InputError` naming the file and line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from riskmodel.datasets import dataset_path
from riskmodel.errors import InputError
from riskmodel.sources.codes import is_country_code

DEFAULT_OUTCOME = dataset_path("wdi_child_employment/child_employment_7_14.csv")
VALUE_COLUMN = "child_employment_7_14_total_pct"
TARGET = "child_employment_7_14_total_pct"


@dataclass(frozen=True)
class Outcome:
    """Outcome rows: country code, year and value (here the share of children 7-14
    employed, %; the child- and forced-labour readers in `riskmodel.countries.labour`
    fill the same fields with their own units). `origin` names, per row, the series a
    value was taken from where an outcome combines several (None otherwise)."""

    iso3: np.ndarray    # (n,) str
    year: np.ndarray    # (n,) int
    value: np.ndarray   # (n,) float64, percent
    source: str
    origin: np.ndarray | None = field(default=None)  # (n,) str


def load_outcome(path: Path | str | None = None) -> Outcome:
    """Read and validate the outcome CSV (default: the shipped WDI extract)."""
    path = Path(path) if path is not None else DEFAULT_OUTCOME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: outcome file not found") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    need = ("iso3", "year", VALUE_COLUMN)
    if header is None or any(c not in header for c in need):
        raise InputError(f"{path}: line 1: header must have columns {list(need)}, "
                         f"got {header}")
    col = {c: header.index(c) for c in need}
    iso3: list[str] = []
    year: list[int] = []
    value: list[float] = []
    seen: dict[tuple[str, int], int] = {}
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise InputError(f"{path}: line {line}: {len(row)} fields, header has "
                             f"{len(header)}")
        code = row[col["iso3"]].strip()
        if not is_country_code(code):
            raise InputError(f"{path}: line {line}: iso3 {code!r} is not an ISO 3166-1 "
                             f"alpha-3 code")
        try:
            y = int(row[col["year"]])
            v = float(row[col[VALUE_COLUMN]])
        except ValueError:
            raise InputError(f"{path}: line {line}: year {row[col['year']]!r} or "
                             f"{VALUE_COLUMN} {row[col[VALUE_COLUMN]]!r} is not a number"
                             ) from None
        if not (0.0 <= v <= 100.0):
            raise InputError(f"{path}: line {line}: {VALUE_COLUMN} {v} is outside "
                             f"[0, 100] percent")
        if (code, y) in seen:
            raise InputError(f"{path}: line {line}: duplicate row for {code} {y} (first "
                             f"on line {seen[(code, y)]})")
        seen[(code, y)] = line
        iso3.append(code)
        year.append(y)
        value.append(v)
    if not iso3:
        raise InputError(f"{path}: no outcome rows")
    return Outcome(np.array(iso3), np.array(year, dtype=np.int64),
                   np.array(value, dtype=np.float64), str(path))
