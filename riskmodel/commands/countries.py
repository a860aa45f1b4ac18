"""`riskmodel countries`: the country-level child-employment model on real public data.

`countries predict` predicts one year; `countries cv` runs the leave-one-country-out and
leave-one-region-out evaluation against the baselines. Both print a table and, with
`--json OUT.json`, also write every number (`cv --markdown` writes the README's results
table). `cv` writes progress lines (building the cube, each fold) to stderr unless `--quiet`.
Both read the country-year cube of a region-mode config
(`riskmodel.sources.build_country_cube`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from riskmodel.countries.design import design_rows
from riskmodel.countries.outcome import load_outcome
from riskmodel.countries.predict import predict_year
from riskmodel.countries.report import SCHEMES, cv_document, markdown_table
from riskmodel.errors import EXIT_OK
from riskmodel.io.atomic import write_json, write_text
from riskmodel.progress import Progress

DEFAULT_CONFIG = "configs/real-countries.toml"


def register(subparsers: Any) -> None:
    """Add `countries predict` and `countries cv` to the CLI's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "countries", help="country model of child employment on real data (predict, cv)",
        description="Model the World Bank share of children aged 7-14 in employment from "
                    "the real-data country-year cube.")
    sub = p.add_subparsers(dest="countries_command", required=True, metavar="ACTION")
    pr = sub.add_parser("predict", help="predict every country's share for one year",
                        description="Train on survey rows from years before YEAR, predict "
                                    "from inputs up to YEAR for every country with inputs.")
    pr.add_argument("--year", type=int, required=True, metavar="YYYY")
    pr.add_argument("--json", metavar="OUT.json", help="also write the predictions as JSON")
    pr.set_defaults(handler=run_predict)
    cv = sub.add_parser("cv", help="grouped cross-validation against baselines",
                        description="Leave-one-country-out and leave-one-region-out "
                                    "cross-validation of the model, a linear model, the "
                                    "composite index, the global mean and the last observed "
                                    "value.")
    cv.add_argument("--json", metavar="OUT.json", help="also write every score as JSON")
    cv.add_argument("--markdown", metavar="OUT.md", help="also write the results table")
    cv.add_argument("--scheme", choices=SCHEMES, action="append",
                    help="evaluation scheme (repeatable; default: both)")
    cv.set_defaults(handler=run_cv)
    cv.add_argument("--quiet", action="store_true", help="no progress lines")
    for q in (pr, cv):
        q.add_argument("--config", default=DEFAULT_CONFIG, metavar="TOML",
                       help=f"region-mode sources config (default: {DEFAULT_CONFIG})")
        q.add_argument("--outcome", metavar="CSV",
                       help="outcome CSV (default: the shipped WDI extract)")


def _design(args: argparse.Namespace, progress: Progress | None = None) -> tuple[Any, Any]:
    # Imported here: building the cube pulls in every source reader.
    from riskmodel.sources import build_country_cube

    outcome = load_outcome(args.outcome)
    if progress is None:
        return build_country_cube(args.config), outcome
    with progress.stage("cube"):  # reads every real source
        return build_country_cube(args.config), outcome


def run_predict(args: argparse.Namespace) -> int:
    """Predict `--year` (table on stdout, JSON with `--json`); a bad year or input fails
    before anything is written."""
    cube, outcome = _design(args)
    doc = predict_year(cube, outcome, args.year)
    if args.json:
        write_json(args.json, doc)
    else:
        print(f"{'iso3':<5} {'share %':>8} {'80% interval':>14}")
        for p in sorted(doc["predictions"], key=lambda p: -p["value"]):
            print(f"{p['iso3']:<5} {p['value']:8.1f} {p['lo']:6.1f} - {p['hi']:5.1f}")
    print(f"riskmodel: {len(doc['predictions'])} countries predicted for {args.year} "
          f"(trained on {doc['training_rows']} survey rows from {doc['training_years'][0]} "
          f"to {doc['training_years'][1]})", file=sys.stdout)
    return EXIT_OK


def run_cv(args: argparse.Namespace) -> int:
    """Cross-validate; print the table, write the JSON (`--json`) and markdown (`--markdown`)."""
    progress = Progress(quiet=args.quiet)
    cube, outcome = _design(args, progress)

    def on_fold(scheme: str, i: int, n: int, group: str) -> None:
        progress.event("cv", scheme=scheme, fold=f"{i}/{n}", holdout=group)

    doc = cv_document(design_rows(cube, outcome), tuple(args.scheme or SCHEMES),
                      on_fold=on_fold)
    if args.json:
        write_json(args.json, doc)
    table = markdown_table(doc)
    if args.markdown:
        write_text(args.markdown, table)
    print(table, file=sys.stdout)
    return EXIT_OK
