"""Sub-national regions as a unit of the engine: polygons, the region-year feature cube, the
matching country-year cube, and population-weighted roll-ups to countries.

- `polygons.read_regions` / `polygons.region_set(config)`: the checked `RegionSet`;
- `cube.build_region_cube(config, level="region" | "country")`: features per region-year
  or per country-year with the same names (models fitted on countries apply to regions);
- `rollup.rollup_to_countries`: population-weighted means of (..., region) arrays;
- `coverage.coverage_facts` / `coverage.regions_without_features`: what the cube covers
  and which regions lack features, with the reason.
"""

from riskmodel.regions.coverage import coverage_facts, regions_without_features
from riskmodel.regions.cube import build_region_cube
from riskmodel.regions.polygons import RegionSet, read_regions, region_set
from riskmodel.regions.rollup import rollup_to_countries

__all__ = ["RegionSet", "build_region_cube", "coverage_facts", "read_regions", "region_set",
           "regions_without_features", "rollup_to_countries"]
