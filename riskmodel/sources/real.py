"""The country-year feature cube from real data: the one entry point for models and
backtests on countries (e.g. `configs/real-countries.toml`).

`build_country_cube` loads the config's sources in region mode, builds every catalogue
feature the inputs allow (grid-only ones and those without inputs are skipped, with the
reason in attrs["skipped_features"]), and gives one value per year: on a monthly axis each
December, on a yearly axis each step. The feature value for year Y uses only data
published by the end of Y (a table's year Y from year Y + lag_years). Gaps in the sources
stay NaN. `to_years` turns any such cube into the (year, ...) layout.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import features
from riskmodel.config import RunConfig, SourcesConfig, load_config
from riskmodel.errors import ConfigError
from riskmodel.sources.inputs import load_inputs, sources_of
from riskmodel.sources.notices import Notices


def planned_features(inputs: xr.Dataset, src: SourcesConfig, notices: Notices, *,
                     silent: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    """The catalogue features `inputs` allow, minus the config's `exclude_features`, and
    the skipped ones with their reason; each skip goes to `notices` unless its reason starts
    with one of `silent` (kinds of feature that never apply to the cube at hand)."""
    names, skipped = features.plan_features(inputs)
    unknown = [n for n in src.exclude_features if n not in features.CATALOGUE]
    if unknown:
        raise ConfigError(f"sources.exclude_features: unknown feature(s) {unknown}")
    for n in src.exclude_features:
        if n in names:
            names.remove(n)
            skipped[n] = "excluded by sources.exclude_features"
    for n, why in skipped.items():
        if not (silent and why.startswith(silent)):
            notices.add(f"feature {n} skipped: {why}")
    return names, skipped


def build_monthly_cube(cfg: RunConfig, notices: Notices | None = None,
                       chunks: dict[str, int] | None = None) -> xr.Dataset:
    """The region- or grid-mode feature cube on the config's time axis (monthly or yearly,
    attrs["frequency"]) for a config with `[sources]`, minus `exclude_features`; skipped
    features are added to `notices`."""
    src = sources_of(cfg)
    notices = Notices() if notices is None else notices
    inputs = load_inputs(cfg, notices)
    names, skipped = planned_features(inputs, src, notices)
    cube = features.build_cube(inputs, names, chunks=chunks)
    cube.attrs.update(skipped_features=json.dumps(skipped, sort_keys=True),
                      sources=inputs.attrs["sources"], notices=json.dumps(notices.lines),
                      synthetic=0, frequency=inputs.attrs["frequency"])
    return cube


def build_country_cube(config: RunConfig | str | Path,
                       notices: Notices | None = None) -> xr.Dataset:
    """Country-year feature cube from the real sources of `config` (a RunConfig or the
    path of a TOML run config with a region-mode `[sources]` section).

    Returns an `xarray.Dataset` of float32 features on (year, country): `year` int
    (start_year..end_year), `country` ISO 3166-1 alpha-3 codes (sorted; every code found
    in any table). Each variable's attrs give units, meaning (long_name), domain, inputs,
    kernel and params; the Dataset's attrs give `sources` (paths and sha256), `notices`
    (gaps, skipped codes and features) and `skipped_features`. The value for year Y is the
    feature at December of Y, computed from table values of years <= Y - lag_years (each
    source's publication lag; see `riskmodel.sources.inputs`). Gaps stay NaN. Raises
    `ConfigError`/`InputError` with one line naming the file, variable or row.
    """
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    src = sources_of(cfg)
    if src.mode != "region":
        raise ConfigError("build_country_cube needs [sources] mode = \"region\"")
    monthly = build_monthly_cube(cfg, notices)
    if "country" not in monthly.dims or "admin1" in monthly.dims:
        raise ConfigError("build_country_cube needs country-level sources (no admin-1 "
                          "tables)")
    yearly = to_years(monthly, src.start_year)
    yearly["country"].attrs = {"long_name": "ISO 3166-1 alpha-3 country code"}
    return yearly


def to_years(cube: xr.Dataset, start_year: int) -> xr.Dataset:
    """A feature cube on (time, ...) as one value per year from `start_year` on (the
    earlier years of a `history_start` are dropped): the yearly steps of a yearly cube,
    each December of a monthly one; dim `year` int32, attrs["frequency"] says which."""
    time = pd.DatetimeIndex(cube["time"].values)
    yearly_axis = cube.attrs.get("frequency") == "yearly"
    keep = (time.year >= start_year) & (yearly_axis | (time.month == 12))
    out = cube.isel(time=np.flatnonzero(keep))
    years = pd.DatetimeIndex(out["time"].values).year.values.astype(np.int32)
    out = out.assign_coords(time=years).rename(time="year")
    out["year"].attrs = ({"long_name": "calendar year; features as at the end of the year "
                                       "(inputs published by then)"} if yearly_axis
                         else {"long_name": "calendar year; features as at December"})
    out.attrs["frequency"] = ("yearly" if yearly_axis
                              else "yearly (December of each year)")
    return out
