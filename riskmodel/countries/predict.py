"""Predict a real target for every country (or region) in a given year.

`predict_target` is the prediction contract of the real child-labour and forced-labour
models (`riskmodel predict`); `rollup` averages region predictions to countries.
`predict_year` is the older model of the WDI share of children 7-14 in employment: it
trains on survey rows from years before `year` only (features of each row's own year, so
inputs up to `year - 1`), then predicts from the cube's features of `year` (inputs up to
`year`) for every country with any input that year, surveyed or not, in percent with the
nominal 80% interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from riskmodel.countries.design import design_rows, year_rows
from riskmodel.countries.fit import TargetModel
from riskmodel.countries.history import History
from riskmodel.countries.labour import LabourOutcome
from riskmodel.countries.model import INTERVAL, IntervalModel
from riskmodel.countries.outcome import TARGET, Outcome
from riskmodel.countries.rows import prediction_rows, training_design, unit_dim
from riskmodel.countries.store import rows_hash
from riskmodel.countries.targets import target
from riskmodel.errors import InputError

MIN_TRAINING_ROWS = 20
NOTE = ("World Bank WDI share of children aged 7-14 in employment (SL.TLF.0714.ZS), "
        "modelled from the country-year cube. 'Children in employment' is not the ILO "
        "definition of child labour; surveys are sparse and differ in instruments. Surveyed "
        "countries are low- and middle-income: predictions for never-surveyed countries "
        "are extrapolations no evaluation here tests.")


def predict_year(cube: xr.Dataset, outcome: Outcome, year: int) -> dict[str, Any]:
    """{"target", "year", "predictions": [{"iso3", "value", "lo", "hi"}], ...} for `year`."""
    design = design_rows(cube, outcome)
    train = design.year < year
    if train.sum() < MIN_TRAINING_ROWS:
        raise InputError(f"year {year}: only {int(train.sum())} outcome rows from earlier "
                         f"years (first survey year {int(design.year.min())}); need "
                         f"{MIN_TRAINING_ROWS}")
    codes, X = year_rows(cube, year)
    model = IntervalModel("model").fit(design.X[train], design.value[train],
                                       design.iso3[train])
    value, lo, hi = model.predict(X)
    return {
        "target": TARGET, "year": int(year), "units": "percent", "interval": INTERVAL,
        "training_rows": int(train.sum()),
        "training_years": [int(design.year[train].min()), int(design.year[train].max())],
        "training_countries": len(np.unique(design.iso3[train])),
        "note": NOTE,
        "predictions": [{"iso3": str(c), "value": round(float(v), 3),
                         "lo": round(float(a), 3), "hi": round(float(b), 3)}
                        for c, v, a, b in zip(codes, value, lo, hi)],
    }


def predict_target(cube: xr.Dataset, read: LabourOutcome, name: str, year: int, *,
                   at: xr.Dataset | None = None) -> tuple[dict[str, Any], TargetModel]:
    """The prediction document of real target `name` ("cl" or "fl") for `year`, and the
    fitted model.

    Trains on outcome rows of years before `year` only (features of each row's own year,
    so inputs published by then) joined to the country cube `cube`, then predicts every
    unit of `at` (default `cube`; a region cube for region level) with any input in `year`.
    The document is the prediction contract: {"target", "year", "level", "quantity",
    "units", "interval", "predictions": [{"iso3", "gdlcode" (regions), "value", "lo",
    "hi", "value_standard_detection" (fl)}], ...} plus what the training rows were.
    """
    t = target(name)
    at = cube if at is None else at
    level = unit_dim(at)
    history = History(name, read.outcome)
    earlier = read.outcome.year < year
    design = training_design(cube, read.outcome, history)
    train = design.year < year
    if train.sum() < MIN_TRAINING_ROWS:
        raise InputError(f"year {year}: only {int(train.sum())} {name} outcome rows from "
                         f"earlier years (first {int(read.outcome.year.min())}); need "
                         f"{MIN_TRAINING_ROWS}")
    model = TargetModel(t, "model", design.features).fit(
        design.X[train], design.value[train], design.iso3[train])
    units, iso3, X = prediction_rows(at, year, history, design.features)
    value, lo, hi = model.predict(X)
    std = model.predict(model.standard_detection(X))[0] if t.detection else None
    rows = []
    for k, (u, c) in enumerate(zip(units, iso3)):
        row: dict[str, Any] = {"iso3": str(c)}
        if level == "region":
            row["gdlcode"] = str(u)
        row.update(value=round(float(value[k]), 4), lo=round(float(lo[k]), 4),
                   hi=round(float(hi[k]), 4))
        if std is not None:
            row["value_standard_detection"] = round(float(std[k]), 4)
        rows.append(row)
    doc = {
        "target": name, "year": int(year), "level": level, "quantity": t.quantity,
        "units": t.units, "interval": INTERVAL,
        "training_rows": int(train.sum()),
        "training_years": [int(design.year[train].min()), int(design.year[train].max())],
        "training_countries": int(len(np.unique(design.iso3[train]))),
        "training_rows_sha256": rows_hash(design.X[train], design.value[train],
                                          design.iso3[train], design.year[train]),
        "outcome_rows_before_year": int(earlier.sum()),
        "hyper_parameters": model.chosen_, "scale": t.scale.name,
        "interval_halfwidth_model_scale": round(model.halfwidth_, 6),
        "detection_reference": {k: v for k, v in t.detection.items()
                                if k in design.features},
        "note": t.note, "predictions": rows,
    }
    return doc, model


def rollup(doc: dict[str, Any], population: dict[str, float]) -> dict[str, float]:
    """{iso3: population-weighted mean of its regions' values} of a region-level document;
    `population` maps each gdlcode to persons (regions without one are left out). For cl
    this weights by all persons, which equals weighting by children where the child share
    is the country's everywhere (as the counts assume)."""
    total: dict[str, float] = {}
    weight: dict[str, float] = {}
    for p in doc["predictions"]:
        w = population.get(p["gdlcode"], float("nan"))
        if np.isfinite(w) and w > 0:
            total[p["iso3"]] = total.get(p["iso3"], 0.0) + w * p["value"]
            weight[p["iso3"]] = weight.get(p["iso3"], 0.0) + w
    return {c: total[c] / weight[c] for c in total}
