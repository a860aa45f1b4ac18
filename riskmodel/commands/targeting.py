"""`riskmodel targeting`: need x enabling environment x programme gap for a window.

Reads events.csv and programmes.csv (and optionally the nightly risk.nc), prints the
counts per group (and the top opportunities with --risk) as a table, and writes the summary
JSON with `--json` and an HTML report with `--html`; see docs/targeting.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from riskmodel.errors import EXIT_OK
from riskmodel.targeting.pipeline import run_targeting


def register(subparsers: Any) -> None:
    """Add the `targeting` parser to the CLI's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "targeting",
        help="country targeting: need x enabling environment x programme gap",
        description="Count countries with CEACR observations, CAS cases and TA requests "
                    "against existing programming for a window of years, and with --risk "
                    "rank opportunities by modelled risk.")
    p.add_argument("--events", required=True, metavar="E.csv",
                   help="events CSV: iso3,year,event,instrument")
    p.add_argument("--programmes", required=True, metavar="P.csv",
                   help="programmes CSV: iso3,programme_id,start_year,end_year,focus,"
                        "acceleration_factors")
    p.add_argument("--from", dest="year_from", type=int, required=True, metavar="YYYY",
                   help="first year of the window (included)")
    p.add_argument("--to", dest="year_to", type=int, required=True, metavar="YYYY",
                   help="last year of the window (included)")
    p.add_argument("--json", metavar="OUT.json", help="also write the summary as JSON")
    p.add_argument("--risk", metavar="RISK.nc",
                   help="risk NetCDF of the nightly run; adds ranked opportunities")
    p.add_argument("--html", metavar="OUT.html", help="HTML report to write")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the command; input errors propagate as `InputError` (exit code 2, no output)."""
    result = run_targeting(args.events, args.programmes, (args.year_from, args.year_to),
                           json_path=args.json, html_path=args.html, risk=args.risk)
    print(summary_table(result.data), end="", file=sys.stdout)
    return EXIT_OK


# Columns of the printed table: (heading, path in a group's summary); the JSON has more.
COLUMNS = (("observed", ("observed",)), ("CAS", ("cas",)),
           ("no FPRW prog.", ("without_fprw_programming",)),
           ("no focused prog.", ("without_focused_programming",)),
           ("TA requested", ("ta", "requested")))
# Opportunities printed (the JSON and the HTML report list every one).
TOP = 10


def summary_table(data: dict[str, Any]) -> str:
    """The summary as plain text: countries per group for the window, then the first
    `TOP` opportunities when risk was given."""
    y0, y1 = data["window"]
    widths = [len(h) + 2 for h, _ in COLUMNS]
    head = f"{'group':<24}" + "".join(f"{h:>{w}}" for (h, _), w in zip(COLUMNS, widths))
    lines = [f"countries per group, {y0}-{y1}", head, "-" * len(head)]
    for name, g in data["groups"].items():
        cells = []
        for (_, path), w in zip(COLUMNS, widths):
            v: Any = g
            for k in path:
                v = v[k]
            cells.append(f"{v:>{w}}")
        lines.append(f"{name:<24}" + "".join(cells))
    opps = data.get("opportunities")
    if opps:
        lines += ["", f"top {min(TOP, len(opps))} of {len(opps)} opportunities (risk of "
                      f"{data.get('risk_time')})",
                  f"{'rank':>4}  {'iso3':<5}{'group':<24}{'score':>7}{'risk':>7}  reasons"]
        for o in opps[:TOP]:
            score = "-" if o["score"] is None else f"{o['score']:.2f}"
            risk = "-" if o["risk"] is None else f"{o['risk']:.2f}"
            reasons = "; ".join(str(r) for r in o.get("reasons") or [])
            lines.append(f"{o['rank']:>4}  {o['iso3']:<5}{o['group']:<24}{score:>7}"
                         f"{risk:>7}  {reasons}")
    return "\n".join(lines) + "\n"
