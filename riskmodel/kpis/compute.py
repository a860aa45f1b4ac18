"""The catalogue's KPIs computed from an alert store, per partner, country, target and period.

`compute_kpis` reads five tables of an open store connection once (alerts, the first CAP
message of each alert, acknowledgements in the history, feedback outcomes, processed runs)
and groups the alerts opened in a month range by any of `partner`, `country`, `target`
and `period` (month, quarter or year of the month the alert opened). A partner's rows see
only the alerts it covers (`covers`, the gate of every feed) and only its own
acknowledgements and outcomes; rows of all partners count an alert as visited when any
partner that covers it visited it. Every value carries its numerator, denominator or
count, and a KPI without data is `None` with the catalogue's reason, never 0.

Partners are anything with an `id` and a `covers(alert)` method (the alert store's
`Partner`): this module reads the store's tables directly and sits below the alert code.
"""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Protocol

from riskmodel.errors import InputError
from riskmodel.kpis.catalogue import CATALOGUE

DIMENSIONS = ("partner", "country", "target", "period")
PERIODS = ("month", "quarter", "year")
VISITED = ("confirmed", "not_found")  # outcomes that mean a visit happened
ALL_PARTNERS = "*"
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PartnerLike(Protocol):
    """What the KPIs need of a partner: its id and the coverage gate."""

    id: str

    def covers(self, alert: dict[str, Any]) -> bool: ...


@dataclass(frozen=True)
class KpiValue:
    """One KPI of one group: `value` (None with `reason` when there is none), the
    `numerator`/`denominator` of a ratio, and `n` (denominator of a ratio, number of
    durations of a median)."""

    value: float | None
    n: int
    numerator: float | None = None
    denominator: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "n": self.n, "numerator": self.numerator,
                "denominator": self.denominator, "reason": self.reason}


@dataclass
class KpiRow:
    """The KPIs of one group: `key` maps each grouped dimension to its value."""

    key: dict[str, str]
    values: dict[str, KpiValue]
    alerts: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.key, "alerts": self.alerts,
                "kpis": {k: v.to_dict() for k, v in self.values.items()}}


@dataclass
class KpiReport:
    """Rows per group, the total over every alert in range, and what was asked."""

    by: tuple[str, ...]
    period: str
    start: str | None
    end: str | None
    rows: list[KpiRow]
    total: KpiRow
    partners: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"by": list(self.by), "period": self.period, "from": self.start,
                "to": self.end, "partners": self.partners,
                "catalogue": [k.describe() for k in CATALOGUE.values()],
                "total": self.total.to_dict(), "rows": [r.to_dict() for r in self.rows]}


def check_month(text: str | None, what: str) -> str | None:
    """`text` if it is a month YYYY-MM (None passes); InputError naming `what` otherwise."""
    if text is None:
        return None
    if not isinstance(text, str) or not MONTH_RE.match(text):
        raise InputError(f"{what} {str(text)[:40]!r} is not a month (expected YYYY-MM)")
    return text


def period_of(month: str, period: str) -> str:
    """The period label of a month YYYY-MM: itself, `YYYY-Qn` or `YYYY`."""
    if period == "month":
        return month
    if period == "quarter":
        return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"
    return month[:4]


def _utc(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        t = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class _Store:
    """The store's rows the KPIs need, read once."""

    alerts: list[dict[str, Any]]
    first_sent: dict[str, datetime]
    acks: dict[str, list[tuple[str, datetime]]]  # alert -> (partner, at)
    outcomes: dict[str, list[tuple[str, str, date | None]]]  # alert -> (partner, outcome, day)
    months: list[str]


def _read(db: sqlite3.Connection, start: str | None, end: str | None) -> _Store:
    q = ("SELECT alert_id, target, country, admin1, area_key, opened_as_of, population, "
         "child_population FROM alerts WHERE 1=1")
    args: list[Any] = []
    if start:
        q += " AND substr(opened_as_of, 1, 7) >= ?"
        args.append(start)
    if end:
        q += " AND substr(opened_as_of, 1, 7) <= ?"
        args.append(end)
    alerts = []
    for r in db.execute(q + " ORDER BY alert_id", args):
        a = {"alert_id": r[0], "target": r[1], "country": r[2], "admin1": json.loads(r[3]),
             "area_key": r[4], "month": str(r[5])[:7], "population": r[6],
             "child_population": r[7]}
        alerts.append(a)
    first_sent: dict[str, datetime] = {}
    for aid, sent in db.execute("SELECT alert_id, min(sent) FROM messages GROUP BY alert_id"):
        t = _utc(sent)
        if t is not None:
            first_sent[aid] = t
    acks: dict[str, list[tuple[str, datetime]]] = {}
    for aid, at, detail in db.execute("SELECT alert_id, at, detail FROM history WHERE "
                                      "to_state='acknowledged' ORDER BY seq"):
        t = _utc(at)
        who = json.loads(detail).get("partner") if detail else None
        if t is not None and isinstance(who, str):
            acks.setdefault(aid, []).append((who, t))
    outcomes: dict[str, list[tuple[str, str, date | None]]] = {}
    for aid, partner, outcome, observed in db.execute(
            "SELECT alert_id, partner, outcome, observed_on FROM feedback"):
        outcomes.setdefault(aid, []).append((partner, outcome, _day(observed)))
    # Periods recorded as history only (before a store's first delivery) sent nothing.
    months = [str(m)[:7] for (m,) in db.execute(
        "SELECT as_of FROM runs WHERE json_extract(summary, '$.history_only') IS NULL "
        "ORDER BY as_of")]
    months = [m for m in months if (not start or m >= start) and (not end or m <= end)]
    return _Store(alerts, first_sent, acks, outcomes, months)


@dataclass
class _Fact:
    """One alert as one scope (a partner, or all partners) sees it."""

    alert: dict[str, Any]
    partner: str
    visits: int  # partner outcomes that are visits
    confirmed_visits: int
    visited: bool
    confirmed: bool
    ack_days: float | None
    visit_days: int | None
    confirmed_on: date | None
    people: float


def _fact(a: dict[str, Any], scope: str, store: _Store,
          gate: dict[str, PartnerLike] | None) -> _Fact:
    """The alert `a` seen by partner `scope` (or ALL_PARTNERS): its own outcomes only."""
    aid = a["alert_id"]

    def mine(who: str) -> bool:
        if scope != ALL_PARTNERS:
            return who == scope
        # All partners: a partner's word counts only on an alert it covers (as for labels).
        return gate is None or (who in gate and gate[who].covers(a))

    outs = [(o, d) for who, o, d in store.outcomes.get(aid, []) if mine(who)]
    visits = [(o, d) for o, d in outs if o in VISITED]
    confirmed = [d for o, d in visits if o == "confirmed"]
    sent = store.first_sent.get(aid)
    acked = [t for who, t in store.acks.get(aid, []) if mine(who)]
    ack_days = ((min(acked) - sent).total_seconds() / 86400.0) if acked and sent else None
    days = [d for _, d in visits if d is not None]
    visit_days = (min(days) - sent.date()).days if days and sent else None
    confirmed_days = [d for d in confirmed if d is not None]
    people = a["child_population"] if a["target"] == "cl" else a["population"]
    return _Fact(a, scope, len(visits), len(confirmed), bool(visits), bool(confirmed),
                 ack_days, visit_days, min(confirmed_days) if confirmed_days else None,
                 float(people or 0.0))


def _ratio(num: float, den: float, name: str, n: int | None = None) -> KpiValue:
    """num / den, or None with the catalogue's reason; `n` (default `den`) counts the
    items behind the denominator (alerts behind a population sum, say)."""
    count = int(den) if n is None else n
    if den <= 0:
        return KpiValue(None, count, num, den, CATALOGUE[name].empty)
    return KpiValue(num / den, count, num, den)


def _median(values: list[float], name: str) -> KpiValue:
    if not values:
        return KpiValue(None, 0, reason=CATALOGUE[name].empty)
    return KpiValue(float(statistics.median(values)), len(values))


def kpi_values(facts: Sequence[_Fact], n_periods: int) -> dict[str, KpiValue]:
    """Every catalogue KPI of one group of alert facts; `n_periods` periods in range."""
    visited = [f for f in facts if f.visited]
    first: dict[tuple[str, str], date] = {}  # area -> first day of its first alert's month
    found: dict[tuple[str, str], date] = {}  # area -> first confirmed visit
    for f in facts:
        area = (f.alert["target"], f.alert["area_key"])
        opened = date(int(f.alert["month"][:4]), int(f.alert["month"][5:7]), 1)
        first[area] = min(first.get(area, opened), opened)
        if f.confirmed_on is not None:
            found[area] = min(found.get(area, f.confirmed_on), f.confirmed_on)
    out = {
        "alert_precision": _ratio(sum(f.confirmed for f in visited), len(visited),
                                  "alert_precision"),
        "share_visited": _ratio(len(visited), len(facts), "share_visited"),
        "time_to_acknowledge": _median([f.ack_days for f in facts if f.ack_days is not None],
                                       "time_to_acknowledge"),
        "time_to_visit": _median([float(f.visit_days) for f in facts
                                  if f.visit_days is not None], "time_to_visit"),
        "lead_time": _median([float((found[a] - first[a]).days) for a in sorted(found)],
                             "lead_time"),
        "cases_per_visit": _ratio(sum(f.confirmed_visits for f in facts),
                                  sum(f.visits for f in facts), "cases_per_visit"),
        "population_covered": _ratio(sum(f.people for f in visited),
                                     sum(f.people for f in facts), "population_covered",
                                     n=len(facts)),
        "alerts_per_period": _ratio(len(facts), n_periods, "alerts_per_period"),
    }
    assert list(out) == list(CATALOGUE), "compute every catalogue KPI, in its order"
    return out


def compute_kpis(db: sqlite3.Connection, *, partners: Iterable[PartnerLike] = (),
                 partner: str | None = None,
                 by: Sequence[str] = DIMENSIONS, start: str | None = None,
                 end: str | None = None, period: str = "month") -> KpiReport:
    """The KPIs of the alerts opened in months [`start`, `end`] (YYYY-MM, both included).

    `by` names the dimensions rows are grouped by (any of `DIMENSIONS`); the report's
    `total` groups nothing. With `partner`, everything (rows and total) is that partner's
    view only: its alerts, its acknowledgements, its outcomes. Without it, rows grouped by
    partner hold one row per configured partner with alerts, and the other rows (and the
    total) are all partners together (partner `*`).
    """
    by = tuple(by)
    bad = [d for d in by if d not in DIMENSIONS]
    if bad or len(set(by)) != len(by):
        raise InputError(f"--by {','.join(by)}: expected distinct names among "
                         f"{', '.join(DIMENSIONS)}")
    if period not in PERIODS:
        raise InputError(f"period {period!r}: expected one of {', '.join(PERIODS)}")
    start, end = check_month(start, "--from"), check_month(end, "--to")
    if start and end and start > end:
        raise InputError(f"--from {start} is after --to {end} (expected from <= to)")
    plist = list(partners)
    gate = {p.id: p for p in plist} if plist else None
    if partner is not None and (gate is None or partner not in gate):
        raise InputError(f"unknown partner {partner!r}")
    store = _read(db, start, end)
    periods_in_range = sorted({period_of(m, period) for m in store.months})

    if partner is not None:
        scopes = [partner]
    elif "partner" in by:
        scopes = [p.id for p in plist]
    else:
        scopes = [ALL_PARTNERS]

    def members(scope: str) -> list[dict[str, Any]]:
        if scope == ALL_PARTNERS:
            return store.alerts
        return [a for a in store.alerts if gate is not None and gate[scope].covers(a)]

    groups: dict[tuple[str, ...], list[_Fact]] = {}
    for scope in scopes:
        for a in members(scope):
            f = _fact(a, scope, store, gate)
            key = {"partner": scope, "country": a["country"], "target": a["target"],
                   "period": period_of(a["month"], period)}
            groups.setdefault(tuple(key[d] for d in by), []).append(f)
    rows = []
    for k in sorted(groups):
        facts = groups[k]
        n_periods = 1 if "period" in by else len(periods_in_range)
        rows.append(KpiRow(dict(zip(by, k)), kpi_values(facts, n_periods), len(facts)))
    total_scope = partner if partner is not None else ALL_PARTNERS
    total_facts = [_fact(a, total_scope, store, gate) for a in members(total_scope)]
    total = KpiRow({"partner": total_scope}, kpi_values(total_facts, len(periods_in_range)),
                   len(total_facts))
    return KpiReport(by, period, start, end, rows, total,
                     [partner] if partner is not None else [p.id for p in plist])
