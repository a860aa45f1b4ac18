"""Build the feature cube: every catalogue feature as a float32 variable on (time, lat, lon).

The cube carries each feature's catalogue entry in its attrs (domain, inputs, kernel,
parameters, units, meaning) so a saved cube documents itself. Sea cells (no country) are
NaN in every feature.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import xarray as xr

from features.catalogue import CATALOGUE
from features.climatic import BASELINE_MONTHS

# Months at the start of a record whose features are not comparable with later ones (the
# climatology baseline and the longest lag); models train on months after it.
WARMUP_MONTHS = BASELINE_MONTHS


def check_inputs(inputs: xr.Dataset, names: Iterable[str]) -> None:
    """Raise `KeyError` naming the first feature whose declared input is missing."""
    for name in names:
        missing = [v for v in CATALOGUE[name].inputs if v not in inputs]
        if missing:
            raise KeyError(f"feature {name!r} needs input variable(s) {missing} which the "
                           f"inputs do not have")


def build_feature(inputs: xr.Dataset, name: str) -> xr.DataArray:
    """Compute one catalogue feature on (time, lat, lon) with its attrs, NaN at sea."""
    entry = CATALOGUE[name]
    da = entry.compute(inputs, **entry.params).transpose("time", "lat", "lon")
    land = inputs["country_id"] >= 0
    da = da.where(land).astype(np.float32)
    da.attrs = {"units": entry.units, "long_name": entry.meaning, "domain": entry.domain,
                "inputs": ",".join(entry.inputs), "kernel": entry.kernel,
                "params": json.dumps(dict(entry.params), sort_keys=True)}
    return da.rename(name)


def build_cube(inputs: xr.Dataset, names: Iterable[str] | None = None) -> xr.Dataset:
    """The feature cube for `names` (default: the whole catalogue, in catalogue order)."""
    names = list(CATALOGUE) if names is None else list(names)
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        raise KeyError(f"unknown feature(s) {unknown}; see `riskmodel features list`")
    check_inputs(inputs, names)
    cube = xr.Dataset({n: build_feature(inputs, n) for n in names})
    cube.attrs = {"title": "riskmodel feature cube", "Conventions": "CF-1.8",
                  "warmup_months": WARMUP_MONTHS}
    return cube
