"""The indicator catalogue: named, documented features built from canonical inputs into an
xarray feature cube on (time, lat, lon), or on (time, unit) for inputs that exist only per
country, admin-1 or sub-national region (region mode). Importing the package registers
every feature."""

# Registration order is catalogue order (the order of a cube's variables): keep it.
from features import climatic, demographic, economic, supervisory  # noqa: F401, I001
from features import regional  # noqa: F401, E402  (registers; after the others)
from features.catalogue import CATALOGUE, DOMAINS, Feature, halo_cells
from features.cube import WARMUP_MONTHS, build_cube, build_feature, plan_features

__all__ = ["CATALOGUE", "DOMAINS", "WARMUP_MONTHS", "Feature", "build_cube", "build_feature",
           "halo_cells", "plan_features"]
