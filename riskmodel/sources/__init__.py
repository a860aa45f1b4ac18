"""Readers for real inputs and their assembly into canonical inputs and feature cubes.

- `tables`: CSV tables keyed by ISO 3166-1 alpha-3 (long or wide; country- or admin-year);
- `grids`: NetCDF and Zarr grids with CF metadata (units checked), `regrid` puts them on the
  target grid (area-weighted), `zonal` reduces them to regions (cos-latitude weights);
- `boundaries`: GeoJSON boundaries, rasterised with `kernels.rasterize_polygons`;
- `inputs.load_inputs(cfg)`: the canonical inputs of a config's `[sources]` section;
- `real.build_country_cube(config)`: the country-year feature cube from real data.

Every reader names the file, variable and row of a problem in one `InputError` and returns
nothing partial; accepted oddities (gaps, skipped codes) become notices.
"""

from riskmodel.sources.inputs import load_inputs
from riskmodel.sources.notices import Notices
from riskmodel.sources.real import build_country_cube, build_monthly_cube

__all__ = ["Notices", "build_country_cube", "build_monthly_cube", "load_inputs"]
