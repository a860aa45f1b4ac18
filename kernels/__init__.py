"""Numba kernels on plain numpy arrays: no xarray, no I/O, no config.

Time is axis 0 for the time-axis kernels; spatial kernels work on the two trailing (y, x)
axes. float32 in gives float32 out, float64 gives float64 (zonal_stats always returns
float64). Each kernel has a slow twin of the same name in `kernels.reference`.
"""

from .drought import spi
from .rasterize import rasterize_polygons
from .regrid import regrid_area_weighted
from .spatial import focal_max, focal_mean, spatial_lag
from .timeseries import (
    event_decay,
    ewm_mean,
    lag,
    move_max,
    move_mean,
    move_min,
    move_std,
    move_sum,
    standardized_anomaly,
    trend,
)
from .zonal import broadcast_regions, zonal_stats

__all__ = [
    "move_mean",
    "move_sum",
    "move_std",
    "move_min",
    "move_max",
    "ewm_mean",
    "lag",
    "trend",
    "standardized_anomaly",
    "spi",
    "event_decay",
    "zonal_stats",
    "broadcast_regions",
    "focal_mean",
    "focal_max",
    "spatial_lag",
    "rasterize_polygons",
    "regrid_area_weighted",
]
