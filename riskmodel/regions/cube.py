"""The region-year (and country-year) feature cube from real data: what models are fitted
on (countries, where outcomes exist) and applied to (sub-national regions).

`build_region_cube(config, level="region")` gives every catalogue feature the config's
sources allow on (year, region), `level="country"` the same features on (year, country),
built from the region table's national rows, the country tables and the grids reduced over
all of a country's polygons, so the two cubes have identical columns. Both carry
`population` (persons, the weight of population-weighted roll-ups).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

import features
from riskmodel.config import RunConfig, load_config
from riskmodel.regions.coverage import regions_without_features
from riskmodel.regions.inputs import Level, region_inputs
from riskmodel.regions.polygons import RegionSet
from riskmodel.sources.inputs import sources_of
from riskmodel.sources.notices import Notices
from riskmodel.sources.real import planned_features, to_years

# Features whose values scale with the unit's size, so that a model fitted on countries
# sees other magnitudes on regions (say so to whoever applies one to the other).
SIZE_DEPENDENT = ("log_unit_population", "log_population")


def build_region_cube(config: RunConfig | str | Path, *, level: Level = "region",
                      notices: Notices | None = None,
                      regions: RegionSet | None = None) -> xr.Dataset:
    """Feature cube per region-year (`level="region"`) or country-year (`"country"`).

    `config` is a RunConfig or the path of a TOML run config whose `[sources]` has
    `frequency = "yearly"`, `boundaries` naming sub-national region polygons and a
    `[sources.population]` section (see configs/real.toml). Returns an `xarray.Dataset`:
    dims (year, region) with coords `year` int32, `region` (region codes, sorted), `iso3`
    and `region_name` per region; or (year, country) with `country` ISO alpha-3 codes.
    Data variables: every buildable catalogue feature, float32, attrs units, long_name,
    domain, inputs, kernel, params; and `population` (persons, float32). Years run from
    `start_year` to the end year (the latest any table reaches, publication lag included,
    unless `end_year` is set); a feature for year Y reads only what was published by Y.
    Attrs: `sources` (path and sha256 of each file), `notices`, `skipped_features` (with
    reasons), `frequency` = "yearly", `level`, `feature_names`, `size_dependent_features`,
    and (regions) `regions_without_features` for the latest year and
    `unmatched_region_codes` (per region table: codes without a polygon, polygons without
    rows). `regions`: the config's `region_set`, when the caller has read it already (a
    night builds both cubes from one reading of the polygons). Raises `ConfigError` /
    `InputError` with one line naming the file, row or feature.
    """
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    src = sources_of(cfg)
    notices = Notices() if notices is None else notices
    inputs, _ = region_inputs(cfg, level, notices, regions)
    # Grid-only and monthly-only features never apply here; the rest name what is missing.
    names, skipped = planned_features(inputs, src, notices,
                                      silent=("grid-only", "monthly-only"))
    cube = features.build_cube(inputs, names)
    cube["population"] = inputs["population_unit"].transpose("time", level)
    cube["population"].attrs = {"units": "1", "long_name": "persons living in the unit "
                                "(weight of population-weighted roll-ups)",
                                "comment": "source per unit in population_source"}
    cube.attrs.update(frequency="yearly")
    cube = to_years(cube, src.start_year)
    cube = _unit_coords(cube, inputs, level)
    cube.attrs = {
        "title": f"riskmodel feature cube per {level} and year (real data)",
        "Conventions": "CF-1.8", "synthetic": 0, "mode": "region", "level": level,
        "frequency": "yearly",
        "sources": inputs.attrs["sources"],
        "notices": json.dumps(notices.lines),
        "skipped_features": json.dumps(skipped, sort_keys=True),
        "feature_names": json.dumps(names),
        "size_dependent_features": json.dumps([n for n in SIZE_DEPENDENT if n in names]),
    }
    if level == "region":
        cube.attrs["regions_without_features"] = json.dumps(regions_without_features(cube))
        # Per region table: codes with rows but no polygon (not regions of the cube) and
        # polygons without rows (country features only).
        cube.attrs["unmatched_region_codes"] = inputs.attrs["unmatched_region_codes"]
    return cube


def _unit_coords(cube: xr.Dataset, inputs: xr.Dataset, level: str) -> xr.Dataset:
    """The unit coordinates with CF attributes; the assembly's helper coordinates go."""
    drop = [c for c in ("region_country", "country") if c in cube.coords and c != level]
    cube = cube.drop_vars(drop)
    cube = cube.assign_coords(population_source=(level, [
        str(s) for s in inputs["population_source"].values]))
    cube["population_source"].attrs = {"long_name": "where the unit's population comes from"}
    if level == "region":
        cube = cube.assign_coords(iso3=("region", [str(c) for c in inputs["iso3"].values]),
                                  region_name=("region", [str(c) for c in
                                                          inputs["region_name"].values]))
        cube["region"].attrs = {"long_name": "sub-national region code (Global Data Lab "
                                             "gdlcode)", "cf_role": "timeseries_id"}
        cube["iso3"].attrs = {"long_name": "ISO 3166-1 alpha-3 code of the region's "
                                           "country"}
        cube["region_name"].attrs = {"long_name": "region name"}
    else:
        cube["country"].attrs = {"long_name": "ISO 3166-1 alpha-3 country code",
                                 "cf_role": "timeseries_id"}
    cube["year"] = cube["year"].astype(np.int32)
    return cube
