"""Need, programmes, results and alert KPIs side by side, one row per country.

The targeting view says where the supervisory system records need (observations, CAS
cases, technical-assistance requests) and which programmes are active; partners' reports
say what those programmes achieved (`interventions.aggregate` by country); the alert
store says what the engine's alerts led to (`compute_kpis` grouped by country); the risk
dataset gives modelled risk. `country_view` joins them on the ISO 3166-1 alpha-3 code, so
a country with need and no results, or results from a programme the targeting inputs do
not list, is plain to see. Nothing is filled in: a missing source is None in its column.
"""

from __future__ import annotations

from typing import Any

from riskmodel.kpis.compute import KpiReport
from riskmodel.targeting.inputs import Programme
from riskmodel.targeting.summary import GROUPS, Assessment

# The engine's KPIs shown per country beside programme results (the rest are in the
# per-partner table).
COUNTRY_KPIS = ("share_visited", "alert_precision", "population_covered")


def need_of(assessment: Assessment, iso3: str) -> list[str]:
    """The country's need and enabling signals in words, per instrument group."""
    out = []
    for g in GROUPS:
        st = assessment.groups.get(g.name, {}).get(iso3)
        if st is None:
            continue
        flags = [w for w, on in (("observation", st.observed), ("CAS", st.cas),
                                 ("TA request", st.ta_requested),
                                 ("TIP watch list", st.on_tip_watchlist)) if on]
        if flags:
            out.append(f"{g.name}: {', '.join(flags)}")
    return out


def country_view(*, kpis: KpiReport | None = None,
                 results: list[dict[str, Any]] | None = None,
                 assessment: Assessment | None = None,
                 programmes: list[Programme] | None = None,
                 risk: dict[str, dict[str, float]] | None = None) -> list[dict[str, Any]]:
    """One row per country present in any source, sorted by code.

    `kpis` must be grouped by country only; `results` are `aggregate(..., by=("country",))`
    rows; `programmes` are counted when active in the assessment's window; `risk` maps
    target -> {iso3: risk}. Row keys: `country`, `need` (list of words, None without an
    assessment), `programmes` (active ids, None without inputs), `results` ({indicator:
    {value, unit, programmes}}), `unlisted_programmes` (reporting results but not in the
    targeting programmes), `alerts` and the `COUNTRY_KPIS` (value or None with reason),
    and `risk_<target>`.
    """
    if kpis is not None and kpis.by != ("country",):
        raise ValueError("country_view needs KPIs grouped by country only")
    active: dict[str, list[str]] | None = None
    if programmes is not None and assessment is not None:
        active = {}
        for p in programmes:
            if p.active_in(assessment.window):
                ids = active.setdefault(p.iso3, [])
                if p.programme_id not in ids:
                    ids.append(p.programme_id)
    by_kpi = {r.key["country"]: r for r in kpis.rows} if kpis is not None else {}
    by_result: dict[str, dict[str, Any]] = {}
    for r in results or []:
        by_result.setdefault(r["country"], {})[r["indicator"]] = {
            "value": r["value"] if r["results"] else None, "unit": r["unit"],
            "programmes": r["programmes"], "partial": r["partial"]}
    countries: set[str] = set(by_kpi) | set(by_result)
    if assessment is not None:
        countries |= {c for g in assessment.groups.values() for c in g}
    if active is not None:
        countries |= set(active)
    for table in (risk or {}).values():
        countries |= {c for c in table if c in by_kpi or c in by_result}
    rows = []
    for c in sorted(countries):
        listed = active.get(c, []) if active is not None else None
        res = by_result.get(c, {})
        reporting = sorted({g for v in res.values() for g in v["programmes"]})
        row: dict[str, Any] = {
            "country": c,
            "need": need_of(assessment, c) if assessment is not None else None,
            "programmes": sorted(listed) if listed is not None else None,
            "results": res,
            "unlisted_programmes": ([g for g in reporting if g not in listed]
                                    if listed is not None else None),
        }
        k = by_kpi.get(c)
        row["alerts"] = k.alerts if k is not None else 0
        for name in COUNTRY_KPIS:
            row[name] = (k.values[name].to_dict() if k is not None else
                         {"value": None, "n": 0, "numerator": None, "denominator": None,
                          "reason": "no alert in the range"})
        for target, table in sorted((risk or {}).items()):
            row[f"risk_{target}"] = table.get(c)
        rows.append(row)
    return rows
