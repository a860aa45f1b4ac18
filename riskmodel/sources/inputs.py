"""Assemble canonical inputs from the real sources a config names (`[sources]`).

Region mode gives tables on (time, country) (or (time, admin1) when an admin-year table is
among the inputs) and static (country,) layers; grid mode puts everything on the target
grid of `[sources.grid]` with `country_id` rasterised from the boundaries. Yearly values
are laid on the monthly time axis as steps: the value of year Y on every month of Y, so a
feature at month t reads years up to t's year and the catalogue's monthly parameters (a
12-month lag is one year) keep their meaning. Gridded time series are reduced to regions
(cos(lat)-weighted means) in region mode and regridded (area-weighted) in grid mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from riskmodel.config import BoundariesSource, CsvSource, GridSource, RunConfig, SourcesConfig
from riskmodel.contract import month_starts
from riskmodel.errors import ConfigError, InputError
from riskmodel.io.atomic import sha256_file
from riskmodel.sources.boundaries import Boundaries, rasterize, read_geojson
from riskmodel.sources.grids import grid_variable, open_grid
from riskmodel.sources.notices import Notices
from riskmodel.sources.paths import resolve_path
from riskmodel.sources.regrid import regrid_to, target_grid
from riskmodel.sources.tables import read_csv_table
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
    `time` monthly from January start_year to December end_year, region codes sorted.
    Grid mode: (time, lat, lon), (lat, lon) and (time, country) variables plus
    `country_id(lat, lon)`. Notices (gaps, skipped codes) go to `notices` and to
    attrs["notices"]; attrs["sources"] records each file's sha256. Raises `InputError`
    (naming file, variable, row) or `ConfigError`, and returns nothing partial.
    """
    src = sources_of(cfg)
    notices = Notices() if notices is None else notices
    years = (src.start_year, src.end_year)
    time = month_starts(years[0], (years[1] - years[0] + 1) * 12)
    bounds = None
    provenance = {}
    if src.boundaries is not None:
        b = src.inputs[src.boundaries]
        assert isinstance(b, BoundariesSource)
        path = resolve_path(b.path, what=f"input {src.boundaries!r}")
        bounds = read_geojson(path, b.code_property, b.skip_codes, notices)
        provenance[src.boundaries] = _provenance(path, b.path, b.reader)
    yearly: dict[str, xr.DataArray] = {}
    layers: dict[str, xr.DataArray] = {}
    for name, s in src.inputs.items():
        if isinstance(s, BoundariesSource):
            continue
        path = resolve_path(s.path, what=f"input {name!r}")
        provenance[name] = _provenance(path, s.path, s.reader)
        if isinstance(s, CsvSource):
            # One year (plus the lag) before the start fills January..November of it.
            first = years[0] - 1 - s.lag_years
            table = read_csv_table(path, s, (first, years[1]), notices)
            yearly.update({str(v): table[v] for v in table.data_vars})
        else:
            layers.update(_grid_layers(name, path, s, src, bounds, time))
    if src.mode == "grid":
        ds = _grid_mode(src, bounds, yearly, layers, time, notices)
    else:
        ds = _region_mode(yearly, layers, time)
    ds.attrs = {"title": "riskmodel canonical inputs from real sources",
                "Conventions": "CF-1.8", "synthetic": 0, "mode": src.mode,
                "sources": json.dumps(provenance, sort_keys=True),
                "notices": json.dumps(notices.lines)}
    return ds


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
    dim = table.dims[1] if table.dims[0] == "year" else table.dims[0]
    return xr.DataArray(values, dims=("time", dim), coords={"time": time, dim: table[dim]},
                        attrs=dict(table.attrs))


def _region_mode(yearly: dict[str, xr.DataArray], layers: dict[str, xr.DataArray],
                 time: np.ndarray) -> xr.Dataset:
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
        monthly = _monthly(table, time)
        if dim == "country":
            monthly = monthly.reindex(country=countries)
        data[var] = monthly.astype(np.float32)
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
               time: np.ndarray, notices: Notices) -> xr.Dataset:
    assert src.grid is not None and bounds is not None
    lat, lon = target_grid(src.grid)
    labels = rasterize(bounds, lat, lon)
    codes = list(bounds.codes)
    data: dict[str, xr.DataArray] = {}
    for var, table in yearly.items():
        if "admin1" in table.dims:
            raise InputError(f"variable {var}: admin-1 tables need admin-1 boundaries, "
                             f"which grid mode does not read; use region mode")
        outside = sorted(set(map(str, table["country"].values)) - set(codes))
        if outside:
            notices.add(f"variable {var}: {len(outside)} code(s) have no boundary and are "
                        f"left out of the grid, e.g. {outside[:5]}")
        data[var] = _monthly(table, time).reindex(country=codes).astype(np.float32)
    for var, layer in layers.items():
        data[var] = layer.astype(np.float32)
    ds = xr.Dataset(data, coords={"time": time, "lat": lat, "lon": lon, "country": codes})
    ds["country_id"] = (("lat", "lon"), labels.astype(np.int32))
    return ds
