"""Everything the KPI outputs show, gathered from the files a run config names.

`gather_kpis` opens the alert store read-only and the partners file, computes the alert
KPIs, aggregates the programme results stored beside the alert store, and joins both with
the targeting inputs of a run folder (its `inputs/events.csv` and `programmes.csv`, the
window of its `targeting.json`) and modelled risk per country. `run_kpi_section` is the
run report's KPI section: it never fails the night, a store it cannot read is one line in
the section instead. This module sits above the alert store (it opens it and loads the
partners), the rest of `riskmodel.kpis` below it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import xarray as xr

from riskmodel.alerts.partners import PartnersConfig, load_partners
from riskmodel.alerts.store import AlertStore
from riskmodel.errors import InputError, RiskmodelError
from riskmodel.kpis.compute import DIMENSIONS, KpiReport, compute_kpis
from riskmodel.kpis.html import kpi_section
from riskmodel.kpis.interventions import ResultsStore, aggregate, interventions_path
from riskmodel.kpis.join import country_view
from riskmodel.targeting.inputs import load_inputs
from riskmodel.targeting.opportunities import country_risk
from riskmodel.targeting.summary import assess, check_window


@dataclass
class Gathered:
    """The alert KPIs, programme results (by country and sector) and the country view."""

    report: KpiReport
    results: list[dict[str, Any]]
    countries: list[dict[str, Any]]
    window: tuple[int, int] | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.report.to_dict(), "results": self.results,
                "countries": self.countries,
                "targeting_window": list(self.window) if self.window else None}


def _window(run_dir: Path, start: str | None, end: str | None,
            months: list[str]) -> tuple[int, int] | None:
    """The years the targeting view covers: the KPI range's, else the run's targeting
    window, else the store's months."""
    if start or end:
        first = int((start or end or "")[:4])
        return check_window((first, int((end or start or "")[:4])))
    tj = run_dir / "targeting.json"
    if tj.is_file():
        try:
            w = json.loads(tj.read_text(encoding="utf-8")).get("window")
            if isinstance(w, list) and len(w) == 2 and all(isinstance(y, int) for y in w):
                return check_window((w[0], w[1]))
        except (OSError, ValueError):
            pass
    if months:
        return int(months[0][:4]), int(months[-1][:4])
    return None


def gather_kpis(store_path: Path | str, partners: PartnersConfig, *,
                by: tuple[str, ...] = DIMENSIONS, start: str | None = None,
                end: str | None = None, period: str = "month", partner: str | None = None,
                run_dir: Path | str | None = None,
                risk: xr.Dataset | None = None) -> Gathered:
    """Alert KPIs, programme results and the per-country join for one alert store.

    `run_dir` (a run folder) supplies the targeting inputs; `risk` (a risk dataset) the
    modelled risk per country. With `partner`, only that partner's alerts, outcomes and
    results. Raises `InputError` on an unreadable store or targeting input.
    """
    with AlertStore(store_path, readonly=True) as store:
        try:
            report = compute_kpis(store.db, partners=partners.partner, partner=partner,
                                  by=by, start=start, end=end, period=period)
            by_country = compute_kpis(store.db, partners=partners.partner, partner=partner,
                                      by=("country",), start=start, end=end, period=period)
            months = [r["as_of"][:7] for r in store.db.execute("SELECT as_of FROM runs "
                                                                "ORDER BY as_of")]
        except sqlite3.Error as exc:
            raise InputError(f"{store_path}: cannot read the alert store: {exc}") from None
    rows: list[dict[str, Any]] = []
    side = interventions_path(store_path)
    if side.is_file():
        with ResultsStore(side, readonly=True) as rs:
            rows = rs.rows(partner)
    results = aggregate(rows, start=start, end=end, by=("country", "sector"))
    by_c = aggregate(rows, start=start, end=end, by=("country",))
    assessment = programmes = None
    window = None
    if run_dir is not None:
        rd = Path(run_dir)
        ev, pr = rd / "inputs" / "events.csv", rd / "inputs" / "programmes.csv"
        window = _window(rd, start, end, months)
        if ev.is_file() and pr.is_file() and window is not None:
            events, programmes = load_inputs(ev, pr)
            assessment = assess(events, programmes, window)
    risk_by = None
    if risk is not None:
        risk_by = {str(t): country_risk(risk, str(t)) for t in risk["target"].values}
    countries = country_view(kpis=by_country, results=by_c, assessment=assessment,
                             programmes=programmes, risk=risk_by)
    if partner is not None:
        # A partner's view: only its own countries, whatever the targeting inputs list.
        own = set(partners.get(partner).countries)
        countries = [c for c in countries if c["country"] in own]
    return Gathered(report, results, countries, window if assessment is not None else None)


def run_kpi_section(run_dir: Path, manifest: dict[str, Any],
                    risk: xr.Dataset | None = None) -> str:
    """The run report's KPI section for the alert store of the run's config (HTML)."""
    alerts = (manifest.get("config") or {}).get("alerts") or {}
    store = alerts.get("store")
    if not alerts.get("enabled", True) or not store:
        return "<h2>Key performance indicators</h2><p>Alerts are off in this config.</p>"
    try:
        if not Path(store).is_file():
            raise InputError(f"{store}: no alert store yet")
        g = gather_kpis(store, load_partners(alerts.get("partners")),
                        by=("partner", "target"), run_dir=run_dir, risk=risk)
    except (RiskmodelError, OSError, sqlite3.Error, ValueError) as exc:
        return ("<h2>Key performance indicators</h2><p>Not available: "
                f"{escape(str(exc))}</p>")
    return kpi_section(g.report, g.results, g.countries)
