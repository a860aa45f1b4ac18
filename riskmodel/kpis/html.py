"""KPIs as HTML and as text cells: the run report's section and the CLI's table cells.

`kpi_section` renders a `KpiReport`, optionally the aggregated programme results and the
per-country view, as one HTML fragment (no scripts, every data string escaped). A value
without data shows `n/a` and the catalogue's reason, never a number.
"""

from __future__ import annotations

from html import escape
from typing import Any

from riskmodel.kpis.catalogue import CATALOGUE
from riskmodel.kpis.compute import ALL_PARTNERS, KpiReport, KpiValue
from riskmodel.kpis.interventions import INDICATORS
from riskmodel.kpis.join import COUNTRY_KPIS


def cell(name: str, v: KpiValue | dict[str, Any]) -> str:
    """One KPI value as short text: `42% (5/12)`, `3.5 d (n=4)`, `2.0 (5/3)` or `n/a`."""
    d = v.to_dict() if isinstance(v, KpiValue) else v
    if d["value"] is None:
        return "n/a"
    unit = CATALOGUE[name].unit
    if unit.startswith("share"):
        return f"{100 * d['value']:.0f}% ({_num(d['numerator'])}/{_num(d['denominator'])})"
    if unit == "days":
        return f"{d['value']:.1f} d (n={d['n']})"
    return f"{d['value']:.2f} ({_num(d['numerator'])}/{_num(d['denominator'])})"


def _num(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:,.0f}" if abs(x) >= 1000 or float(x).is_integer() else f"{x:.2f}"


def _td(name: str, v: KpiValue | dict[str, Any]) -> str:
    d = v.to_dict() if isinstance(v, KpiValue) else v
    title = f" title='{escape(d['reason'])}'" if d["reason"] else ""
    text = cell(name, d) + (f": {d['reason']}" if d["value"] is None and d["reason"] else "")
    return f"<td class='num'{title}>{escape(text)}</td>"


def kpi_table(report: KpiReport) -> str:
    """The report's rows and its total as an HTML table, one column per KPI."""
    head = "".join(f"<th>{escape(d)}</th>" for d in report.by)
    head += "<th>alerts</th>" + "".join(
        f"<th title='{escape(k.definition)}'>{escape(k.label)} ({escape(k.unit)})</th>"
        for k in CATALOGUE.values())
    ncols = max(len(report.by), 1)
    body = []
    for r in [*report.rows, report.total]:
        if r is report.total:
            who = r.key["partner"]
            keys = ["<strong>all</strong>" if who == ALL_PARTNERS else
                    f"<strong>all of {escape(who)}</strong>"] + [""] * (ncols - 1)
        else:
            keys = [escape(r.key[d]) for d in report.by]
        body.append("<tr>" + "".join(f"<td>{k}</td>" for k in keys)
                    + f"<td class='num'>{r.alerts}</td>"
                    + "".join(_td(n, r.values[n]) for n in CATALOGUE) + "</tr>")
    lead = head if report.by else "<th></th>" + head
    return f"<table><tr>{lead}</tr>{''.join(body)}</table>"


def results_table(rows: list[dict[str, Any]]) -> str:
    """Aggregated programme results (`interventions.aggregate`) as an HTML table."""
    if not rows:
        return "<p>No programme results reported for this range.</p>"
    dims = [k for k in ("partner", "country", "sector") if k in rows[0]]
    head = "".join(f"<th>{d}</th>" for d in dims)
    body = []
    for r in rows:
        ind = INDICATORS[r["indicator"]]
        value = (f"{r['value']:,}" if r["value"] is not None else f"n/a: {r['reason']}")
        extra = f" ({r['partial']} left out: period past the range)" if r["partial"] else ""
        body.append("<tr>" + "".join(f"<td>{escape(str(r[d]))}</td>" for d in dims)
                    + f"<td>{escape(ind.label)}</td><td class='num'>{escape(value)}</td>"
                    f"<td>{escape(r['unit'])}</td>"
                    f"<td>{escape(', '.join(r['programmes']) + extra)}</td></tr>")
    return (f"<table><tr>{head}<th>indicator</th><th>value</th><th>unit</th>"
            f"<th>programmes</th></tr>{''.join(body)}</table>")


def country_table(rows: list[dict[str, Any]]) -> str:
    """`join.country_view` rows: need, programmes, results and alert KPIs per country."""
    if not rows:
        return "<p>No country has need, programmes, results or alerts in this range.</p>"
    head = ("<th>country</th><th>need (targeting)</th><th>active programmes</th>"
            "<th>results reported</th><th>alerts</th>"
            + "".join(f"<th>{escape(CATALOGUE[k].label)}</th>" for k in COUNTRY_KPIS))
    risks = sorted(k for k in rows[0] if k.startswith("risk_"))
    head += "".join(f"<th>modelled {escape(k[5:])} risk</th>" for k in risks)
    body = []
    for r in rows:
        need = "not assessed" if r["need"] is None else ("; ".join(r["need"]) or "none")
        progs = ("not assessed" if r["programmes"] is None else
                 ", ".join(r["programmes"]) or "none")
        if r["unlisted_programmes"]:
            progs += f" (results also from unlisted: {', '.join(r['unlisted_programmes'])})"
        res = "; ".join(
            f"{INDICATORS[i].label}: "
            + (f"{v['value']:,}" if v["value"] is not None else "n/a")
            for i, v in sorted(r["results"].items())) or "none"
        risk = "".join("<td class='num'>" + ("not modelled" if r[k] is None else
                                             f"{r[k]:.2f}") + "</td>" for k in risks)
        body.append(f"<tr><td>{escape(r['country'])}</td><td>{escape(need)}</td>"
                    f"<td>{escape(progs)}</td><td>{escape(res)}</td>"
                    f"<td class='num'>{r['alerts']}</td>"
                    + "".join(_td(k, r[k]) for k in COUNTRY_KPIS) + risk + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def kpi_section(report: KpiReport, results: list[dict[str, Any]] | None = None,
                countries: list[dict[str, Any]] | None = None) -> str:
    """The KPI section of a report: alert KPIs, programme results, the country view."""
    span = (f"{report.start or 'the first month'} to {report.end or 'the last month'}")
    parts = ["<h2>Key performance indicators</h2>",
             f"<p>What alerts opened from {escape(span)} led to, from partners' "
             "acknowledgements and reported visit outcomes in the alert store "
             "(definitions: docs/kpis.md). <em>n/a</em> means the KPI has no denominator "
             "yet; the reason is given, never a 0.</p>",
             kpi_table(report)]
    if results is not None:
        parts += ["<h3>Programme results reported by partners</h3>", results_table(results)]
    if countries is not None:
        parts += ["<h3>Need, programmes and results per country</h3>",
                  country_table(countries)]
    return "\n".join(parts)
