"""CSV tables keyed by ISO 3166-1 alpha-3 country codes (or admin-1 codes, or sub-national
region codes with a country column), read into (year, country), (year, admin1) or
(year, region) arrays with every problem named by file, row and column.

Layouts: `long` has one row per (code, year) and one column per variable (the World Bank,
OWID, TIP and ILAB extracts); `wide` has one row per code and one column per year for a
single variable (the World Bank download layout). Errors (one `InputError`, nothing
returned): missing columns, ragged rows, unknown codes, duplicate keys, non-integer years,
non-numeric or non-finite values, unknown categories; for region tables also a malformed
region code, an unknown country code, or a region whose country changes between rows.
Gaps (empty cells, missing years of a code) are kept as NaN and summarised as notices,
never filled.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from riskmodel.config import CsvSource, VariableMap
from riskmodel.errors import InputError
from riskmodel.sources.codes import is_admin1_code, is_country_code, is_region_code
from riskmodel.sources.notices import Notices

MAX_SHOWN = 3  # problems quoted in one error message


class _Problems:
    """Collects row-level problems; raises one InputError quoting the first few."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, text: str) -> None:
        self.items.append(text)

    def raise_if_any(self) -> None:
        if self.items:
            shown = "; ".join(self.items[:MAX_SHOWN])
            more = len(self.items) - MAX_SHOWN
            tail = f"; and {more} more problem(s)" if more > 0 else ""
            raise InputError(f"{self.path}: {shown}{tail}")


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{path}: empty file (no header row)") from None
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: {exc}") from None
    rows = []
    try:
        for fields in reader:
            if fields and "".join(fields).strip():
                rows.append((reader.line_num, fields))
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"{path}: header repeats column(s) {dup}")
    return header, rows


def parse_value(text: str, vmap: VariableMap) -> float | str:
    """A cell's number (scaled), NaN for an empty cell, or an error message (a str)."""
    s = text.strip()
    if s == "":
        return math.nan
    if vmap.categories is not None:
        # The longest key the label starts with: qualified labels map with their base label.
        hits = [k for k in vmap.categories if s.startswith(k)]
        if not hits:
            return f"unknown category {s!r} (known: {sorted(vmap.categories)})"
        return float(vmap.categories[max(hits, key=len)])
    try:
        v = float(s)
    except ValueError:
        return f"{s!r} is not a number"
    if not math.isfinite(v):
        return f"{s!r} is not a finite number"
    if not math.isfinite(v * vmap.scale):  # 1e308 x scale overflows: check what is stored
        return f"{s!r} x scale {vmap.scale:g} is not a finite number"
    return v * vmap.scale


def _check_code(code: str, key: str) -> str | None:
    if key == "region":
        if is_region_code(code):
            return None
        return (f"malformed region code {code[:40]!r} (expected letters, digits, '.', '_' "
                f"or '-', at most 32)")
    ok = is_admin1_code(code) if key == "admin1" else is_country_code(code)
    if ok:
        return None
    kind = "admin-1 code (ISO3-local)" if key == "admin1" else "ISO 3166-1 alpha-3 code"
    return f"unknown {kind} {code!r}"


@dataclass
class _RegionKeys:
    """Each region's country and whether its rows are national (key = region only)."""

    country: dict[str, str]
    national: dict[str, bool]
    first_line: dict[str, int]
    columns: list[int] = field(default_factory=list)  # country, level (-1: none)

    def add(self, line: int, fields: list[str], header: list[str], code: str,
            source: CsvSource, problems: _Problems) -> bool:
        """Record the row's country and level; False (and a problem) when they are wrong."""
        assert source.country_column is not None
        if not self.columns:
            self.columns = [header.index(source.country_column),
                            header.index(source.level_column) if source.level_column else -1]
        country = fields[self.columns[0]].strip()
        if not is_country_code(country):
            problems.add(f"row {line}, column {source.country_column}: unknown ISO 3166-1 "
                         f"alpha-3 code {country[:40]!r}")
            return False
        national = (self.columns[1] >= 0 and
                    fields[self.columns[1]].strip() == source.national_level)
        if code in self.country and (self.country[code], self.national[code]) != (
                country, national):
            problems.add(f"row {line}: region {code} has country {country} "
                         f"{'(national)' if national else ''} but row "
                         f"{self.first_line[code]} gave {self.country[code]}"
                         f"{' (national)' if self.national[code] else ''}")
            return False
        self.country.setdefault(code, country)
        self.national.setdefault(code, national)
        self.first_line.setdefault(code, line)
        return True


def read_csv_table(path: Path, source: CsvSource, years: tuple[int, int],
                   notices: Notices, *, open_end: bool = False,
                   parsed: tuple[list[str], list[tuple[int, list[str]]]] | None = None,
                   ) -> xr.Dataset:
    """Read `path` as described by `source` into a Dataset of float64 variables on
    (year, <key>) for the years `years` (inclusive; rows outside are ignored), in the
    canonical names and units of `source.variables` (values x scale). With `open_end` the
    year axis ends at the file's last year within `years`; `parsed` is the file's
    `read_rows` when already read (two inputs of one file). Codes are sorted; skipped codes
    and gaps are added to `notices`. Raises `InputError` naming the file, row and column of
    the first problems.
    """
    header, rows = read_rows(path) if parsed is None else parsed
    problems = _Problems(path)
    if source.code_column not in header:
        raise InputError(f"{path}: no column {source.code_column!r} (the code column); "
                         f"columns are {header}")
    keys = _RegionKeys({}, {}, {}) if source.key == "region" else None
    if source.layout == "long":
        cells = _long_cells(path, header, rows, source, years, problems, notices, keys)
    else:
        cells = _wide_cells(path, header, rows, source, years, problems, notices)
    problems.raise_if_any()
    if open_end and cells.years:
        years = (years[0], max(cells.years))
    ds = _to_dataset(path, cells, source, years, notices)
    if keys is not None:
        codes = [str(c) for c in ds["region"].values]
        ds = ds.assign_coords(
            region_country=("region", [keys.country[c] for c in codes]),
            region_national=("region", [keys.national[c] for c in codes]))
    return ds


_checked: dict[tuple[str, str], str | None] = {}


def _row_code(line: int, fields: list[str], header: list[str], ic: int, source: CsvSource,
              problems: _Problems, skipped: set[str]) -> str | None:
    """The row's region code, or None when the row is malformed (reported to `problems`)
    or its code is one the source skips (added to `skipped`)."""
    if len(fields) != len(header):
        problems.add(f"row {line}: {len(fields)} fields, the header has {len(header)}")
        return None
    code = fields[ic].strip()
    if code in source.skip_codes:
        skipped.add(code)
        return None
    bad = _checked.get((code, source.key), "?")
    if bad == "?":  # each distinct code is checked once per process
        bad = _checked.setdefault((code, source.key), _check_code(code, source.key))
    if bad:
        problems.add(f"row {line}, column {source.code_column}: {bad}")
        return None
    return code


@dataclass
class _Entries:
    """Parsed cells: entry i is (codes[i], years[i]) with values[name][i] per variable."""

    codes: list[str]
    years: list[int]
    values: dict[str, np.ndarray]


def _parse_column(texts: list[str], lines: list[int], vmap: VariableMap, column: str,
                  problems: _Problems) -> np.ndarray:
    """A column's values (scaled; NaN for empty cells) in one vectorised pass; a bad cell
    sends the column through `parse_value` cell by cell, which names each problem."""
    stripped = [t.strip() for t in texts]
    out = np.full(len(texts), np.nan)
    if vmap.categories is None:
        filled = [i for i, t in enumerate(stripped) if t]
        try:
            raw = np.array([stripped[i] for i in filled], dtype=np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                scaled = raw * vmap.scale
            if np.isfinite(scaled).all():
                out[filled] = scaled
                return out
        except ValueError:
            pass
    known: dict[str, float | str] = {}
    for i, t in enumerate(stripped):
        v = known.setdefault(t, parse_value(t, vmap))
        if isinstance(v, str):
            problems.add(f"row {lines[i]}, column {column}: {v}")
        else:
            out[i] = v
    return out


def _long_cells(path: Path, header: list[str], rows: list[tuple[int, list[str]]],
                source: CsvSource, years: tuple[int, int], problems: _Problems,
                notices: Notices, keys: _RegionKeys | None = None) -> _Entries:
    needed = [source.year_column] + [v.column for v in source.variables.values()
                                     if v.column is not None]
    needed += [c for c in (source.country_column, source.level_column) if c is not None]
    missing = [c for c in needed if c not in header]
    if missing:
        raise InputError(f"{path}: no column(s) {missing}; columns are {header}")
    ic, iy = header.index(source.code_column), header.index(source.year_column)
    cols = {name: header.index(v.column) for name, v in source.variables.items()
            if v.column is not None}
    first_line: dict[tuple[str, int], int] = {}
    skipped: set[str] = set()
    kept: list[list[str]] = []
    codes: list[str] = []
    row_years: list[int] = []
    lines: list[int] = []
    for line, fields in rows:
        code = _row_code(line, fields, header, ic, source, problems, skipped)
        if code is None:
            continue
        try:
            year = int(fields[iy].strip())
        except ValueError:
            problems.add(f"row {line}, column {source.year_column}: "
                         f"{fields[iy].strip()!r} is not a year")
            continue
        if keys is not None and not keys.add(line, fields, header, code, source, problems):
            continue
        if not years[0] <= year <= years[1]:
            continue
        key = (code, year)
        if key in first_line:
            problems.add(f"rows {first_line[key]} and {line} both have key {code} {year}")
            continue
        first_line[key] = line
        kept.append(fields)
        codes.append(code)
        row_years.append(year)
        lines.append(line)
    values = {name: _parse_column([f[j] for f in kept], lines, source.variables[name],
                                  header[j], problems) for name, j in cols.items()}
    if skipped:
        notices.add(f"{path}: skipped code(s) {sorted(skipped)} (skip_codes)")
    return _Entries(codes, row_years, values)


def _wide_cells(path: Path, header: list[str], rows: list[tuple[int, list[str]]],
                source: CsvSource, years: tuple[int, int], problems: _Problems,
                notices: Notices) -> _Entries:
    (name, vmap), = source.variables.items()
    year_cols = {j: int(h) for j, h in enumerate(header) if h.isdigit() and len(h) == 4}
    if not year_cols:
        raise InputError(f"{path}: a wide table needs year columns (e.g. 2010); columns "
                         f"are {header}")
    ic = header.index(source.code_column)
    entries = _Entries([], [], {name: np.zeros(0)})
    values: list[float] = []
    first_line: dict[str, int] = {}
    skipped: set[str] = set()
    for line, fields in rows:
        code = _row_code(line, fields, header, ic, source, problems, skipped)
        if code is None:
            continue
        if code in first_line:
            problems.add(f"rows {first_line[code]} and {line} both have code {code}")
            continue
        first_line[code] = line
        for j, year in year_cols.items():
            if not years[0] <= year <= years[1]:
                continue
            v = parse_value(fields[j], vmap)
            if isinstance(v, str):
                problems.add(f"row {line}, column {header[j]}: {v}")
            else:
                entries.codes.append(code)
                entries.years.append(year)
                values.append(v)
    entries.values[name] = np.asarray(values, dtype=np.float64)
    if skipped:
        notices.add(f"{path}: skipped code(s) {sorted(skipped)} (skip_codes)")
    return entries


def _to_dataset(path: Path, entries: _Entries, source: CsvSource, years: tuple[int, int],
                notices: Notices) -> xr.Dataset:
    codes = sorted(set(entries.codes))
    if not codes:
        raise InputError(f"{path}: no rows for years {years[0]}-{years[1]}")
    year_axis = np.arange(years[0], years[1] + 1)
    ci = {c: i for i, c in enumerate(codes)}
    col = np.asarray([ci[c] for c in entries.codes], dtype=np.int64)
    row = np.asarray(entries.years, dtype=np.int64) - years[0]
    data = {}
    for name in source.variables:
        arr = np.full((len(year_axis), len(codes)), np.nan)
        arr[row, col] = entries.values[name]
        vmap = source.variables[name]
        data[name] = xr.DataArray(arr, dims=("year", source.key),
                                  attrs={"units": vmap.units,
                                         "source": f"{path.name}:{vmap.column or 'years'}"})
        gaps = int(np.isnan(arr).sum())
        if gaps:
            t, k = np.argwhere(np.isnan(arr))[0]
            notices.add(f"{path}: {name} ({vmap.column or 'year columns'}): {gaps} of "
                        f"{arr.size} {source.key}-years are gaps (kept NaN), first "
                        f"{codes[k]} {year_axis[t]}")
    return xr.Dataset(data, coords={"year": year_axis, source.key: codes})
