"""The targeting report as one self-contained HTML page (no scripts, no external files).

The page states the summary in sentences like the published one ("Between 2021 and 2023,
79 countries received observations ...; 42 have no Fundamentals programming"), repeats the
counts in a table, lists the ranked opportunities when risk was given, and shows the
acceleration-factor coverage matrix (country x factor) of the programmes active in the
window with its gaps highlighted. Every piece of text from data is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from riskmodel.targeting.inputs import ACCELERATION_FACTORS, FACTOR_LABELS
from riskmodel.targeting.summary import GROUPS, Assessment

TOPIC = {"forced_labour": "forced labour", "forced_labour_protocol": "forced labour",
         "child_labour": "child labour"}

STYLE = """
body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}
td.num{text-align:right}
td.gap{background:#f8d7da;color:#842029;font-weight:bold}
td.cov{background:#d1e7dd}
.note{background:#fff3cd;padding:.5em 1em;border-left:4px solid #e0a800}
"""


def _countries(n: int) -> str:
    return f"{n} {'country' if n == 1 else 'countries'}"


def _have(n: int) -> str:
    return "has" if n == 1 else "have"


def _when(window: tuple[int, int]) -> str:
    start, end = window
    return f"In {start}" if start == end else f"Between {start} and {end}"


def summary_sentences(summary: dict[str, Any]) -> list[str]:
    """The summary in words, one sentence for observations and one for TA, per group."""
    when = _when(tuple(summary["window"]))  # type: ignore[arg-type]
    out: list[str] = []
    for group in GROUPS:
        g = summary["groups"][group.name]
        topic = TOPIC[group.name]
        n = g["observed"]
        if n:
            out.append(
                f"{when}, {_countries(n)} received observations from the Committee of "
                f"Experts on {group.label}; {g['cas']} went before the Conference "
                f"Committee (CAS); {g['with_fprw_programming']} {_have(g['with_fprw_programming'])}"
                f" FPRW programming, {g['with_focused_programming']} of them focused on "
                f"{topic}; {g['without_fprw_programming']} "
                f"{_have(g['without_fprw_programming'])} no Fundamentals programming and "
                f"{g['without_focused_programming']} no programming focused on {topic}.")
        else:
            out.append(f"{when}, no country received observations from the Committee of "
                       f"Experts on {group.label}.")
        ta = g["ta"]
        r = ta["requested"]
        if r:
            with_prog = ta["with_fprw_programming"]
            prog = ("none has programming" if with_prog == 0 else
                    f"{with_prog} {_have(with_prog)} programming "
                    f"({ta['with_focused_programming']} focused on {topic}), "
                    f"{ta['without_fprw_programming']} {_have(ta['without_fprw_programming'])}"
                    f" none")
            out.append(
                f"{when}, {_countries(r)} requested technical assistance on {group.label}: "
                f"{ta['with_observations_or_cas']} of them with observations or CAS cases, "
                f"{ta['on_tip_watchlist']} on the TIP Watch List; {prog}.")
        else:
            out.append(f"{when}, no country requested technical assistance on "
                       f"{group.label}.")
    return out


ROWS = (
    ("Countries with observations", ("observed",)),
    ("of which before the CAS", ("cas",)),
    ("with FPRW programming", ("with_fprw_programming",)),
    ("with focused programming", ("with_focused_programming",)),
    ("without FPRW programming", ("without_fprw_programming",)),
    ("without focused programming", ("without_focused_programming",)),
    ("Countries requesting technical assistance", ("ta", "requested")),
    ("with observations or CAS", ("ta", "with_observations_or_cas")),
    ("on the TIP Watch List", ("ta", "on_tip_watchlist")),
    ("with FPRW programming", ("ta", "with_fprw_programming")),
    ("with focused programming", ("ta", "with_focused_programming")),
    ("without FPRW programming", ("ta", "without_fprw_programming")),
    ("without focused programming", ("ta", "without_focused_programming")),
)


def _summary_table(summary: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(g.label)}</th>" for g in GROUPS)
    rows = []
    for label, path in ROWS:
        cells = []
        for g in GROUPS:
            value: Any = summary["groups"][g.name]
            for key in path:
                value = value[key]
            cells.append(f'<td class="num">{int(value)}</td>')
        rows.append(f"<tr><th>{escape(label)}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def _opportunities_table(opportunities: list[dict[str, Any]]) -> str:
    if not opportunities:
        return "<p>No country has an open opportunity in this window.</p>"
    rows = []
    for o in opportunities:
        score = "" if o["score"] is None else f"{o['score']:.3f}"
        risk = "not modelled" if o["risk"] is None else f"{o['risk']:.2f}"
        rows.append(
            f'<tr><td class="num">{int(o["rank"])}</td><td>{escape(o["iso3"])}</td>'
            f'<td>{escape(TOPIC[o["group"]])} ({escape(o["group"])})</td>'
            f'<td class="num">{escape(score)}</td><td class="num">{escape(risk)}</td>'
            f'<td>{escape("; ".join(o["reasons"]))}</td></tr>')
    return ("<table><tr><th>Rank</th><th>Country</th><th>Group</th><th>Score</th>"
            f"<th>Risk</th><th>Reasons</th></tr>{''.join(rows)}</table>")


def _coverage_matrix(assessment: Assessment) -> str:
    coverage = assessment.coverage
    if not coverage:
        return "<p>No country has a signal or an active programme in this window.</p>"
    head = "".join(f"<th>{escape(FACTOR_LABELS[f].capitalize())}</th>"
                   for f in ACCELERATION_FACTORS)
    rows = []
    gaps = dict.fromkeys(ACCELERATION_FACTORS, 0)
    for iso3, factors in coverage.items():
        cells = []
        for f in ACCELERATION_FACTORS:
            ids = factors[f]
            if ids:
                cells.append(f'<td class="cov">{escape(", ".join(ids))}</td>')
            else:
                gaps[f] += 1
                cells.append('<td class="gap">gap</td>')
        rows.append(f"<tr><th>{escape(iso3)}</th>{''.join(cells)}</tr>")
    total = "".join(f'<td class="num">{gaps[f]}</td>' for f in ACCELERATION_FACTORS)
    rows.append(f"<tr><th>Countries with a gap</th>{total}</tr>")
    worst = max(ACCELERATION_FACTORS, key=lambda f: (gaps[f], -ACCELERATION_FACTORS.index(f)))
    with_gap = sum(1 for fs in coverage.values() if not all(fs.values()))
    lead = (f"<p>{with_gap} of {_countries(len(coverage))} {_have(with_gap)} at least one "
            f"acceleration factor that no active programme covers; the least covered is "
            f"{escape(FACTOR_LABELS[worst])} (a gap in {_countries(gaps[worst])}). "
            f"Cells list the programmes that cover a factor.</p>")
    return f"{lead}<table><tr><th>Country</th>{head}</tr>{''.join(rows)}</table>"


def render_html(assessment: Assessment, summary: dict[str, Any],
                opportunities: list[dict[str, Any]] | None = None,
                note: str | None = None) -> str:
    """The complete HTML page for one window: sentences, table, opportunities, matrix.

    `summary` is `summarize`'s dict for the same assessment, `opportunities` the output of
    `rank_opportunities` (the section is omitted when None), and `note` an optional
    banner, e.g. that the inputs come from the synthetic world and are no evidence about
    any real place.
    """
    start, end = assessment.window
    span = str(start) if start == end else f"{start}-{end}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Targeting {escape(span)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Targeting {escape(span)}: need, enabling environment and programme gaps</h1>",
    ]
    if note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    parts.append("<h2>Summary</h2>")
    parts.extend(f"<p>{escape(s)}</p>" for s in summary_sentences(summary))
    parts.append(_summary_table(summary))
    if opportunities is not None:
        parts.append("<h2>Opportunities</h2><p>Ranked by need x enabling environment x "
                     "coverage gap x modelled risk (population-weighted country mean).</p>")
        parts.append(_opportunities_table(opportunities))
    parts.append("<h2>Acceleration-factor coverage of active programmes</h2>")
    parts.append(_coverage_matrix(assessment))
    parts.append("</body></html>\n")
    return "\n".join(parts)
