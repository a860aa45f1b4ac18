"""The one place real-target commands and benchmarks turn a config into feature cubes.

`feature_cube(config, level)` returns the yearly feature cube of a config at `level`
("country": on (year, country); "region": on (year, region) with `iso3(region)`). A yearly
region config (`configs/real.toml`) builds both levels with
`riskmodel.regions.build_region_cube`, so country and region rows carry the same features;
a monthly country config (`configs/real-countries.toml`) gives the country level through
`riskmodel.sources.build_country_cube` and has no region level.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from riskmodel.config import is_region_config, load_config
from riskmodel.errors import InputError
from riskmodel.regions import build_region_cube
from riskmodel.sources import build_country_cube

LEVELS = ("country", "region")


def feature_cube(config: Path | str, level: str = "country") -> xr.Dataset:
    """The feature cube of `config` at `level` (module docstring)."""
    if level not in LEVELS:
        raise InputError(f"level {level!r}: use one of {list(LEVELS)}")
    cfg = load_config(config)
    if is_region_config(cfg):
        return build_region_cube(cfg, level=level)
    if level == "region":
        raise InputError(f"{config}: region-level prediction needs a yearly region config "
                         f"with sub-national polygons (configs/real.toml)")
    return build_country_cube(cfg)
