"""The one table of kernels: name, fast function, reference twin, family, output dtype, meaning.

Tests (`tests/test_kernels_api.py`) read this table, so a kernel added here is checked for
a reference and a docstring; `kernels.cases` holds its example calls (a test fails when a
kernel has none), which the correctness tests and `benchmarks/kernels.py` run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import reference as _ref
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


@dataclass(frozen=True)
class KernelSpec:
    name: str
    func: Callable[..., Any]
    reference: Callable[..., Any]
    family: str  # "time" (axis 0), "space" (two trailing axes), "zones", "rasterize"
    dtype: str  # output dtype: "input" (float32 -> float32, float64 -> float64) or a name
    meaning: str


def _spec(func: Callable[..., Any], family: str, dtype: str, meaning: str) -> KernelSpec:
    return KernelSpec(func.__name__, func, getattr(_ref, func.__name__), family, dtype, meaning)


KERNELS: tuple[KernelSpec, ...] = (
    _spec(move_mean, "time", "input", "trailing moving mean, NaN-skipping"),
    _spec(move_sum, "time", "input", "trailing moving sum, NaN-skipping"),
    _spec(move_std, "time", "input", "trailing moving standard deviation (ddof)"),
    _spec(move_min, "time", "input", "trailing moving minimum"),
    _spec(move_max, "time", "input", "trailing moving maximum"),
    _spec(ewm_mean, "time", "input", "exponentially weighted mean (adjust, ignore_na)"),
    _spec(lag, "time", "input", "value k steps earlier"),
    _spec(trend, "time", "input", "least-squares slope over a trailing window, per step"),
    _spec(standardized_anomaly, "time", "input", "anomaly / std vs baseline calendar slot"),
    _spec(spi, "time", "input", "Standardized Precipitation Index (gamma, per slot)"),
    _spec(event_decay, "time", "input", "decayed event count and steps since last event"),
    _spec(focal_mean, "space", "input", "mean over square/disk neighbourhood"),
    _spec(focal_max, "space", "input", "max over square/disk neighbourhood"),
    _spec(spatial_lag, "space", "input", "inverse-distance weighted mean of neighbours"),
    _spec(zonal_stats, "zones", "float64", "grid -> zone sum/mean/weighted mean/max/count"),
    _spec(broadcast_regions, "zones", "input", "zone table -> grid"),
    _spec(rasterize_polygons, "rasterize", "int32", "polygons -> label raster at centres"),
    _spec(regrid_area_weighted, "space", "input", "area-weighted (conservative) regridding"),
)

BY_NAME: dict[str, KernelSpec] = {k.name: k for k in KERNELS}
