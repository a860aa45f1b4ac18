"""`riskmodel predict`: real child-labour or forced-labour predictions for one year.

`riskmodel predict --config CFG --target cl|fl --year YYYY --level country|region` trains
on outcome rows of years before YYYY (inputs published by then), predicts every country
(region) with inputs in YYYY and prints the table sorted by value (names, interval, survey
status, counts, probability of being in the top 10). `--json OUT.json` also writes the
prediction contract to OUT.json and the full table to OUT.csv beside it; `--save-model DIR`
stores the fitted LightGBM model as text with JSON metadata. Its stages (building the
feature cube, about ten seconds on the shipped data; fitting; the table) are reported on
stderr as `riskmodel run` reports its own (`riskmodel.progress`), unless `--quiet`; stdout
holds the table only. `riskmodel countries predict` is the same command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from riskmodel.countries.inputs import LEVELS, feature_cube
from riskmodel.countries.labour import load_child_labour, load_forced_labour
from riskmodel.countries.population import load_population
from riskmodel.countries.predict import predict_target
from riskmodel.countries.ranking import csv_text, ranking_rows
from riskmodel.countries.store import save_target_model
from riskmodel.countries.targets import TARGETS
from riskmodel.errors import EXIT_OK, InputError
from riskmodel.io.atomic import write_json, write_text
from riskmodel.progress import Progress

DEFAULT_CONFIG = "configs/real.toml"


def add_arguments(p: argparse.ArgumentParser, *, target_required: bool = True) -> None:
    """The prediction options (shared with `riskmodel countries predict`)."""
    p.add_argument("--config", default=DEFAULT_CONFIG, metavar="TOML",
                   help=f"real-data sources config (default: {DEFAULT_CONFIG})")
    p.add_argument("--target", choices=sorted(TARGETS), required=target_required,
                   default=None if target_required else "cl",
                   help="cl: percent of children 5-17 in child labour; fl: detected "
                        "forced-labour victims per 100,000 population")
    p.add_argument("--year", type=int, required=True, metavar="YYYY")
    p.add_argument("--level", choices=LEVELS, default="country")
    p.add_argument("--json", metavar="OUT.json",
                   help="also write the predictions as JSON and the table as OUT.csv")
    p.add_argument("--save-model", metavar="DIR",
                   help="also store the fitted model (LightGBM text + JSON metadata)")
    p.add_argument("--rows", type=int, default=20, metavar="N",
                   help="rows of the printed table (0: all; default 20)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(handler=run)


def register(subparsers: Any) -> None:
    """Add `predict` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "predict", help="real child-labour or forced-labour predictions for one year",
        description="Train on outcome rows of years before YYYY and predict every country "
                    "(or region) with inputs in YYYY, with an 80%% interval.")
    add_arguments(p)


def _print(rows: list[dict[str, Any]], doc: dict[str, Any], limit: int) -> None:
    fl = doc["target"] == "fl"
    unit = "victims/100k" if fl else "% of 5-17"
    head = (f"{'#':>3} {'name':<28} {unit:>12} {'80% interval':>17} "
            f"{'std. det.' if fl else '':>9} {'status':<12} {'last survey':>13} "
            f"{'count':>10} {'P(top10)':>8}")
    print(head)
    for r in rows[:limit or len(rows)]:
        last = ("" if r["last_survey_year"] is None else
                f"{r['last_survey_value']:.2f} ({r['last_survey_year']})")
        count = "" if r["count"] is None else f"{r['count']:,}"
        std = f"{r['value_standard_detection']:9.3f}" if fl else " " * 9
        name = str(r["name"])[:28]
        print(f"{r['rank']:>3} {name:<28} {r['value']:12.3f} "
              f"{r['lo']:8.3f}-{r['hi']:<8.3f} {std} {r['status']:<12} {last:>13} "
              f"{count:>10} {r['p_top10']:8.3f}")


def run(args: argparse.Namespace) -> int:
    """Predict; print the table; write JSON, CSV and model when asked. Nothing is written
    when an input or the year is refused."""
    out = Path(args.json) if args.json else None
    if out is not None and out.suffix != ".json":
        raise InputError(f"--json {out}: the file name must end in .json (the table is "
                         f"written beside it as .csv)")
    progress = Progress(quiet=args.quiet)
    with progress.stage("cube"):  # reads every real source
        at = feature_cube(args.config, args.level)
        cube = at if args.level == "country" else feature_cube(args.config, "country")
    with progress.stage("fit"):
        population = load_population()
        read = (load_child_labour() if args.target == "cl"
                else load_forced_labour(population=population))
        doc, model = predict_target(cube, read, args.target, args.year, at=at)
    with progress.stage("table"):
        rows = ranking_rows(doc, read, population, model.halfwidth_, at=at)
    if out is not None:
        write_json(out, doc)
        write_text(out.with_suffix(".csv"), csv_text(rows))
    if args.save_model:
        save_target_model(model, args.save_model, {
            k: doc[k] for k in ("year", "training_rows", "training_years",
                                "training_rows_sha256")})
    _print(rows, doc, args.rows)
    print(f"riskmodel: {len(rows)} {doc['level']} predictions of {args.target} for "
          f"{args.year} (trained on {doc['training_rows']} outcome rows from "
          f"{doc['training_years'][0]} to {doc['training_years'][1]}, "
          f"{doc['training_countries']} countries)", file=sys.stdout)
    return EXIT_OK
