"""The indicator catalogue: named, documented features built from canonical inputs into an
xarray feature cube on (time, lat, lon), or on (time, region) for inputs that exist only per
country or admin-1 (region mode). Importing the package registers every feature."""

from features import climatic, demographic, economic, supervisory  # noqa: F401  (registers)
from features.catalogue import CATALOGUE, DOMAINS, Feature, halo_cells
from features.cube import WARMUP_MONTHS, build_cube, build_feature, plan_features

__all__ = ["CATALOGUE", "DOMAINS", "WARMUP_MONTHS", "Feature", "build_cube", "build_feature",
           "halo_cells", "plan_features"]
