"""Canonical inputs for the region cube: every source of a config's `[sources]` on a yearly
axis, per sub-national region or per country.

- Region tables (`key = "region"`, GDL) give each region its own values; at country level
  their national rows (`level_column`) give the country's.
- Country tables (WDI, UCDP, TIP, ILAB, ERA5) stay on (time, country); the feature
  catalogue repeats them over each country's regions (`region_country`).
- Grids (GPW population, the HadCRUT climatology) are reduced over the polygons with
  `riskmodel.sources.zonal.Supersampled` (sums for counts, area-weighted means otherwise);
  at country level over all of a country's polygons. Each unit's area (`area_km2`) comes
  from the same sub-cells.
- `population_unit` (persons per unit and year, the roll-up weight; `[sources.population]`):
  the region table's population (GDL) of the year, or, where it has none (past its last
  year, or a gap), its latest earlier value (else its first later one) scaled by the
  country's growth in the country table (WDI) in between; for units without any, the
  grid's count (GPW 2020) scaled the same way; at country level, the country table itself
  as a last resort. The coordinate `population_source` says which, per unit.

Every value for year Y is what its source had published by Y (`lag_years`); sources that
stop early are carried forward with their age (`carry_forward`), event tables read absent
rows as 0 (`absent_is_zero`).
"""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.config import GridSource, PopulationSpec, RunConfig, SourcesConfig
from riskmodel.errors import ConfigError, InputError
from riskmodel.regions.polygons import RegionSet, region_set
from riskmodel.sources.grids import grid_variable, open_grid
from riskmodel.sources.inputs import (_provenance, end_year, first_year, place, prepared,
                                      read_tables, sources_of, time_axis)
from riskmodel.sources.notices import Notices
from riskmodel.sources.paths import resolve_path
from riskmodel.sources.zonal import FINE_DEGREES, Supersampled

Level = Literal["region", "country"]


def region_inputs(cfg: RunConfig, level: Level, notices: Notices,
                  regions: RegionSet | None = None) -> tuple[xr.Dataset, RegionSet]:
    """(canonical inputs on (time, region|country), the regions) for `cfg` (module
    docstring). The time axis is yearly from `history_start` (else `start_year`) to the
    end year. `regions`, when given, is the config's `region_set` already read (its
    notices are repeated into `notices`); else the polygons are read here. Raises
    `ConfigError` / `InputError` with one line."""
    src = sources_of(cfg)
    if src.frequency != "yearly":
        raise ConfigError("the region cube needs [sources] frequency = \"yearly\"")
    if src.population is None:
        raise ConfigError("the region cube needs [sources.population] (the roll-up weight)")
    if level not in ("region", "country"):
        raise ConfigError(f"level must be \"region\" or \"country\", got {level!r}")
    if regions is None:
        regions = region_set(cfg, notices)
    else:
        own = src.inputs.get(str(src.boundaries))
        if own is None or regions.path != resolve_path(own.path,
                                                       what=f"input {src.boundaries!r}"):
            raise ConfigError(f"the regions given were read from {regions.path}, not from "
                              f"this config's [sources] boundaries ({src.boundaries!r})")
        notices.lines.extend(regions.notices)
    provenance: dict[str, dict[str, str]] = {}
    b = src.inputs[str(src.boundaries)]
    provenance[str(src.boundaries)] = _provenance(regions.path, b.path, b.reader)
    tables = read_tables(src, notices, provenance)
    years = (first_year(src), end_year(src, tables))
    time = time_axis(src, years)
    lags, zero, region_vars, country_vars = {}, set(), {}, {}
    unmatched: dict[str, dict[str, list[str]]] = {}
    for name, (s, table) in tables.items():
        if s.key == "region" and level == "region":
            no_poly, no_rows = _name_unmatched(resolve_path(s.path, what=name), table,
                                               regions, notices)
            unmatched[name] = {"codes_without_polygon": no_poly,
                               "polygons_without_rows": no_rows}
        for var, da in prepared(name, s, table, years[1], src.frequency).items():
            lags[var] = s.lag_years
            if s.absent_is_zero:
                zero.add(var)
            (region_vars if "region" in da.dims else country_vars)[var] = da
    countries = sorted(set(regions.iso3)
                       | {str(c) for da in country_vars.values() if "country" in da.dims
                          for c in da["country"].values}
                       | {str(c) for da in region_vars.values()
                          for c in da["region_country"].values})
    unit = list(regions.codes) if level == "region" else countries
    data: dict[str, xr.DataArray] = {}
    for var, da in country_vars.items():
        codes = countries if "country" in da.dims else None
        data[var] = place(da, time, "yearly", lags[var], codes, var in zero)
    for var, da in region_vars.items():
        table = _regions_of(da, regions) if level == "region" else _national(da, countries)
        data[var] = place(table, time, "yearly", lags[var], None, var in zero)
    zones = Supersampled(regions.geometries)
    zone_of = None if level == "region" else regions.country_index(countries)
    data.update(_grid_layers(src, zones, len(unit), zone_of, notices, provenance, level))
    data["area_km2"] = xr.DataArray(_areas(zones, len(unit), zone_of), dims=(level,),
                                    attrs={"units": "km2", "source": "polygons"})
    ds = xr.Dataset({k: v.astype(np.float32) for k, v in data.items()},
                    coords={"time": time, "country": countries})
    ds = ds.assign_coords({level: unit})
    if level == "region":
        ds = ds.assign_coords(region_country=("region", regions.country_index(countries)),
                              iso3=("region", list(regions.iso3)),
                              region_name=("region", list(regions.names)))
    pop, source = _population(ds, src.population, level, lags, tables, notices)
    ds["population_unit"] = pop.astype(np.float32)
    ds = ds.assign_coords(population_source=(level, source))
    ds.attrs = {"title": "riskmodel canonical inputs per " + level, "Conventions": "CF-1.8",
                "synthetic": 0, "mode": "region", "frequency": "yearly", "level": level,
                "sources": json.dumps(provenance, sort_keys=True),
                "notices": json.dumps(notices.lines),
                "unmatched_region_codes": json.dumps(unmatched, sort_keys=True)}
    return ds, regions


def _name_unmatched(path: object, table: xr.Dataset, regions: RegionSet,
                    notices: Notices) -> tuple[list[str], list[str]]:
    """(a region table's codes without a polygon (their rows are unused), the polygons
    without rows (NaN)), both also named in notices."""
    have = {str(c) for c in table["region"].values}
    polys = set(regions.codes)
    # National rows without a polygon are the countries' own rows (the country level).
    national = {str(c) for c, n in zip(table["region"].values,
                                       table["region_national"].values, strict=True) if n}
    no_poly = sorted(have - polys - national)
    no_rows = sorted(polys - have)
    if no_poly:
        notices.add(f"{path}: {len(no_poly)} region code(s) with rows but no polygon are "
                    f"not regions of the cube (their rows are unused), e.g. {no_poly[:8]}")
    if no_rows:
        notices.add(f"{path}: {len(no_rows)} polygon(s) without rows (NaN): {no_rows[:12]}")
    return no_poly, no_rows


def _regions_of(da: xr.DataArray, regions: RegionSet) -> xr.DataArray:
    """A region table on the polygons' codes (rows without a polygon left out, polygons
    without rows NaN)."""
    out = da.reindex(region=list(regions.codes))
    return out.drop_vars([c for c in ("region_country", "region_national") if c in out.coords])


def _national(da: xr.DataArray, countries: list[str]) -> xr.DataArray:
    """The national rows of a region table as a (year, country) table."""
    national = da.isel(region=np.flatnonzero(da["region_national"].values))
    iso = [str(c) for c in national["region_country"].values]
    if len(set(iso)) != len(iso):
        dup = sorted({c for c in iso if iso.count(c) > 1})
        raise InputError(f"{da.attrs.get('source', 'region table')}: more than one national "
                         f"row per country for {dup[:5]}")
    out = national.drop_vars(["region_country", "region_national"]).assign_coords(
        region=iso).rename(region="country")
    return out.reindex(country=countries)


def _grid_layers(src: SourcesConfig, zones: Supersampled, n: int,
                 zone_of: np.ndarray | None, notices: Notices,
                 provenance: dict[str, dict[str, str]], level: str) -> dict[str, xr.DataArray]:
    out: dict[str, xr.DataArray] = {}
    for name, s in src.inputs.items():
        if not isinstance(s, GridSource):
            continue
        path = resolve_path(s.path, what=f"input {name!r}")
        provenance[name] = _provenance(path, s.path, s.reader)
        ds = open_grid(path, s.reader, decode_times=s.decode_times)
        try:
            for var, vmap in s.variables.items():
                da = grid_variable(ds, path, vmap)
                if "time" in da.dims:
                    raise ConfigError(f"input {name!r}: variable {var} is a time series; "
                                      f"the region cube takes static grids (or "
                                      f"climatologies) only")
                lat, lon = da["lat"].values, da["lon"].values
                if vmap.reduce == "sum":
                    values, fallback, given = zones.sums(da.values, lat, lon, n, zone_of)
                    notices.add(f"{path}: {var}: {given:.2%} of the grid's total lies in "
                                f"the {level} polygons")
                else:
                    values, fallback = zones.means(da.values, lat, lon, n, zone_of)
                if fallback.size:
                    share = " times their share of its area" if vmap.reduce == "sum" else ""
                    notices.add(f"{path}: {var}: {fallback.size} {level}(s) contain no "
                                f"{FINE_DEGREES:g}-degree sub-cell centre and take the "
                                f"cell at their representative point{share}")
                out[var] = xr.DataArray(values, dims=(level,), attrs=dict(da.attrs))
        finally:
            ds.close()
    return out


def _areas(zones: Supersampled, n: int, zone_of: np.ndarray | None) -> np.ndarray:
    """Unit areas (km^2) on the sub-cells of a global 1-degree grid."""
    lat = np.arange(-89.5, 90.0, 1.0)
    lon = np.arange(-179.5, 180.0, 1.0)
    return zones.areas_km2(lat, lon, n, zone_of)


def _population(ds: xr.Dataset, spec: PopulationSpec, level: str, lags: dict[str, int],
                tables: dict, notices: Notices) -> tuple[xr.DataArray, list[str]]:
    """(persons per (time, unit), the source of each unit's numbers) as the module
    docstring says."""
    for var in (spec.region, spec.country, spec.grid):
        if var is not None and var not in ds:
            raise ConfigError(f"[sources.population]: {var!r} is not a variable of the inputs")
    years = pd.DatetimeIndex(ds["time"].values).year.values
    country = ds[spec.country]  # (time, country), published with its lag
    units = ds[level].values
    if level == "region":
        idx = xr.DataArray(np.asarray(ds["region_country"].values, dtype=int), dims="region")
        country_u = country.isel(country=idx).drop_vars("country").assign_coords(
            region=units)
    else:
        country_u = country
    country_u = country_u.transpose("time", level).values.astype(np.float64)
    region = ds[spec.region].transpose("time", level).values.astype(np.float64)
    age_var = next((src.carry_forward for src, t in tables.values()
                    if spec.region in t.data_vars and src.carry_forward), None)
    age = (ds[age_var].values.astype(int) if age_var is not None and age_var in ds
           else np.zeros(years.size, int))
    out = np.full(region.shape, np.nan)
    source = np.full(len(units), "none", dtype=object)
    # Anchor each unit-year on the unit's own (not carried) value of the latest earlier
    # year, else of the first later one, scaled by the country's growth in between.
    genuine = np.isfinite(region) & (age == 0)[:, None]
    anchor = _nearest_anchor(genuine)
    has_region = genuine.any(axis=0)
    cols = np.arange(region.shape[1])[None, :]
    safe = np.where(anchor >= 0, anchor, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        growth = country_u / country_u[safe, cols]
    growth = np.where(np.isfinite(growth), growth, 1.0)
    out = np.where(anchor >= 0, region[safe, cols] * growth, np.nan)
    source[has_region] = f"{spec.region}"
    if spec.grid is not None and spec.grid_year is not None:
        at = np.flatnonzero(years == spec.grid_year + lags.get(spec.country, 0))
        t0 = int(at[0]) if at.size else years.size - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = ds[spec.grid].values.astype(np.float64)[None, :] * (
                country_u / country_u[t0][None, :])
        scaled = np.where(np.isfinite(scaled), scaled,
                          ds[spec.grid].values.astype(np.float64)[None, :])
        use = ~has_region & np.isfinite(ds[spec.grid].values)
        out[:, use] = scaled[:, use]
        source[use] = f"{spec.grid} ({spec.grid_year}) x {spec.country} growth"
    if level == "country":
        use = (source == "none") & np.isfinite(country_u).any(axis=0)
        out[:, use] = country_u[:, use]
        source[use] = spec.country
    none = [str(u) for u, s in zip(units, source, strict=True) if s == "none"]
    if none:
        notices.add(f"population: {len(none)} {level}(s) have no population from any "
                    f"source, e.g. {none[:8]}")
    da = xr.DataArray(out, dims=("time", level), coords={"time": ds["time"], level: units},
                      attrs={"units": "1", "long_name": "persons living in the unit"})
    return da, [str(s) for s in source]


def _nearest_anchor(genuine: np.ndarray) -> np.ndarray:
    """(time, unit) index of the latest step <= t with a genuine value, else the first
    later one; -1 for units without any."""
    n = genuine.shape[0]
    steps = np.arange(n)[:, None]
    before = np.maximum.accumulate(np.where(genuine, steps, -1), axis=0)
    after = np.flip(np.minimum.accumulate(np.flip(np.where(genuine, steps, n), axis=0),
                                          axis=0), axis=0)
    return np.where(before >= 0, before, np.where(after < n, after, -1))
