"""The one place real-target commands and benchmarks turn a config into feature cubes.

`feature_cube(config, level)` returns the yearly feature cube of a config at `level`
("country": on (year, country); "region": on (year, region) with `iso3(region)`). When
the region cube builder (`riskmodel.regions.cube.build_region_cube`) is installed it builds
both levels, so country and region rows carry the same features; otherwise the country
level comes from `riskmodel.sources.build_country_cube` and the region level is refused
with one line saying why.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from riskmodel.errors import InputError

LEVELS = ("country", "region")


def feature_cube(config: Path | str, level: str = "country") -> xr.Dataset:
    """The feature cube of `config` at `level` (module docstring)."""
    if level not in LEVELS:
        raise InputError(f"level {level!r}: use one of {list(LEVELS)}")
    try:
        from riskmodel.regions.cube import build_region_cube
    except ImportError:  # the region cube builder is not part of this installation
        if level == "region":
            raise InputError(f"{config}: region-level prediction needs the region feature "
                             f"cube (riskmodel.regions), which is not installed") from None
        from riskmodel.sources import build_country_cube

        return build_country_cube(config)
    return build_region_cube(config, level=level)
