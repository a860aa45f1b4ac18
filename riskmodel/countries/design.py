"""Rows for the country model: survey outcomes joined to the country-year feature cube.

The cube (`riskmodel.sources.build_country_cube`) gives features on (year, country) where
the value for year Y uses inputs of years up to Y. A survey row (country, Y) takes the
features of its own year; rows whose country or year the cube lacks, or whose features are
all missing, are left out and counted in `Design.dropped` so reports can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from riskmodel.countries.outcome import Outcome
from riskmodel.errors import InputError


@dataclass(frozen=True)
class Design:
    """Feature matrix and outcome of the survey rows the cube covers."""

    X: np.ndarray         # (n, F) float32
    value: np.ndarray     # (n,) percent
    iso3: np.ndarray      # (n,) str
    year: np.ndarray      # (n,) int
    features: tuple[str, ...]
    dropped: dict[str, int] = field(default_factory=dict)


def _stack(cube: xr.Dataset) -> tuple[np.ndarray, tuple[str, ...]]:
    """(year, country, F) float32 array of every cube feature."""
    names = tuple(str(v) for v in cube.data_vars)
    if not names:
        raise InputError("country cube has no features")
    if set(cube[names[0]].dims) != {"year", "country"}:
        raise InputError(f"country cube variables must be on (year, country), got "
                         f"{cube[names[0]].dims}")
    arr = np.stack([cube[n].transpose("year", "country").values for n in names], axis=-1)
    return arr.astype(np.float32), names


def join_outcome(arr: np.ndarray, cube: xr.Dataset, outcome: Outcome
                 ) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Match `outcome` rows to `arr` (year, country, F) of `cube`: (kept row indices,
    their feature rows (n, F), counts of dropped rows by reason). `InputError` naming the
    outcome source when no row matches."""
    years = {int(y): i for i, y in enumerate(cube["year"].values)}
    codes = {str(c): j for j, c in enumerate(cube["country"].values)}
    keep, rows = [], []
    dropped = {"country not in cube": 0, "year not in cube": 0, "no features that year": 0}
    for k, (c, y) in enumerate(zip(outcome.iso3, outcome.year)):
        if c not in codes:
            dropped["country not in cube"] += 1
        elif int(y) not in years:
            dropped["year not in cube"] += 1
        elif np.isnan(x := arr[years[int(y)], codes[c]]).all():
            dropped["no features that year"] += 1
        else:
            keep.append(k)
            rows.append(x)
    if not keep:
        raise InputError(f"{outcome.source}: no outcome row matches a country and year of "
                         f"the feature cube")
    return np.array(keep), np.stack(rows), {k: v for k, v in dropped.items() if v}


def design_rows(cube: xr.Dataset, outcome: Outcome) -> Design:
    """Join `outcome` rows to `cube` features of the same country and year."""
    arr, names = _stack(cube)
    idx, X, dropped = join_outcome(arr, cube, outcome)
    return Design(X, outcome.value[idx], outcome.iso3[idx], outcome.year[idx], names,
                  dropped)


def year_rows(cube: xr.Dataset, year: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes, X) of every country with at least one feature in `year`."""
    arr, _ = _stack(cube)
    years = [int(y) for y in cube["year"].values]
    if year not in years:
        raise InputError(f"year {year}: the country cube covers {years[0]} to {years[-1]}")
    x = arr[years.index(year)]
    has = ~np.isnan(x).all(axis=1)
    return np.array([str(c) for c in cube["country"].values])[has], x[has]
