"""`riskmodel countries`: country-level models on real public data.

`countries predict` is `riskmodel predict` (the real child-labour and forced-labour
models; default target cl). `countries cv` runs the leave-one-country-out and
leave-one-region-out evaluation of the older model of WDI children 7-14 in employment
against its baselines: it prints a table and, with `--json OUT.json`, also writes every
number (`--markdown` writes a results table); progress lines (building the cube, each fold)
go to stderr unless `--quiet`. The validation of the cl and fl models is
benchmarks/real_validation.py.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from riskmodel.commands import predict
from riskmodel.countries.design import design_rows
from riskmodel.countries.outcome import load_outcome
from riskmodel.countries.report import SCHEMES, cv_document, markdown_table
from riskmodel.errors import EXIT_OK
from riskmodel.io.atomic import write_json, write_text
from riskmodel.progress import Progress

DEFAULT_CONFIG = "configs/real-countries.toml"


def register(subparsers: Any) -> None:
    """Add `countries predict` and `countries cv` to the CLI's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "countries", help="country models on real data (predict; cv of the WDI 7-14 model)",
        description="`predict`: the real child-labour and forced-labour models (as "
                    "`riskmodel predict`). `cv`: cross-validation of the model of the World "
                    "Bank share of children aged 7-14 in employment.")
    sub = p.add_subparsers(dest="countries_command", required=True, metavar="ACTION")
    pr = sub.add_parser("predict", help="the same as `riskmodel predict` (default --target cl)",
                        description="Train on outcome rows of years before YYYY and predict "
                                    "every country (or region) with inputs in YYYY; the "
                                    "same command as `riskmodel predict`.")
    predict.add_arguments(pr, target_required=False)
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
    cv.add_argument("--config", default=DEFAULT_CONFIG, metavar="TOML",
                    help=f"region-mode sources config (default: {DEFAULT_CONFIG})")
    cv.add_argument("--outcome", metavar="CSV",
                    help="outcome CSV (default: the shipped WDI extract)")


def _design(args: argparse.Namespace, progress: Progress | None = None) -> tuple[Any, Any]:
    # Imported here: building the cube pulls in every source reader.
    from riskmodel.sources import build_country_cube

    outcome = load_outcome(args.outcome)
    if progress is None:
        return build_country_cube(args.config), outcome
    with progress.stage("cube"):  # reads every real source
        return build_country_cube(args.config), outcome


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
