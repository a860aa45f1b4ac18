"""One partner's KPIs and programme results, for the partner portal.

`partner_kpis` is everything a partner's KPI panel shows, computed for that partner only:
its alert KPIs per target and period (only the alerts it covers, only its own
acknowledgements and outcomes) and the programme results it reported itself, by country
and sector. Another partner's numbers cannot enter: every query is scoped by the partner
id before anything is counted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from riskmodel.kpis.compute import PartnerLike, compute_kpis
from riskmodel.kpis.interventions import ResultsStore, aggregate, interventions_path


def partner_kpis(db: sqlite3.Connection, partners: Iterable[PartnerLike], partner: str,
                 alert_store: Path | str, *, start: str | None = None,
                 end: str | None = None, period: str = "month") -> dict[str, Any]:
    """The partner's KPI report (`KpiReport.to_dict`, grouped by target and period) plus
    `results`: its own reported results in the range, summed by country and sector."""
    report = compute_kpis(db, partners=partners, partner=partner, by=("target", "period"),
                          start=start, end=end, period=period)
    rows: list[dict[str, Any]] = []
    side = interventions_path(alert_store)
    if side.is_file():
        with ResultsStore(side, readonly=True) as rs:
            rows = rs.rows(partner)
    return {**report.to_dict(),
            "results": aggregate(rows, start=start, end=end, by=("country", "sector"))}
