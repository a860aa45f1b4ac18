"""Validation of the real child-labour (cl) and forced-labour (fl) models on shipped data.

For each target, the outcome rows (riskmodel.countries.labour) joined to the country-year
feature cube of `--config` are predicted out of sample by the model (LightGBM, nested
hyper-parameter choice), a ridge regression, the composite vulnerability index, the global
mean and each country's last observed value, under two schemes:

- `loco`: leave-one-country-out (each country held out with all its rows);
- `forward`: train on rows of years before Y, predict the rows of year Y, for every Y with
  rows and at least 20 earlier rows.

Scores: MAE (target units), Spearman rank correlation, 80% interval coverage and width,
each with a 90% spread from a bootstrap over countries, and the model-minus-baseline
difference on the same resamples. For fl also the model at standard detection (detection
proxies at their reference level) against the detected rates. Nothing here is tuned on the
test folds: every choice is made inside each fold's training rows.

Usage (about 10 minutes on one core):
    nice -n 10 python benchmarks/real_validation.py --json benchmarks/results-real-validation.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository first, before this folder's modules

from riskmodel.backtest.results import clean  # noqa: E402
from riskmodel.countries.history import History  # noqa: E402
from riskmodel.countries.inputs import feature_cube  # noqa: E402
from riskmodel.countries.labour import load_child_labour, load_forced_labour  # noqa: E402
from riskmodel.countries.rows import training_design  # noqa: E402
from riskmodel.countries.targets import target  # noqa: E402
from riskmodel.countries.validate import out_of_sample, summarise  # noqa: E402

SCHEMES = ("loco", "forward")


def validate(cube: Any, name: str, schemes: tuple[str, ...], n_boot: int) -> dict[str, Any]:
    """Every scheme's summary for target `name`, with what the rows are."""
    read = load_child_labour() if name == "cl" else load_forced_labour()
    t = target(name)
    design = training_design(cube, read.outcome, History(name, read.outcome))
    doc: dict[str, Any] = {
        "quantity": t.quantity, "units": t.units, "scale": t.scale.name,
        "rows": len(design.value), "countries": len(np.unique(design.iso3)),
        "years": [int(design.year.min()), int(design.year.max())],
        "features": list(design.features), "dropped_rows": {**read.dropped, **design.dropped},
        "selection_criterion": t.select_by, "schemes": {}}
    if read.overlap:
        doc["source_overlap"] = read.overlap
    if read.outcome.origin is not None:
        kept = np.isin(read.outcome.iso3, design.iso3)
        doc["rows_by_source"] = dict(Counter(read.outcome.origin[kept].tolist()))
    for scheme in schemes:
        t0 = time.perf_counter()
        oos = out_of_sample(design, t, scheme, on_fold=lambda s, i, n, g: print(
            f"{name} {s} fold {i}/{n} ({g})", file=sys.stderr, flush=True))
        summary = summarise(design, oos, n_boot=n_boot)
        summary["folds"] = oos["folds"]
        # How often each setting won the nested choice (for cl, whether the extra
        # information, WDI 7-14 and ILOSTAT 15-17, helped on the training folds).
        summary["chosen_hyper_parameters"] = dict(Counter(
            json.dumps({k: v for k, v in c.items() if k != "fold"}, sort_keys=True)
            for c in oos["chosen"]))
        if t.detection:
            as_rep, std = oos["pred"]["model"][0], oos["standard_detection"]
            ok = ~np.isnan(std)
            summary["standard_detection_vs_as_reported_spearman"] = float(
                spearmanr(as_rep[ok], std[ok]).statistic)
        summary["seconds"] = round(time.perf_counter() - t0, 1)
        doc["schemes"][scheme] = summary
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "real-countries.toml"))
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--targets", default="cl,fl")
    ap.add_argument("--schemes", default=",".join(SCHEMES))
    ap.add_argument("--bootstrap", type=int, default=400)
    args = ap.parse_args()
    cube = feature_cube(args.config, "country").load()
    doc = {
        "environment": {"machine": platform.machine(), "cores": os.cpu_count(),
                        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                        "load1": os.getloadavg()[0]},
        "config": Path(args.config).name, "bootstrap": args.bootstrap,
        "spread": "5th-95th percentile of a bootstrap over countries",
        "targets": {n: validate(cube, n, tuple(args.schemes.split(",")), args.bootstrap)
                    for n in args.targets.split(",")},
    }
    text = json.dumps(clean(doc), indent=1, sort_keys=False)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
