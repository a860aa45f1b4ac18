"""`riskmodel targeting`: need x enabling environment x programme gap for a window.

Reads events.csv and programmes.csv (and optionally the nightly risk.nc), writes the
summary JSON and optionally an HTML report; see docs/targeting.md.
"""

from __future__ import annotations

import argparse
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
    p.add_argument("--json", required=True, metavar="OUT.json", help="summary JSON to write")
    p.add_argument("--risk", metavar="RISK.nc",
                   help="risk NetCDF of the nightly run; adds ranked opportunities")
    p.add_argument("--html", metavar="OUT.html", help="HTML report to write")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the command; input errors propagate as `InputError` (exit code 2, no output)."""
    run_targeting(args.events, args.programmes, (args.year_from, args.year_to),
                  json_path=args.json, html_path=args.html, risk=args.risk)
    return EXIT_OK
