"""Programme results partners report: a harmonised CSV, validated, stored, aggregated.

One row per result: `country,sector,programme,period,indicator,value,unit` (UTF-8, header
row, columns in any order; docs/kpi-template.csv). `country` is an ISO 3166-1 alpha-3
code of the reporting partner; `sector` one of `SECTORS`; `programme` an identifier (the
`programme_id` of the targeting inputs where the programme is listed there); `period` a
year `YYYY`, a quarter `YYYY-Qn` or a month `YYYY-MM`; `indicator` one of `INDICATORS`,
with `unit` its fixed unit; `value` a whole count (digits only). Everything in the file is
hostile: no value is coerced, each must match its pattern, and messages quote at most 40
characters of a value with escapes. Every bad row becomes one line `file:row: column ...
(expected ...)`, and a file with any bad row stores nothing.

Results live in a sibling SQLite of the alert store (`interventions_path`), versioned like
it with `PRAGMA user_version`. A file is stored in one transaction: a row replaces the one
with the same partner, country, sector, programme, period and indicator (a corrected file
is simply imported again); a period that overlaps another period of the same series (2024
and 2024-Q1, say) is refused, so sums never count a result twice.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sqlite3
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from riskmodel.errors import InputError
from riskmodel.io.sqlite import VersionedSqlite
from riskmodel.sources.codes import is_country_code

COLUMNS = ("country", "sector", "programme", "period", "indicator", "value", "unit")


@dataclass(frozen=True)
class Indicator:
    """One harmonised programme-result indicator and its fixed unit."""

    name: str
    unit: str
    label: str
    definition: str


_INDICATORS = (
    Indicator("children_withdrawn", "children", "children withdrawn from child labour",
              "Children who were in child labour and left it with the programme's support "
              "(each child counted once per period)."),
    Indicator("children_prevented", "children", "children prevented from child labour",
              "Children at risk who were kept from entering child labour (schooling, "
              "family support), each counted once per period."),
    Indicator("workers_reached", "workers", "workers reached",
              "Workers the programme informed, trained, organised or gave services to, "
              "each counted once per period."),
    Indicator("inspections", "inspections", "inspections carried out",
              "Labour inspections (workplace visits) carried out under the programme."),
    Indicator("victims_assisted", "persons", "victims assisted",
              "Victims of forced labour or trafficking given assistance (shelter, legal, "
              "medical, reintegration), each counted once per period."),
)
INDICATORS: dict[str, Indicator] = {i.name: i for i in _INDICATORS}
# Broad economic sectors (ISIC sections grouped as programmes report them); `all` for a
# result that is not split by sector.
SECTORS = ("agriculture", "fishing", "forestry", "mining", "manufacturing", "construction",
           "domestic_work", "hospitality", "trade", "transport", "services", "other", "all")
PROGRAMME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PERIOD_RE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")
VALUE_RE = re.compile(r"^[0-9]{1,10}$")
MAX_BYTES = 20_000_000
MAX_ROWS = 200_000
MAX_REPORTED = 50  # bad rows listed; beyond, one line says how many more

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: results (one per partner and series and period) and the import log.
    """
    CREATE TABLE results (
        partner TEXT NOT NULL, country TEXT NOT NULL, sector TEXT NOT NULL,
        programme TEXT NOT NULL, period TEXT NOT NULL, first_month TEXT NOT NULL,
        last_month TEXT NOT NULL, indicator TEXT NOT NULL, value INTEGER NOT NULL,
        unit TEXT NOT NULL, source TEXT NOT NULL, recorded_at TEXT NOT NULL,
        PRIMARY KEY (partner, country, sector, programme, period, indicator)
    );
    CREATE INDEX results_country ON results (country, sector, indicator);
    CREATE TABLE imports (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, partner TEXT NOT NULL, file TEXT NOT NULL,
        sha256 TEXT NOT NULL, rows INTEGER NOT NULL, recorded_at TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def interventions_path(alert_store: Path | str) -> Path:
    """The results store beside an alert store: `<stem>.interventions.sqlite`."""
    p = Path(alert_store)
    return p.with_name(p.stem + ".interventions.sqlite")


def period_months(period: str) -> tuple[str, str] | None:
    """First and last month (YYYY-MM) of a period `YYYY`, `YYYY-Qn` or `YYYY-MM`; None if
    the text is none of these."""
    m = PERIOD_RE.fullmatch(period)
    if not m:
        return None
    year, month, quarter = m.groups()
    if month:
        return f"{year}-{month}", f"{year}-{month}"
    if quarter:
        q = int(quarter)
        return f"{year}-{3 * q - 2:02d}", f"{year}-{3 * q:02d}"
    return f"{year}-01", f"{year}-12"


@dataclass(frozen=True)
class Result:
    """One validated row of a results file; `line` is for messages."""

    country: str
    sector: str
    programme: str
    period: str
    first_month: str
    last_month: str
    indicator: str
    value: int
    unit: str
    line: int

    def series(self) -> tuple[str, str, str, str]:
        """What a period belongs to: country, sector, programme, indicator."""
        return (self.country, self.sector, self.programme, self.indicator)


@dataclass
class ImportResult:
    """What an import did: rows stored (0 when any row was bad) and one line per bad row."""

    stored: int = 0
    errors: list[str] = field(default_factory=list)


def _show(v: str) -> str:
    return repr(v[:40] + ("..." if len(v) > 40 else ""))


def _check_row(row: dict[str, str], countries: Collection[str]) -> tuple[list[str], Any]:
    bad: list[str] = []
    country = row["country"]
    if not (len(country) == 3 and country.isascii() and is_country_code(country)):
        bad.append(f"country {_show(country)} (expected an ISO 3166-1 alpha-3 code such as "
                   f"KEN)")
    elif country not in countries:
        bad.append(f"country {_show(country)} (expected one of the partner's countries: "
                   f"{', '.join(sorted(countries)) or 'none'})")
    if row["sector"] not in SECTORS:
        bad.append(f"sector {_show(row['sector'])} (expected one of {', '.join(SECTORS)})")
    if not PROGRAMME_RE.fullmatch(row["programme"]):
        bad.append(f"programme {_show(row['programme'])} (expected an identifier: letters, "
                   f"digits, '.', '_' or '-', starting with a letter or digit, at most 64)")
    months = period_months(row["period"])
    if months is None:
        bad.append(f"period {_show(row['period'])} (expected YYYY, YYYY-Qn or YYYY-MM)")
    ind = INDICATORS.get(row["indicator"])
    if ind is None:
        bad.append(f"indicator {_show(row['indicator'])} (expected one of "
                   f"{', '.join(INDICATORS)})")
    elif row["unit"] != ind.unit:
        bad.append(f"unit {_show(row['unit'])} (expected {ind.unit!r} for {ind.name})")
    if not VALUE_RE.fullmatch(row["value"]):
        bad.append(f"value {_show(row['value'])} (expected a whole count: digits 0-9 only)")
    return bad, months


def _rows(path: Path, errors: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: {size} bytes (expected at most {MAX_BYTES})")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        errors.append(f"{path}:1: empty file (expected a header row: {','.join(COLUMNS)})")
        return
    except csv.Error as exc:
        errors.append(f"{path}:1: malformed CSV header ({exc})")
        return
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        what = (([f"missing {', '.join(missing)}"] if missing else [])
                + ([f"unknown {', '.join(_show(u) for u in unknown)}"] if unknown else [])
                + (["a column twice"] if len(set(header)) != len(header) else []))
        errors.append(f"{path}:1: header {'; '.join(what)} (expected the columns "
                      f"{','.join(COLUMNS)} in any order)")
        return
    index = {name: header.index(name) for name in COLUMNS}
    n = 0
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            n += 1
            if n > MAX_ROWS:
                raise InputError(f"{path}: more than {MAX_ROWS} rows (split the file)")
            if len(fields) != len(header):
                errors.append(f"{path}:{line}: {len(fields)} fields (expected "
                              f"{len(header)}: {','.join(header)})")
                continue
            yield line, {name: fields[i].strip() for name, i in index.items()}
    except csv.Error as exc:
        errors.append(f"{path}:{reader.line_num}: malformed CSV ({exc})")


def read_results(path: Path | str, countries: Collection[str]) -> tuple[list[Result],
                                                                          list[str]]:
    """Validate a results file for a partner covering `countries`: (valid rows, one line
    per bad row). Two rows of one series and period, or with overlapping periods, are bad."""
    p = Path(path)
    errors: list[str] = []
    out: list[Result] = []
    seen: dict[tuple[str, ...], list[Result]] = {}
    for line, row in _rows(p, errors):
        bad, months = _check_row(row, countries)
        if bad:
            errors.append(f"{p}:{line}: " + "; ".join(bad))
            continue
        r = Result(row["country"], row["sector"], row["programme"], row["period"],
                   months[0], months[1], row["indicator"], int(row["value"]), row["unit"],
                   line)
        clash = next((o for o in seen.get(r.series(), []) if _overlap(o, r)), None)
        if clash is not None:
            errors.append(f"{p}:{line}: period {r.period!r} overlaps period "
                          f"{clash.period!r} of the same country, sector, programme and "
                          f"indicator on row {clash.line} (expected each result once)")
            continue
        seen.setdefault(r.series(), []).append(r)
        out.append(r)
    return out, errors


def _overlap(a: Any, b: Any) -> bool:
    return a.first_month <= b.last_month and b.first_month <= a.last_month


class ResultsStore(VersionedSqlite):
    """The programme-results SQLite beside an alert store; a context manager (opening,
    pragmas, migrations and transactions are `riskmodel.io.sqlite`'s)."""

    what = "results store"
    missing = ("no programme results store here (import a results file first: riskmodel "
               "kpis import)")
    migrations = MIGRATIONS

    def rows(self, partner: str | None = None) -> list[dict[str, Any]]:
        """Stored results (of one partner with `partner`), in key order."""
        q, args = "SELECT * FROM results", []
        if partner is not None:
            q, args = q + " WHERE partner=?", [partner]
        self.db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in self.db.execute(
                q + " ORDER BY partner, country, sector, programme, indicator, first_month",
                args)]
        finally:
            self.db.row_factory = None


def import_results(store: ResultsStore, path: Path | str, *, partner: str,
                   countries: Collection[str], now: datetime | None = None) -> ImportResult:
    """Validate `path` for `partner` (who covers `countries`) and store it in one transaction.

    Any bad row, or a period overlapping a stored period of the partner's same series
    (other than the same period, which is replaced), stores nothing: `errors` then lists
    one line per problem (at most `MAX_REPORTED`, then a count).
    """
    p = Path(path)
    res = ImportResult()
    results, res.errors = read_results(p, countries)
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    with store.transaction() as db:
        if not res.errors:
            stored: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}
            for c, s, g, ind, per, fm, lm in db.execute(
                    "SELECT country, sector, programme, indicator, period, first_month, "
                    "last_month FROM results WHERE partner=?", (partner,)):
                stored.setdefault((c, s, g, ind), []).append((per, fm, lm))
            for r in results:
                for per, fm, lm in stored.get(r.series(), []):
                    if per != r.period and fm <= r.last_month and r.first_month <= lm:
                        res.errors.append(
                            f"{p}:{r.line}: period {r.period!r} overlaps the stored period "
                            f"{per!r} of the same country, sector, programme and indicator "
                            f"(expected the same period, to replace it, or a disjoint one)")
                        break
        if not res.errors:
            db.executemany("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                           [(partner, r.country, r.sector, r.programme, r.period,
                             r.first_month, r.last_month, r.indicator, r.value, r.unit,
                             f"{p.name}:{r.line}", stamp) for r in results])
            db.execute("INSERT INTO imports (partner, file, sha256, rows, recorded_at) "
                       "VALUES (?,?,?,?,?)",
                       (partner, p.name, hashlib.sha256(p.read_bytes()).hexdigest(),
                        len(results), stamp))
            res.stored = len(results)
    if len(res.errors) > MAX_REPORTED:
        more = len(res.errors) - MAX_REPORTED
        res.errors = res.errors[:MAX_REPORTED] + [f"{p}: and {more} more bad row(s)"]
    return res


def aggregate(rows: list[dict[str, Any]], *, start: str | None = None,
              end: str | None = None, by: tuple[str, ...] = ("country", "sector")
              ) -> list[dict[str, Any]]:
    """Sum stored results per `by` and indicator over periods inside [`start`, `end`].

    A result counts when its whole period lies in the month range (a year half inside is
    left out, and counted in `partial` so the reader knows). Each output row: the `by`
    values, `indicator`, `unit`, `value` (sum), `results` (rows summed), `programmes`
    (sorted ids), `partners` (how many reported), `partial`, and `reason` (why `value`
    is None: every result of the group runs past the range).
    """
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for r in rows:
        key = (*(r[d] for d in by), r["indicator"])
        g = groups.setdefault(key, {**{d: r[d] for d in by}, "indicator": r["indicator"],
                                    "unit": r["unit"], "value": 0, "results": 0,
                                    "programmes": set(), "partners": set(), "partial": 0})
        inside = (not start or r["first_month"] >= start) and (not end or r["last_month"] <= end)
        touches = (not start or r["last_month"] >= start) and (not end or r["first_month"] <= end)
        if inside:
            g["value"] += int(r["value"])
            g["results"] += 1
            g["programmes"].add(r["programme"])
            g["partners"].add(r["partner"])
        elif touches:
            g["partial"] += 1
    out = []
    for key in sorted(groups):
        g = groups[key]
        if not g["results"] and not g["partial"]:
            continue
        g["programmes"] = sorted(g["programmes"])
        g["partners"] = len(g["partners"])
        # Only periods running past the range: no sum to give, and 0 would be a claim.
        g["value"] = g["value"] if g["results"] else None
        g["reason"] = None if g["results"] else "every reported period runs past the range"
        out.append(g)
    return out
