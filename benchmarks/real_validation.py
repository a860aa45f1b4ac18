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

`synthetic_detection`: the fl approach on synthetic worlds whose truth is known (the
well-specified and hidden-detection presets of configs/scenarios/), reduced to admin-1 x
year, to see how much of the standard-detection correction survives when part of
detection is unobserved.

Usage (about 30 minutes on one shared core):
    nice -n 10 python benchmarks/real_validation.py --json benchmarks/results-real-validation.json
    python benchmarks/real_validation.py --from benchmarks/results-real-validation.json
    (prints the markdown tables of docs/real-models.md from a results file)
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


SCENARIOS = ("well-specified", "hidden-detection")
# Annual admin-1 features of the synthetic world: (variable, how a year is reduced).
SYNTHETIC_FEATURES = ("temperature", "precipitation", "gdp_per_capita", "poverty_rate",
                      "crop_share", "child_share", "migrant_share", "displaced_share",
                      "crisis", "ratified_C029", "ratified_P029", "tip_watchlist",
                      "inspection_coverage")


def _admin1_year(world: Any, name: str) -> np.ndarray:
    """(years, admin1) population-weighted annual mean of variable `name`."""
    da = world[name]
    n_adm = world.sizes["admin1"]
    years = world["time"].dt.year.values
    uniq = np.unique(years)
    if "admin1" in da.dims:
        a = da.transpose("time", "admin1").values
        return np.stack([a[years == y].mean(0) for y in uniq])
    if "country" in da.dims:
        a = da.transpose("time", "country").values[:, world["admin1_country"].values]
        return np.stack([a[years == y].mean(0) for y in uniq])
    ids = world["admin1_id"].values.ravel()
    pop = world["population"].values.ravel()
    ok = ids >= 0
    weight = np.bincount(ids[ok], pop[ok], n_adm)
    if "time" not in da.dims:
        v = da.values.ravel()
        return np.tile(np.bincount(ids[ok], (v * pop)[ok], n_adm) / weight, (len(uniq), 1))
    out = np.zeros((len(uniq), n_adm))
    flat = da.values.reshape(len(years), -1)
    for k, y in enumerate(uniq):
        v = flat[years == y].mean(0)
        out[k] = np.bincount(ids[ok], (v * pop)[ok], n_adm) / weight
    return out


def synthetic_detection(scenario: str, seed: int) -> dict[str, Any]:
    """How the fl standard-detection correction ranks true prevalence on a synthetic world.

    The world (configs/scenarios/<scenario>.toml, `seed`) is reduced to admin-1 x year:
    detected forced-labour cases per 100,000 population (the fl outcome), the
    population-weighted true prevalence (never a feature) and annual means of the observed
    drivers, with inspection coverage and the TIP watch list as detection proxies (reference:
    the median coverage over all admin-1 years, not on the watch list). Leave-one-admin-1-out
    predictions as reported and at standard detection are ranked against true prevalence.
    """
    from dataclasses import replace

    from riskmodel.config import load_config
    from riskmodel.countries.design import Design
    from riskmodel.countries.targets import FL
    from riskmodel.world.generate import make_world

    cfg = load_config(ROOT / "configs" / "scenarios" / f"{scenario}.toml")
    world = make_world(cfg.world, seed)
    feats = {n: _admin1_year(world, n) for n in SYNTHETIC_FEATURES}
    ids = world["admin1_id"].values.ravel()
    ok = ids >= 0
    n_adm = world.sizes["admin1"]
    pop = np.bincount(ids[ok], world["population"].values.ravel()[ok], n_adm)
    years = world["time"].dt.year.values
    uniq = np.unique(years)
    cases = world["identified_fl"].values.reshape(len(years), -1)
    detected = np.stack([np.bincount(ids[ok], cases[years == y].sum(0)[ok], n_adm)
                         for y in uniq]) / pop * 1e5
    truth = _admin1_year(world, "true_prevalence_fl")
    codes = np.array([str(c) for c in world["admin1"].values])
    X = np.stack([feats[n].ravel() for n in SYNTHETIC_FEATURES], axis=1).astype(np.float32)
    design = Design(X, detected.ravel(), np.tile(codes, len(uniq)), np.repeat(uniq, n_adm),
                    SYNTHETIC_FEATURES)
    reference = {"inspection_coverage": float(np.median(feats["inspection_coverage"])),
                 "tip_watchlist": 0.0}
    target = replace(FL, detection=reference)
    oos = out_of_sample(design, target, "loco", methods=("model",))
    rep, std = oos["pred"]["model"][0], oos["standard_detection"]
    t = truth.ravel()
    return {"scenario": scenario, "seed": seed, "rows": len(t), "units": int(n_adm),
            "reference": reference,
            "spearman_truth_detected": float(spearmanr(t, design.value).statistic),
            "spearman_truth_as_reported": float(spearmanr(t, rep).statistic),
            "spearman_truth_standard_detection": float(spearmanr(t, std).statistic)}


SCHEME_NAMES = {"loco": "leave-one-country-out", "forward": "forward in time"}
METHOD_NAMES = {"model": "model (LightGBM)", "linear": "ridge", "composite": "composite index",
                "global_mean": "global mean", "last_observed": "last observed value",
                "model_standard_detection": "model at standard detection"}


def _fmt(m: dict[str, Any] | None, key: str, digits: int) -> str:
    if not m or key not in m or m[key]["value"] is None:
        return "–"
    v, sp = m[key]["value"], m[key]["spread"]
    return (f"{v:.{digits}f}" + (f" [{sp[0]:.{digits}f}, {sp[1]:.{digits}f}]" if sp else ""))


def markdown(doc: dict[str, Any]) -> str:
    """The results tables of a results document: per target, scheme and row subset, each
    method's MAE, Spearman and interval coverage with their spreads."""
    lines = []
    for name, t in doc["targets"].items():
        digits = 2 if name == "cl" else 3
        lines += [f"**{name}**: {t['quantity']}, {t['units']}; {t['rows']} rows, "
                  f"{t['countries']} countries, {t['years'][0]}-{t['years'][1]}.", "",
                  "| evaluation | rows | method | MAE | Spearman | 80% coverage | "
                  "mean width |", "|---|---|---|---|---|---|---|"]
        for scheme, res in t["schemes"].items():
            for subset, label in (("all_rows", "all"),
                                  ("rows_with_earlier_value", "with an earlier value")):
                sub = res[subset]
                for m, name_m in METHOD_NAMES.items():
                    if m not in sub:
                        continue
                    w = sub[m].get("width")
                    lines.append(
                        f"| {SCHEME_NAMES[scheme]} ({res['folds']} folds) | {label}: "
                        f"{sub['rows']} ({sub['countries']} countries) | {name_m} | "
                        f"{_fmt(sub[m], 'mae', digits)} | {_fmt(sub[m], 'spearman', 2)} | "
                        f"{_fmt(sub[m], 'coverage', 2)} | "
                        f"{'–' if not w or w['value'] is None else format(w['value'], '.2f')} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "real.toml"))
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--targets", default="cl,fl")
    ap.add_argument("--schemes", default=",".join(SCHEMES))
    ap.add_argument("--bootstrap", type=int, default=400)
    ap.add_argument("--synthetic-seeds", type=int, default=2,
                    help="seeds per synthetic scenario for the detection check (0: skip)")
    ap.add_argument("--synthetic-into", type=Path, metavar="RESULTS.json",
                    help="run only the synthetic detection check and put it into this "
                         "existing results file")
    ap.add_argument("--from", dest="source", type=Path,
                    help="print the markdown tables of this results file and stop")
    args = ap.parse_args()
    if args.source:
        print(markdown(json.loads(args.source.read_text(encoding="utf-8"))))
        return
    synthetic = [synthetic_detection(sc, seed) for sc in SCENARIOS
                 for seed in range(1, args.synthetic_seeds + 1)]
    if args.synthetic_into:
        doc = json.loads(args.synthetic_into.read_text(encoding="utf-8"))
        doc["synthetic_detection"] = synthetic
        args.synthetic_into.write_text(json.dumps(clean(doc), indent=1) + "\n",
                                       encoding="utf-8")
        print(json.dumps(clean(synthetic), indent=1))
        return
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
