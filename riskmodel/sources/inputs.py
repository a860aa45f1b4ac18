"""Assemble canonical inputs from the real sources a config names (`[sources]`).

Region mode gives tables on (time, country) (or (time, admin1) when an admin-year table is
among the inputs) and static (country,) layers; grid mode puts everything on the target
grid of `[sources.grid]` with `country_id` rasterised from the boundaries.

The time axis has the `[sources] frequency`: monthly, where yearly values are laid on the
months as steps (a value of year Y holds from December of Y + lag_years to the following
November, so a feature at month t never reads a year that had not ended or been published
by t), or yearly, where the step of year Y holds the table's year Y - lag_years. Tables
with `carry_forward` hold each variable's last year with data to the end of the axis and
record how many years old the carried values are; tables with `absent_is_zero` (event
tables) read a code-year without a row, within the years the file covers, as 0. Gridded
time series are reduced to regions (cos(lat)-weighted means) in region mode and regridded
(area-weighted) in grid mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.config import BoundariesSource, CsvSource, GridSource, RunConfig, SourcesConfig
from riskmodel.contract import FREQUENCIES, period_starts
from riskmodel.errors import ConfigError, InputError
from riskmodel.io.atomic import sha256_file
from riskmodel.sources.boundaries import Boundaries, rasterize, read_geojson
from riskmodel.sources.grids import grid_variable, open_grid
from riskmodel.sources.notices import Notices
from riskmodel.sources.paths import resolve_path
from riskmodel.sources.regrid import regrid_to, target_grid
from riskmodel.sources.tables import read_csv_table, read_rows
from riskmodel.sources.zonal import region_means


def sources_of(cfg: RunConfig | SourcesConfig) -> SourcesConfig:
    """The `[sources]` section of a run config (or the section itself)."""
    src = cfg.sources if isinstance(cfg, RunConfig) else cfg
    if src is None:
        raise ConfigError("the config has no [sources] section (real inputs); without it "
                          "the run uses the synthetic world")
    return src


def load_inputs(cfg: RunConfig | SourcesConfig, notices: Notices | None = None) -> xr.Dataset:
    """Canonical inputs (`xarray.Dataset`) from the sources of `cfg`.

    Region mode: variables on (time, country|admin1) float32 and static (country,) ones,
    `time` from January of the first year (`history_start`, else `start_year`) to the end
    year, one step per month or year (`frequency`, also in attrs["frequency"]), region
    codes sorted. Grid mode: (time, lat, lon), (lat, lon) and (time, country) variables plus
    `country_id(lat, lon)`. Notices (gaps, skipped codes) go to `notices` and to
    attrs["notices"]; attrs["sources"] records each file's sha256. Raises `InputError`
    (naming file, variable, row) or `ConfigError`, and returns nothing partial.
    """
    src = sources_of(cfg)
    notices = Notices() if notices is None else notices
    bounds = None
    provenance: dict[str, dict[str, str]] = {}
    if src.boundaries is not None:
        b = src.inputs[src.boundaries]
        assert isinstance(b, BoundariesSource)
        path = resolve_path(b.path, what=f"input {src.boundaries!r}")
        if b.country_property is not None:
            raise ConfigError(f"input {src.boundaries!r} holds sub-national regions "
                              f"(country_property); build those with riskmodel.regions")
        bounds = read_geojson(path, b.code_property, b.skip_codes, notices, repair=b.repair)
        provenance[src.boundaries] = _provenance(path, b.path, b.reader)
    tables = read_tables(src, notices, provenance)
    years = (first_year(src), end_year(src, tables))
    time = time_axis(src, years)
    yearly: dict[str, xr.DataArray] = {}
    for name, (s, table) in tables.items():
        yearly.update(prepared(name, s, table, years[1], src.frequency))
    layers: dict[str, xr.DataArray] = {}
    for name, s in src.inputs.items():
        if isinstance(s, GridSource):
            path = resolve_path(s.path, what=f"input {name!r}")
            provenance[name] = _provenance(path, s.path, s.reader)
            layers.update(_grid_layers(name, path, s, src, bounds, time))
    lags = {v: s.lag_years for s, t in tables.values() for v in [*t.data_vars, *_age(s)]}
    zero = {v for s, t in tables.values() if s.absent_is_zero for v in t.data_vars}
    if src.mode == "grid":
        ds = _grid_mode(src, bounds, yearly, layers, time, notices, lags)
    else:
        ds = _region_mode(yearly, layers, time, src.frequency, lags, zero)
    ds.attrs = {"title": "riskmodel canonical inputs from real sources",
                "Conventions": "CF-1.8", "synthetic": 0, "mode": src.mode,
                "frequency": src.frequency,
                "sources": json.dumps(provenance, sort_keys=True),
                "notices": json.dumps(notices.lines)}
    return ds


# Tables are read to this year when `end_year` is not set; the axis then ends at the
# latest year any table reaches.
OPEN_END = 2100


def first_year(src: SourcesConfig) -> int:
    """The first year of the inputs' time axis (`history_start`, else `start_year`)."""
    return src.history_start if src.history_start is not None else src.start_year


def time_axis(src: SourcesConfig, years: tuple[int, int]) -> np.ndarray:
    """The inputs' time axis for the years `years` (inclusive) at `src.frequency`."""
    steps = (years[1] - years[0] + 1) * 12 // FREQUENCIES[src.frequency]
    return period_starts(years[0], steps, src.frequency)


def read_tables(src: SourcesConfig, notices: Notices,
                provenance: dict[str, dict[str, str]]) -> dict[str, tuple[CsvSource,
                                                                           xr.Dataset]]:
    """Every CSV input of `src`, read on (year, key) from the first year its values enter
    the axis (one year earlier on a monthly axis, to fill January..November) to `end_year`
    (or `OPEN_END`); each file's provenance is added to `provenance`."""
    out = {}
    parsed: dict[Path, tuple[list[str], list[tuple[int, list[str]]]]] = {}
    for name, s in src.inputs.items():
        if not isinstance(s, CsvSource):
            continue
        path = resolve_path(s.path, what=f"input {name!r}")
        if path not in parsed:  # a file two inputs read is split into rows once
            parsed[path] = read_rows(path)
        provenance[name] = _provenance(path, s.path, s.reader)
        before = 1 if src.frequency == "monthly" else 0
        first = first_year(src) - before - s.lag_years
        last = src.end_year if src.end_year is not None else OPEN_END
        out[name] = (s, read_csv_table(path, s, (first, last), notices,
                                       open_end=src.end_year is None, parsed=parsed[path]))
    return out


def _last_data_year(table: xr.Dataset) -> int | None:
    """The last year with any value in any variable of `table` (None: no value)."""
    finite = [np.isfinite(table[v].values).any(axis=1) for v in table.data_vars]
    if not finite or not np.any(finite):
        return None
    rows = np.flatnonzero(np.any(finite, axis=0))
    return int(table["year"].values[rows[-1]])


def end_year(src: SourcesConfig, tables: dict[str, tuple[CsvSource, xr.Dataset]]) -> int:
    """`end_year`, or when unset the latest year any table reaches: its last year with
    data plus its publication lag (carried-forward tables do not extend the axis)."""
    if src.end_year is not None:
        return src.end_year
    reach = [last + s.lag_years for s, t in tables.values()
             if not s.carry_forward and (last := _last_data_year(t)) is not None]
    if not reach:
        raise ConfigError("[sources] has no end_year and no table to take it from")
    return max(src.start_year, max(reach))


def _age(s: CsvSource) -> list[str]:
    return [s.carry_forward] if s.carry_forward else []


def prepared(name: str, s: CsvSource, table: xr.Dataset, end: int,
             frequency: str) -> dict[str, xr.DataArray]:
    """The variables of an input's table on (year, key), ready to place on the axis: cut
    at `end` (the axis' last year) and marked with the years the file covers (attrs
    `covered`, for `absent_is_zero`). With `carry_forward` each variable's values of its
    last year with data are held to `end`, and the age variable (year,) gives, per year,
    how many years old the oldest carried value is (0 while every variable is current)."""
    # Cut at the axis' end, and reach it (an open-ended read stops at the file's last row).
    years = np.arange(int(table["year"].values[0]), end + 1)
    table = table.reindex(year=years)
    out: dict[str, xr.DataArray] = {}
    age = np.zeros(years.size)
    for v in table.data_vars:
        da = table[v].copy()
        rows = np.flatnonzero(np.isfinite(da.values).any(axis=1))
        if not rows.size:
            da.attrs["covered"] = []
            out[str(v)] = da
            continue
        last = int(rows[-1])
        # Carried years count as covered: an event table's absent row is 0 there too.
        cover_end = years[-1] if s.carry_forward else years[last]
        da.attrs["covered"] = [int(years[rows[0]]), int(cover_end)]
        if s.carry_forward:
            da.values[last + 1:] = da.values[last]
            age = np.maximum(age, np.maximum(0, years - years[last]))
        out[str(v)] = da
    if s.carry_forward:
        out[s.carry_forward] = xr.DataArray(
            age.astype(np.float64), dims=("year",), coords={"year": years},
            attrs={"units": "year", "source": f"{name}: years its oldest carried value is "
                                              f"behind", "covered": []})
    return out


def _provenance(path: Path, given: str, reader: str) -> dict[str, str]:
    # The path as the config gives it, so the record is the same in every clone.
    entry = {"path": given, "reader": reader}
    if path.is_file():
        entry["sha256"] = sha256_file(path)
    return entry


def _grid_layers(name: str, path: Path, s: GridSource, src: SourcesConfig,
                 bounds: Boundaries | None, time: np.ndarray) -> dict[str, xr.DataArray]:
    ds = open_grid(path, s.reader, decode_times=s.decode_times)
    out = {}
    try:
        for var, vmap in s.variables.items():
            da = grid_variable(ds, path, vmap)
            if "time" in da.dims and src.frequency != "monthly":
                raise ConfigError(f"input {name!r}: variable {var} is a monthly time "
                                  f"series; a {src.frequency} axis takes static grids "
                                  f"(or climatologies) only")
            if "time" in da.dims:
                da = da.reindex(time=time)
            if src.mode == "region":
                if bounds is None:
                    raise ConfigError(f"input {name!r}: a grid in region mode needs "
                                      f"`boundaries` to reduce it to countries")
                labels = rasterize(bounds, da["lat"].values, da["lon"].values)
                out[var] = region_means(da, labels, bounds.codes)
            else:
                assert src.grid is not None
                lat, lon = target_grid(src.grid)
                out[var] = regrid_to(da, lat, lon)
            out[var].attrs = dict(da.attrs)
    finally:
        ds.close()
    return out


def _monthly(table: xr.DataArray, time: np.ndarray) -> xr.DataArray:
    # The table starts 1 + lag years before the time axis. Repeating each year 12 times
    # and dropping the first month puts year k's value on December of k .. November of
    # k + 1 of the shifted calendar: month t holds year (first + (t + 1) // 12).
    values = np.repeat(table.transpose("year", ...).values, 12, axis=0)[1:1 + time.size]
    dims = ("time", *[d for d in table.dims if d != "year"])
    coords = {"time": time, **{d: table[d] for d in dims[1:]}}
    return xr.DataArray(values, dims=dims, coords=coords, attrs=dict(table.attrs))


def place(table: xr.DataArray, time: np.ndarray, frequency: str, lag: int,
          codes: list[str] | None = None, absent_is_zero: bool = False) -> xr.DataArray:
    """A (year, code) or (year,) table on the time axis `time` (from `prepared`): monthly
    steps from December of year + `lag`, or the yearly step of year + `lag`. `codes`
    reindexes the code dim first; with `absent_is_zero` a missing code-year within the
    years the file covers (attrs `covered`) is 0."""
    code_dims = [d for d in table.dims if d != "year"]
    if codes is not None and code_dims:
        table = table.reindex({code_dims[0]: codes})
    covered = table.attrs.get("covered") or []
    if absent_is_zero and covered:
        inside = (table["year"] >= covered[0]) & (table["year"] <= covered[1])
        table = table.where(~(inside & table.isnull()), 0.0)
    attrs = {k: v for k, v in table.attrs.items() if k != "covered"}
    if frequency == "monthly":
        out = _monthly(table, time)
    else:
        years = pd.DatetimeIndex(time).year.values
        out = table.reindex(year=years - lag).assign_coords(year=time).rename(year="time")
    out.attrs = attrs
    return out


def _region_mode(yearly: dict[str, xr.DataArray], layers: dict[str, xr.DataArray],
                 time: np.ndarray, frequency: str, lags: dict[str, int],
                 zero: set[str]) -> xr.Dataset:
    regional = [v for v, t in yearly.items() if "region" in t.dims]
    if regional:
        raise ConfigError(f"variable(s) {regional} come from a region table (key = "
                          f"\"region\"); build those with riskmodel.regions")
    admin = [v for v, t in yearly.items() if "admin1" in t.dims]
    countries = sorted({str(c) for t in yearly.values() if "country" in t.dims
                        for c in t["country"].values}
                       | {str(c) for t in layers.values() for c in t["country"].values
                          if np.isfinite(t.sel(country=c).values).any()}
                       | {str(a).split("-")[0] for v in admin
                          for a in yearly[v]["admin1"].values})
    data = {}
    for var, table in yearly.items():
        dim = "admin1" if var in admin else "country"
        codes = countries if dim == "country" else None
        placed = place(table, time, frequency, lags[var], codes, var in zero)
        data[var] = placed.astype(np.float32)
    for var, layer in layers.items():
        data[var] = layer.reindex(country=countries).astype(np.float32)
    ds = xr.Dataset(data, coords={"time": time, "country": countries})
    if admin:
        units = sorted({str(a) for v in admin for a in yearly[v]["admin1"].values})
        ds = ds.reindex(admin1=units)
        ds["admin1_country"] = ("admin1", np.array(
            [countries.index(a.split("-")[0]) for a in units], dtype=np.int32))
    return ds


def _grid_mode(src: SourcesConfig, bounds: Boundaries | None,
               yearly: dict[str, xr.DataArray], layers: dict[str, xr.DataArray],
               time: np.ndarray, notices: Notices, lags: dict[str, int]) -> xr.Dataset:
    assert src.grid is not None and bounds is not None
    lat, lon = target_grid(src.grid)
    labels = rasterize(bounds, lat, lon)
    codes = list(bounds.codes)
    data: dict[str, xr.DataArray] = {}
    for var, table in yearly.items():
        if "admin1" in table.dims or "region" in table.dims:
            raise InputError(f"variable {var}: admin-1 and region tables need their own "
                             f"boundaries, which grid mode does not read; use region mode")
        if "country" in table.dims:
            outside = sorted(set(map(str, table["country"].values)) - set(codes))
            if outside:
                notices.add(f"variable {var}: {len(outside)} code(s) have no boundary and "
                            f"are left out of the grid, e.g. {outside[:5]}")
        data[var] = place(table, time, "monthly", lags[var], codes).astype(np.float32)
    for var, layer in layers.items():
        data[var] = layer.astype(np.float32)
    ds = xr.Dataset(data, coords={"time": time, "lat": lat, "lon": lon, "country": codes})
    ds["country_id"] = (("lat", "lon"), labels.astype(np.int32))
    return ds
