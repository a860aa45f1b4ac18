"""Feature rows of a real target from a yearly feature cube, at country or region level.

A cube is an `xarray.Dataset` on (year, country) or (year, region); a region cube carries
the coordinate `iso3(region)`. Every float variable on the year and unit dims is a feature
except `population` (persons: its scale differs between a country and its regions, so a
model must not read it; it serves the counts). Training rows join outcome rows (iso3,
year) to the country cube's features of the same year, then append the target's history
features (`riskmodel.countries.history`). Rows whose country or year the cube lacks, or
whose cube features are all missing, are left out and counted in `Design.dropped`.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from riskmodel.countries.design import Design, join_outcome
from riskmodel.countries.history import History
from riskmodel.countries.outcome import Outcome
from riskmodel.errors import InputError

NOT_FEATURES = frozenset({"population"})
UNIT_DIMS = ("country", "region")


def unit_dim(cube: xr.Dataset) -> str:
    """"country" or "region": the cube's unit dimension."""
    dims = [d for d in UNIT_DIMS if d in cube.dims]
    if len(dims) != 1 or "year" not in cube.dims:
        raise InputError(f"feature cube must be on (year, country) or (year, region), got "
                         f"dims {tuple(cube.dims)}")
    return dims[0]


def cube_features(cube: xr.Dataset) -> tuple[str, ...]:
    """Names of the cube's features, in the cube's order. Features whose scale depends on
    the unit's size (the cube's `size_dependent_features`, e.g. the log of the unit's own
    population) are left out: a model fitted on countries would read a region's smaller
    value as a smaller country."""
    dim = unit_dim(cube)
    sized = set(json.loads(str(cube.attrs.get("size_dependent_features", "[]"))))
    names = tuple(str(v) for v, da in cube.data_vars.items()
                  if v not in NOT_FEATURES and v not in sized
                  and set(da.dims) == {"year", dim})
    if not names:
        raise InputError("feature cube has no features on (year, country|region)")
    return names


def _stack(cube: xr.Dataset, names: tuple[str, ...]) -> np.ndarray:
    dim = unit_dim(cube)
    return np.stack([cube[n].transpose("year", dim).values for n in names],
                    axis=-1).astype(np.float32)


def unit_iso3(cube: xr.Dataset) -> np.ndarray:
    """The country code of every unit: the unit itself, or a region's `iso3`."""
    dim = unit_dim(cube)
    if dim == "country":
        return np.array([str(c) for c in cube["country"].values])
    if "iso3" not in cube.coords and "iso3" not in cube:
        raise InputError("region cube has no iso3(region) coordinate")
    return np.array([str(c) for c in cube["iso3"].values])


def training_design(cube: xr.Dataset, outcome: Outcome, history: History) -> Design:
    """Outcome rows joined to the country cube's features of their year, plus history."""
    if unit_dim(cube) != "country":
        raise InputError("training needs a country cube on (year, country)")
    names = cube_features(cube)
    idx, rows, dropped = join_outcome(_stack(cube, names), cube, outcome)
    iso3, year = outcome.iso3[idx], outcome.year[idx]
    X = np.concatenate([rows, history.features(iso3, year)], axis=1)
    return Design(X, outcome.value[idx], iso3, year, names + history.names, dropped)


def prediction_rows(cube: xr.Dataset, year: int, history: History,
                    features: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit codes, iso3, X) of every unit with at least one cube feature in `year`, X in
    the column order `features` (cube features the training cube had, then history)."""
    names = cube_features(cube)
    cube_part = tuple(f for f in features if f not in history.names)
    missing = [f for f in cube_part if f not in names]
    if missing:
        raise InputError(f"prediction cube lacks features the model was trained on: "
                         f"{missing}")
    years = [int(y) for y in cube["year"].values]
    if year not in years:
        raise InputError(f"year {year}: the feature cube covers {years[0]} to {years[-1]}")
    x = _stack(cube.isel(year=[years.index(year)]), cube_part)[0]
    has = ~np.isnan(x).all(axis=1)
    units = np.array([str(c) for c in cube[unit_dim(cube)].values])[has]
    iso3 = unit_iso3(cube)[has]
    hist = history.features(iso3, np.full(len(iso3), year))
    return units, iso3, np.concatenate([x[has], hist], axis=1)
