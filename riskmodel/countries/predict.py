"""Predict the share of children 7-14 in employment for every country in a given year.

`predict_year` trains the country model on survey rows from years before `year` only
(features of each row's own year, so inputs up to `year - 1`), then predicts from the
cube's features of `year` (inputs up to `year`) for every country with any input that
year, surveyed or not. Values are percent with the nominal 80% interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from riskmodel.countries.design import design_rows, year_rows
from riskmodel.countries.model import INTERVAL, IntervalModel
from riskmodel.countries.outcome import TARGET, Outcome
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
