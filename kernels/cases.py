"""The one table of example calls of the registry's kernels (`CASES`).

Each case names a kernel of `kernels.registry` (whose twin in `kernels.reference` is what it
is compared with), builds that kernel's inputs and parameters for a grid of any
(time, y, x) size, and says how closely kernel and reference must agree. The same calls
drive the correctness tests against the references (small grids), the check that the
loops are right as plain Python (`NUMBA_DISABLE_JIT=1`, the cases' `small` grids) and
`benchmarks/kernels.py` (large grids, against outside peers). A registry kernel without a
case fails a test.

Inputs are random but seeded: values in [0, 1) with 10% NaN, gamma precipitation with dry
months and gaps, Voronoi zones on part of the grid (the rest is sea, -1), star-shaped
polygons with holes and multi-part zones. Zone and polygon counts follow the grid (about
one zone per 16 cells, at most 200), so small grids still have several cells per zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .registry import BY_NAME, KernelSpec

Shape = tuple[int, int, int]
"""A grid of (time, y, x) cells; kernels without a time axis ignore the first entry."""


@dataclass(frozen=True)
class Call:
    """Positional and keyword arguments of one kernel call."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KernelCase:
    """One example call of registry kernel `kernel`.

    `make(shape, seed, dtype)` returns the call's arguments on a (time, y, x) grid, float
    inputs in `dtype`. `small` is the grid the tests use (large enough for the parameters
    to give values, e.g. a climatology baseline with enough years). Kernel and reference
    outputs agree within `tol32` (rtol, atol) for float32 inputs and `tol64` for float64.
    `causal` says the output at time t reads inputs up to t only.
    """

    label: str  # unique: the kernel's name, plus the parameters that tell its cases apart
    kernel: str
    make: Callable[[Shape, int, Any], Call]
    small: Shape = (24, 4, 5)
    tol32: tuple[float, float] = (1e-5, 1e-5)
    tol64: tuple[float, float] = (1e-9, 1e-9)
    causal: bool = False

    @property
    def spec(self) -> KernelSpec:
        return BY_NAME[self.kernel]

    def call(self, shape: Shape | None = None, seed: int = 0,
             dtype: Any = np.float32) -> Call:
        """The case's arguments on `shape` (default: `small`)."""
        return self.make(shape or self.small, seed, np.dtype(dtype))

    def tolerance(self, dtype: Any) -> tuple[float, float]:
        """(rtol, atol) for inputs of `dtype`."""
        return self.tol32 if np.dtype(dtype) == np.float32 else self.tol64


# --------------------------------------------------------------------------- inputs
def make_grid(shape: tuple[int, ...], seed: int = 0, dtype: Any = np.float32) -> np.ndarray:
    """Values in [0, 1) with 10% NaN."""
    rng = np.random.default_rng(seed)
    a = rng.random(shape, dtype=np.float32)
    a[rng.random(shape, dtype=np.float32) < 0.1] = np.nan
    return a.astype(dtype, copy=False)


def make_precip(shape: tuple[int, ...], seed: int = 0, dtype: Any = np.float32) -> np.ndarray:
    """Monthly precipitation (mm): gamma(1.5, 40), 10% dry months, 2% missing."""
    rng = np.random.default_rng(seed)
    p = rng.gamma(1.5, 40.0, size=shape).astype(np.float32)
    p[rng.random(shape, dtype=np.float32) < 0.1] = 0.0
    p[rng.random(shape, dtype=np.float32) < 0.02] = np.nan
    return p.astype(dtype, copy=False)


def make_events(shape: tuple[int, ...], seed: int = 0, dtype: Any = np.float32) -> np.ndarray:
    """0/1 event indicators (3% events), NaN where `make_grid` is NaN."""
    a = make_grid(shape, seed, np.dtype(np.float32))
    return np.where(np.isnan(a), np.nan, (a > 0.97)).astype(dtype)


def n_zones(ny: int, nx: int) -> int:
    """Zones for a grid: about one per 16 cells, at least 3, at most 200."""
    return max(3, min(200, ny * nx // 16))


def make_labels(ny: int, nx: int, zones: int, seed: int = 0) -> np.ndarray:
    """Voronoi 'countries' 0..zones-1 on ~40% of the grid, -1 elsewhere (sea); int32."""
    rng = np.random.default_rng(seed)
    cy = rng.uniform(0, ny, zones)
    cx = rng.uniform(0, nx, zones)
    yy, xx = np.mgrid[0:ny, 0:nx]
    best = np.full((ny, nx), np.inf)
    lab = np.full((ny, nx), -1, np.int32)
    for z in range(zones):
        d = (yy - cy[z]) ** 2 + (xx - cx[z]) ** 2
        closer = d < best
        best[closer] = d[closer]
        lab[closer] = z
    land = np.sin(yy / ny * 7.0) * np.cos(xx / nx * 11.0) + 0.25 * rng.standard_normal((ny, nx))
    lab[land < 0.25] = -1
    return lab


def make_polygons(zones: int, n_vertices: int, seed: int = 0) -> list[Any]:
    """Star-shaped 'countries' in lon/lat degrees, a hole in every third and two parts in
    every fifth; nested lists of (lon, lat) rings."""
    rng = np.random.default_rng(seed)
    geoms = []
    for z in range(zones):
        cx, cy = rng.uniform(-170, 150), rng.uniform(-60, 60)
        size = rng.uniform(2, 12)
        parts = []
        for k in range(2 if z % 5 == 0 else 1):
            ang = (np.arange(n_vertices) + rng.uniform(0, 0.5, n_vertices)) * (
                2 * np.pi / n_vertices
            )
            rad = size * rng.uniform(0.6, 1.0, n_vertices)
            ox = cx + k * (2.5 * size)
            rings = [np.stack([ox + rad * np.cos(ang), cy + rad * np.sin(ang)], axis=1)]
            if z % 3 == 0:
                rings.append(
                    np.stack(
                        [ox + 0.3 * size * np.cos(ang[::4]), cy + 0.3 * size * np.sin(ang[::4])],
                        axis=1,
                    )
                )
            parts.append(rings)
        geoms.append(parts if len(parts) > 1 else parts[0])
    return geoms


def cell_edges(lo: float, hi: float, n: int) -> np.ndarray:
    """Edges of `n` equal cells spanning [lo, hi]."""
    return np.linspace(lo, hi, n + 1)


def cell_centres(lo: float, hi: float, n: int) -> np.ndarray:
    """Centres of `n` equal cells spanning [lo, hi]."""
    e = cell_edges(lo, hi, n)
    return (e[:-1] + e[1:]) / 2


# --------------------------------------------------------------------------- calls
WINDOW = 12  # months: a year of a monthly series


def _moving(min_count: int) -> Callable[[Shape, int, Any], Call]:
    def make(shape: Shape, seed: int, dtype: Any) -> Call:
        return Call((make_grid(shape, seed, dtype), WINDOW), {"min_count": min_count})

    return make


def _on_grid(*params: Any, **kwargs: Any) -> Callable[[Shape, int, Any], Call]:
    def make(shape: Shape, seed: int, dtype: Any) -> Call:
        return Call((make_grid(shape, seed, dtype), *params), dict(kwargs))

    return make


def _anomaly(shape: Shape, seed: int, dtype: Any) -> Call:
    # Baseline: the first half of the record, as a fixed climatology period.
    return Call((make_grid(shape, seed, dtype), slice(0, shape[0] // 2)))


def _event_decay(shape: Shape, seed: int, dtype: Any) -> Call:
    return Call((make_events(shape, seed, dtype), 3.0))


def _spi(shape: Shape, seed: int, dtype: Any) -> Call:
    return Call((make_precip(shape, seed, dtype), 3, slice(0, shape[0])), {"min_count": 10})


def _zonal(stat: str) -> Callable[[Shape, int, Any], Call]:
    def make(shape: Shape, seed: int, dtype: Any) -> Call:
        _, ny, nx = shape
        zones = n_zones(ny, nx)
        return Call((make_grid(shape, seed, dtype), make_labels(ny, nx, zones, seed), zones),
                    {"stat": stat})

    return make


def _broadcast(shape: Shape, seed: int, dtype: Any) -> Call:
    nt, ny, nx = shape
    zones = n_zones(ny, nx)
    table = np.random.default_rng(seed + 1).random((nt, zones)).astype(dtype)
    return Call((table, make_labels(ny, nx, zones, seed)))


def _regrid(shape: Shape, seed: int, dtype: Any) -> Call:
    # Global grid to one 4x coarser in each direction.
    _, ny, nx = shape
    src = (cell_edges(-90, 90, ny), cell_edges(-180, 180, nx))
    dst = (cell_edges(-90, 90, max(ny // 4, 1)), cell_edges(-180, 180, max(nx // 4, 1)))
    return Call((make_grid(shape, seed, dtype), *src, *dst))


def _rasterize(shape: Shape, seed: int, dtype: Any) -> Call:
    # Polygons are in degrees, so a small grid sees them only at coarse resolution.
    _, ny, nx = shape
    geoms = make_polygons(n_zones(ny, nx), 400, seed)
    return Call((geoms, cell_centres(-180, 180, nx), cell_centres(-90, 90, ny)))


CASES: tuple[KernelCase, ...] = (
    KernelCase("move_mean", "move_mean", _moving(1), causal=True),
    KernelCase("move_sum", "move_sum", _moving(1), causal=True),
    KernelCase("move_std", "move_std", _moving(2), causal=True),
    KernelCase("move_min", "move_min", _moving(1), causal=True),
    KernelCase("move_max", "move_max", _moving(1), causal=True),
    KernelCase("ewm_mean", "ewm_mean", _on_grid(0.3), causal=True),
    KernelCase("lag", "lag", _on_grid(3), causal=True),
    KernelCase("trend", "trend", _on_grid(WINDOW, min_count=WINDOW // 2), causal=True),
    KernelCase("standardized_anomaly", "standardized_anomaly", _anomaly, small=(48, 4, 5)),
    KernelCase("event_decay", "event_decay", _event_decay, causal=True),
    # 11 years: every calendar month has the 10 baseline values a gamma fit needs. The fits
    # (ours: Newton on the ML equation; scipy: a general optimiser) agree to ~1e-6 in SPI.
    KernelCase("spi scale=3", "spi", _spi, small=(132, 2, 3), tol32=(0.0, 1e-5),
               tol64=(0.0, 1e-5)),
    KernelCase("focal_mean square r=1", "focal_mean", _on_grid(1)),
    KernelCase("focal_mean square r=10", "focal_mean", _on_grid(10), small=(2, 24, 25)),
    KernelCase("focal_mean disk r=5", "focal_mean", _on_grid(5, shape="disk"),
               small=(2, 12, 13)),
    KernelCase("focal_max square r=2", "focal_max", _on_grid(2), small=(3, 6, 7)),
    KernelCase("spatial_lag r=3", "spatial_lag", _on_grid(3.0), small=(3, 8, 9)),
    KernelCase("zonal_stats mean", "zonal_stats", _zonal("mean"), small=(3, 12, 16),
               tol64=(1e-12, 1e-12)),
    KernelCase("zonal_stats sum", "zonal_stats", _zonal("sum"), small=(3, 12, 16),
               tol64=(1e-12, 1e-12)),
    KernelCase("zonal_stats max", "zonal_stats", _zonal("max"), small=(3, 12, 16),
               tol64=(1e-12, 1e-12)),
    KernelCase("broadcast_regions", "broadcast_regions", _broadcast, small=(3, 12, 16),
               tol32=(0.0, 0.0), tol64=(0.0, 0.0)),
    KernelCase("regrid_area_weighted 4x coarser", "regrid_area_weighted", _regrid,
               small=(2, 12, 16)),
    KernelCase("rasterize_polygons", "rasterize_polygons", _rasterize, small=(1, 36, 72),
               tol32=(0.0, 0.0), tol64=(0.0, 0.0)),
)

BY_LABEL: dict[str, KernelCase] = {c.label: c for c in CASES}
