"""Benchmark every kernel against its fastest available peer and the memory floor.

    python benchmarks/kernels.py --json OUT.json            # everything (~5-8 min on 2 cores)
    python benchmarks/kernels.py --only move_mean,zonal_stats --repeat 5
    python benchmarks/kernels.py --quick                     # small shapes, smoke test

One process; for each case: the kernel's first call on a tiny input of the same dtype/ndim in
a fresh, empty NUMBA_CACHE_DIR (= compile time, reported apart); one warm-up call of every
peer (peers 1.5x slower than the fastest warm-up are dropped); then, after a warm-up, `--repeat`
rounds that call ours, each remaining peer and the floor once each (round-robin, so all see
the same background load), and the median per contender. The fastest peer is recorded. The
floor is one streaming pass over the same input (`np.copyto` into a preallocated output).
Data: float32, 10% NaN, (time=240, y=720, x=1440) unless a case says otherwise (expensive
peers run on a smaller array, stated in the shape). Numba threads = cores.

Output: {"environment": {machine, cores, numba threads, versions, date}, "records": [...]},
one record per case {"kernel", "shape", "ours_s", "peer", "peer_s", "floor_s",
"compile_s", "cached_s", "load1"}; `peer_s / ours_s` is the speed-up, `ours_s / floor_s` the
distance to the floor. `cached_s` is the same tiny first call in a fresh process that finds
the cache this run filled (a cache load, not a compile); `load1` the 1-minute load average
when the case finished (the machine may be shared).
"""

from __future__ import annotations

import argparse
import atexit
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A fresh cache so compile_s is a real compile, not a cache load; set before numba loads.
if "--keep-cache" not in sys.argv:
    _CACHE = tempfile.mkdtemp(prefix="numba-bench-")
    os.environ["NUMBA_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import numpy as np  # noqa: E402

import kernels as K  # noqa: E402
from kernels import reference as R  # noqa: E402
from kernels.registry import KERNELS  # noqa: E402

FULL = (240, 720, 1440)
ALL_PEERS = "--all-peers" in sys.argv


@dataclass
class Case:
    kernel: str  # record name (kernel plus parameters when several cases exist)
    shape: tuple[int, ...]
    ours: Callable[[Any], Any]
    peers: dict[str, Callable[[Any], Any]]
    data: str = "grid"  # which input generator
    tiny: Callable[[], Any] | None = None  # compile-time probe input
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- inputs
def make_grid(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.random(shape, dtype=np.float32)
    a[rng.random(shape, dtype=np.float32) < 0.1] = np.nan
    return a


def make_precip(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.gamma(1.5, 40.0, size=shape).astype(np.float32)
    p[rng.random(shape, dtype=np.float32) < 0.1] = 0.0
    p[rng.random(shape, dtype=np.float32) < 0.02] = np.nan
    return p


def make_labels(ny: int, nx: int, n_zones: int, seed: int = 0) -> np.ndarray:
    """Voronoi 'countries' on ~40% of the grid, -1 elsewhere (sea)."""
    rng = np.random.default_rng(seed)
    cy = rng.uniform(0, ny, n_zones)
    cx = rng.uniform(0, nx, n_zones)
    yy, xx = np.mgrid[0:ny, 0:nx]
    best = np.full((ny, nx), np.inf)
    lab = np.full((ny, nx), -1, np.int32)
    for z in range(n_zones):
        d = (yy - cy[z]) ** 2 + (xx - cx[z]) ** 2
        closer = d < best
        best[closer] = d[closer]
        lab[closer] = z
    land = np.sin(yy / ny * 7.0) * np.cos(xx / nx * 11.0) + 0.25 * rng.standard_normal((ny, nx))
    lab[land < 0.25] = -1
    return lab


def make_polygons(n_zones: int, n_vertices: int, seed: int = 0) -> list[Any]:
    """Star-shaped 'countries' with a hole in every third and two parts in every fifth."""
    rng = np.random.default_rng(seed)
    geoms = []
    for z in range(n_zones):
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


# --------------------------------------------------------------------------- peers
def _try_import(name: str) -> Any:
    try:
        return __import__(name)
    except Exception:  # noqa: BLE001 - an optional peer that does not import is skipped
        return None


numbagg = _try_import("numbagg")
bn = _try_import("bottleneck")
flox = _try_import("flox")
xr = _try_import("xarray")
try:
    from scipy import ndimage
except ImportError:  # pragma: no cover
    ndimage = None


def _climate_indices() -> Any:
    """climate_indices' SPI entry points, or None; its per-call structlog INFO lines and
    calibration-length warnings are silenced so they do not drown the benchmark's output."""
    try:
        import logging
        import warnings

        import structlog
        from climate_indices import compute, indices
    except Exception:  # noqa: BLE001 - optional peer
        return None
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    warnings.filterwarnings("ignore", module="climate_indices")
    return indices, compute


climate = _climate_indices()


def climate_indices_spi(p: np.ndarray, scale: int) -> np.ndarray:
    """climate-indices' vectorised SPI (gamma, monthly, calibrated on the whole record)."""
    indices, compute = climate
    years = p.shape[0] // 12
    return indices.spi(
        p,
        scale,
        indices.Distribution.gamma,
        2000,
        2000,
        2000 + years - 1,
        compute.Periodicity.monthly,
        spatial_time_major=True,
    )


def _xr_rolling(method: str, window: int) -> Callable[[np.ndarray], Any]:
    def run(a: np.ndarray) -> Any:
        da = xr.DataArray(a, dims=("time", "y", "x"))
        return getattr(da.rolling(time=window, min_periods=1), method)().values

    return run


def numpy_std_anomaly(a: np.ndarray, base: slice) -> np.ndarray:
    """What a NumPy user writes: slot climatology by reshaping years x months."""
    T = a.shape[0]
    b = a[base]
    clim = b.reshape(-1, 12, *a.shape[1:])
    mu = np.nanmean(clim, axis=0)
    sd = np.nanstd(clim, axis=0, ddof=1)
    return ((a.reshape(T // 12, 12, *a.shape[1:]) - mu) / sd).reshape(a.shape)


def numpy_event_decay(e: np.ndarray, half_life: float) -> tuple[np.ndarray, np.ndarray]:
    f = 0.5 ** (1.0 / half_life)
    d = np.zeros(e.shape[1:], np.float64)
    last = np.full(e.shape[1:], np.nan)
    dec = np.empty_like(e)
    since = np.empty_like(e)
    for t in range(e.shape[0]):
        d = d * f + np.nan_to_num(e[t])
        last = np.where(e[t] > 0, t, last)
        dec[t] = d
        since[t] = t - last
    return dec, since


def numpy_trend(a: np.ndarray, window: int) -> np.ndarray:
    """Vectorised NumPy OLS slope via cumulative sums (NaN-aware)."""
    ok = ~np.isnan(a)
    y = np.where(ok, a, 0.0).astype(np.float64)
    t = np.arange(a.shape[0], dtype=np.float64).reshape((-1,) + (1,) * (a.ndim - 1))
    n_, sx, sxx, sy, sxy = (np.cumsum(v, axis=0) for v in (ok * 1.0, ok * t, ok * t * t, y, y * t))

    def win(c: np.ndarray) -> np.ndarray:
        out = c.copy()
        out[window:] -= c[:-window]
        return out

    n_, sx, sxx, sy, sxy = (win(c) for c in (n_, sx, sxx, sy, sxy))
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((n_ * sxy - sx * sy) / (n_ * sxx - sx * sx)).astype(a.dtype)


def ndimage_focal_mean(a: np.ndarray, r: int) -> np.ndarray:
    ok = ~np.isnan(a)
    size = (1, 2 * r + 1, 2 * r + 1)
    s = ndimage.uniform_filter(np.where(ok, a, 0).astype(np.float64), size, mode="constant")
    n = ndimage.uniform_filter(ok.astype(np.float64), size, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        return (s / n).astype(a.dtype)


def ndimage_focal_max(a: np.ndarray, r: int) -> np.ndarray:
    m = ndimage.maximum_filter(
        np.where(np.isnan(a), -np.inf, a), (1, 2 * r + 1, 2 * r + 1), mode="constant", cval=-np.inf
    )
    return np.where(np.isneginf(m), np.nan, m)


def ndimage_spatial_lag(a: np.ndarray, r: float) -> np.ndarray:
    ri = int(r)
    dy, dx = np.mgrid[-ri : ri + 1, -ri : ri + 1]
    d = np.hypot(dy, dx)
    w = np.where((d > 0) & (d <= r), 1.0 / np.where(d > 0, d, 1.0), 0.0)[None]
    ok = ~np.isnan(a)
    num = ndimage.convolve(np.where(ok, a, 0).astype(np.float64), w, mode="constant")
    den = ndimage.convolve(ok.astype(np.float64), w, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        return (num / den).astype(a.dtype)


def numpy_regrid(a: np.ndarray, src: tuple, dst: tuple) -> np.ndarray:
    """Dense overlap matrices (sin-lat x lon) and two BLAS products per slice."""
    from kernels.regrid import _prepare, overlap_matrix

    a3, shape, sy, sx, dy, dx = _prepare(a, src[0], src[1], dst[0], dst[1])
    wy = overlap_matrix(sy, dy)
    wxt = overlap_matrix(sx, dx).T.copy()
    valid = ~np.isnan(a3)
    num = wy @ np.where(valid, a3, 0.0).astype(np.float64) @ wxt
    den = wy @ valid.astype(np.float64) @ wxt
    with np.errstate(invalid="ignore", divide="ignore"):
        return (num / den).astype(a.dtype)


def flox_zonal(func: str, engine: str, n_zones: int) -> Callable[[tuple], Any]:
    def run(args: tuple) -> Any:
        values, labels = args
        return flox.groupby_reduce(
            values,
            labels,
            func=func,
            expected_groups=np.arange(n_zones),
            axis=(-2, -1),
            engine=engine,
            fill_value=np.nan,
        )[0]

    return run


def shapely_rasterize(args: tuple) -> np.ndarray:
    """Bounding-box pruned shapely.contains_xy per zone (what a careful user writes)."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    from kernels.rasterize import _normalise_geometry

    geoms, x, y = args
    out = np.full((len(y), len(x)), -1, np.int32)
    for z, g in enumerate(geoms):
        polys = _normalise_geometry(g)
        mp = MultiPolygon([Polygon(p[0], p[1:]) for p in polys])
        x0, y0, x1, y1 = mp.bounds
        jx = np.flatnonzero((x >= x0) & (x <= x1))
        iy = np.flatnonzero((y >= y0) & (y <= y1))
        if not len(jx) or not len(iy):
            continue
        shapely.prepare(mp)
        xx, yy = np.meshgrid(x[jx], y[iy])
        inside = shapely.contains_xy(mp, xx, yy)
        sub = out[iy[0] : iy[-1] + 1, jx[0] : jx[-1] + 1]
        sub[inside] = z
    return out


# --------------------------------------------------------------------------- cases
def build_cases(full: tuple[int, int, int], quick: bool) -> list[Case]:
    T, Y, X = full
    small = (T, max(Y // 4, 8), max(X // 4, 8))
    spi_shape = (T, 10, 20) if not quick else (T, 3, 4)
    spi_large = (T, Y // 16, X // 16) if not quick else (T, 6, 8)
    W = 12
    cases = [
        Case(
            "move_mean",
            full,
            lambda a: K.move_mean(a, W, min_count=1),
            {
                "numbagg": lambda a: numbagg.move_mean(a, window=W, min_count=1, axis=0),
                "bottleneck": lambda a: bn.move_mean(a, W, min_count=1, axis=0),
                "xarray.rolling": _xr_rolling("mean", W),
            },
        ),
        Case(
            "move_sum",
            full,
            lambda a: K.move_sum(a, W, min_count=1),
            {
                "numbagg": lambda a: numbagg.move_sum(a, window=W, min_count=1, axis=0),
                "bottleneck": lambda a: bn.move_sum(a, W, min_count=1, axis=0),
            },
        ),
        Case(
            "move_std",
            full,
            lambda a: K.move_std(a, W, min_count=2),
            {
                "numbagg": lambda a: numbagg.move_std(a, window=W, min_count=2, axis=0),
                "bottleneck": lambda a: bn.move_std(a, W, min_count=2, axis=0),
            },
        ),
        Case(
            "move_min",
            full,
            lambda a: K.move_min(a, W, min_count=1),
            {
                "bottleneck": lambda a: bn.move_min(a, W, min_count=1, axis=0),
            },
        ),
        Case(
            "move_max",
            full,
            lambda a: K.move_max(a, W, min_count=1),
            {
                "bottleneck": lambda a: bn.move_max(a, W, min_count=1, axis=0),
                "xarray.rolling": _xr_rolling("max", W),
            },
        ),
        Case(
            "ewm_mean",
            full,
            lambda a: K.ewm_mean(a, 0.3),
            {
                "numbagg.move_exp_nanmean": lambda a: numbagg.move_exp_nanmean(
                    a, alpha=0.3, axis=0
                ),
            },
            note="numbagg ages weights across NaN (ignore_na=False); same cost class",
        ),
        Case(
            "lag",
            full,
            lambda a: K.lag(a, 3),
            {
                "numpy slice copy": lambda a: np.concatenate(
                    [np.full((3,) + a.shape[1:], np.nan, a.dtype), a[:-3]]
                ),
                "xarray.shift": lambda a: (
                    xr.DataArray(a, dims=("time", "y", "x")).shift(time=3).values
                ),
            },
        ),
        Case(
            "trend",
            small,
            lambda a: K.trend(a, W),
            {
                "numpy cumsum OLS": lambda a: numpy_trend(a, W),
            },
            note="smaller grid: the NumPy peer needs 5 float64 cumsum arrays",
        ),
        # The floor target is stated on the full array; the peer cannot run there.
        Case("trend full grid", full, lambda a: K.trend(a, W), {}),
        Case(
            "standardized_anomaly",
            full,
            lambda a: K.standardized_anomaly(a, slice(0, 120)),
            {
                "numpy reshape nanmean/nanstd": lambda a: numpy_std_anomaly(a, slice(0, 120)),
            },
        ),
        Case(
            "event_decay",
            full,
            lambda a: K.event_decay(a, 3.0),
            {
                "numpy loop over time": lambda a: numpy_event_decay(a, 3.0),
            },
            data="events",
        ),
        Case(
            "spi scale=3",
            spi_shape,
            lambda p: K.spi(p, 3, slice(0, T), min_count=10),
            {
                "scipy.stats (kernels.reference.spi)": lambda p: R.spi(
                    p, 3, slice(0, T), min_count=10
                ),
                **({"climate-indices": lambda p: climate_indices_spi(p, 3)} if climate else {}),
            },
            data="precip",
            note="small grid: the scipy peer fits 12 gammas per cell",
        ),
    ]
    if climate:
        cases.append(
            Case(
                "spi scale=3 vs climate-indices",
                spi_large,
                lambda p: K.spi(p, 3, slice(0, T), min_count=10),
                {"climate-indices": lambda p: climate_indices_spi(p, 3)},
                data="precip",
                note="vectorised peer: a larger grid than the scipy case",
            )
        )
    for r in (1, 10):
        cases.append(
            Case(
                f"focal_mean square r={r}",
                full,
                lambda a, r=r: K.focal_mean(a, r),
                {
                    "scipy.ndimage.uniform_filter x2": lambda a, r=r: ndimage_focal_mean(a, r),
                },
            )
        )
    cases += [
        Case("focal_mean disk r=5", small, lambda a: K.focal_mean(a, 5, shape="disk"), {}),
        Case(
            "focal_max square r=2",
            small,
            lambda a: K.focal_max(a, 2),
            {
                "scipy.ndimage.maximum_filter": lambda a: ndimage_focal_max(a, 2),
            },
        ),
        Case(
            "spatial_lag r=3",
            small,
            lambda a: K.spatial_lag(a, 3.0),
            {
                "scipy.ndimage.convolve x2": lambda a: ndimage_spatial_lag(a, 3.0),
            },
        ),
    ]
    nz = 200
    for stat, func in (("mean", "nanmean"), ("sum", "nansum"), ("max", "nanmax")):
        peers = {}
        # flox's "flox" and "numpy" engines took 45 s and 28 s per call here (numbagg: ~3 s);
        # --all-peers includes them.
        for engine in ("numbagg", "flox", "numpy") if ALL_PEERS else ("numbagg",):
            peers[f"flox engine={engine}"] = flox_zonal(func, engine, nz)
        cases.append(
            Case(
                f"zonal_stats {stat}",
                full,
                lambda args, stat=stat: K.zonal_stats(args[0], args[1], nz, stat=stat),
                peers,
                data="zones",
            )
        )
    cases.append(
        Case(
            "broadcast_regions",
            full,
            lambda args: K.broadcast_regions(args[0], args[1]),
            {
                "numpy take + where": lambda args: np.where(
                    args[1] >= 0, args[0][:, np.maximum(args[1], 0)], np.nan
                ),
            },
            data="table",
        )
    )

    def edges(lo: float, hi: float, n: int) -> np.ndarray:
        return np.linspace(lo, hi, n + 1)

    src = (edges(-90, 90, Y), edges(-180, 180, X))
    dst = (edges(-90, 90, Y // 4), edges(-180, 180, X // 4))
    cases.append(
        Case(
            "regrid_area_weighted 4x coarser",
            (min(T, 24), Y, X),
            lambda a: K.regrid_area_weighted(a, *src, *dst),
            {"numpy matmul, dense overlaps": lambda a: numpy_regrid(a, src, dst)},
            tiny=lambda: make_grid((1, Y, X)),
            note="24 time steps",
        )
    )
    grid_y = np.linspace(-89.875, 89.875, Y)
    grid_x = np.linspace(-179.875, 179.875, X)
    cases.append(
        Case(
            "rasterize_polygons",
            (Y, X),
            lambda args: K.rasterize_polygons(*args),
            {"shapely.contains_xy (bbox-pruned)": shapely_rasterize},
            data="polygons",
            extra={"x": grid_x, "y": grid_y},
            note="200 zones x 400 vertices, holes, multipolygons",
        )
    )
    return cases


def make_input(case: Case, cache: dict[Any, Any]) -> tuple[Any, np.ndarray]:
    """(argument for ours/peers, array used for the floor)."""
    shape = case.shape
    if case.data == "grid":
        key = ("grid", shape)
        if key not in cache:
            cache.clear()
            cache[key] = make_grid(shape)
        return cache[key], cache[key]
    if case.data == "events":
        a = make_grid(shape)
        e = np.where(np.isnan(a), np.nan, (a > 0.97).astype(np.float32))
        return e, e
    if case.data == "precip":
        p = make_precip(shape)
        return p, p
    if case.data in ("zones", "table"):
        key = ("grid", shape)
        if key not in cache:
            cache.clear()
            cache[key] = make_grid(shape)
        lab = make_labels(shape[1], shape[2], 200)
        if case.data == "zones":
            return (cache[key], lab), cache[key]
        table = np.random.default_rng(1).random((shape[0], 200)).astype(np.float32)
        return (table, lab), cache[key]
    if case.data == "polygons":
        geoms = make_polygons(200, 400)
        floor = np.zeros(shape, np.int32)
        return (geoms, case.extra["x"], case.extra["y"]), floor
    raise ValueError(case.data)


def tiny_input(case: Case) -> Any:
    if case.data in ("grid", "events", "precip"):
        return make_precip((24, 2, 3)) if case.data == "precip" else make_grid((24, 4, 5))
    if case.data in ("zones", "table"):
        lab = np.array([[0, 1, -1, 2, 199]] * 4, np.int32)
        if case.data == "zones":
            return (make_grid((3, 4, 5)), lab)
        return (np.ones((3, 200), np.float32), lab)
    if case.data == "polygons":
        return ([[[(0.1, 0.1), (2.2, 0.3), (1.1, 2.9)]]], np.arange(3) + 0.5, np.arange(3) + 0.5)
    raise ValueError(case.data)


def once(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    res = fn()
    dt = time.perf_counter() - t0
    del res
    return dt


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Warm-up, then `repeat` rounds calling every function once per round; median each.

    Round-robin so that all contenders see the same background load on a shared machine.
    """
    for fn in fns.values():
        once(fn)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            times[name].append(once(fn))
    return {name: statistics.median(ts) for name, ts in times.items()}


def environment() -> dict[str, Any]:
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
    }
    for mod in ("numbagg", "bottleneck", "flox", "xarray", "scipy", "shapely"):
        m = _try_import(mod)
        versions[mod] = getattr(m, "__version__", None) if m else None
    return {
        "machine": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "threading_layer": numba.config.THREADING_LAYER,
        "versions": versions,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def cache_probe(names: list[str], quick: bool) -> dict[str, float]:
    """Seconds of each case's tiny first call in a fresh process that finds this run's cache.

    Runs this script with `--probe-cache` in a subprocess sharing NUMBA_CACHE_DIR; returns {}
    (and says why on stderr) if that fails.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--keep-cache"]
    cmd += ["--quick"] * quick + ["--probe-cache", "|".join(names)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800)
    if res.returncode != 0 or not res.stdout.strip():
        print(f"warning: cache probe failed: {res.stderr.strip()[-500:]}", file=sys.stderr)
        return {}
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_probe(cases: list[Case], names: str) -> int:
    """The `--probe-cache` mode: print {case: first-call seconds} as one JSON line."""
    from numba import njit, prange

    @njit(parallel=True)
    def start_threads(x: np.ndarray) -> float:  # numba's one-off thread start, not timed
        s = 0.0
        for i in prange(x.size):
            s += x[i]
        return s

    start_threads(np.ones(4))
    wanted = names.split("|")
    out = {}
    for case in cases:
        if case.kernel in wanted:
            arg = case.tiny() if case.tiny else tiny_input(case)
            t0 = time.perf_counter()
            case.ours(arg)
            out[case.kernel] = round(time.perf_counter() - t0, 4)
    print(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the records here")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (median)")
    ap.add_argument("--only", default="", help="comma-separated prefixes of case names")
    ap.add_argument("--quick", action="store_true", help="small shapes (smoke test)")
    ap.add_argument("--keep-cache", action="store_true", help="use NUMBA_CACHE_DIR as set")
    ap.add_argument("--all-peers", action="store_true", help="also the slow flox engines")
    ap.add_argument("--probe-cache", default="", help=argparse.SUPPRESS)  # see cache_probe
    args = ap.parse_args(argv)

    numba.set_num_threads(os.cpu_count() or 1)
    full = (24, 72, 144) if args.quick else FULL
    cases = build_cases(full, args.quick)
    if args.probe_cache:
        return run_probe(cases, args.probe_cache)
    if args.only:
        prefixes = [p.strip() for p in args.only.split(",") if p.strip()]
        cases = [c for c in cases if any(c.kernel.startswith(p) for p in prefixes)]
    covered = {c.kernel.split()[0] for c in build_cases((24, 8, 8), True)}
    missing = {k.name for k in KERNELS} - covered
    if missing:
        print(f"warning: no benchmark case for {sorted(missing)}", file=sys.stderr)

    env = environment()
    print(json.dumps(env), file=sys.stderr)
    records = []
    cache: dict[Any, Any] = {}
    for case in cases:
        t0 = time.perf_counter()
        case.ours(case.tiny() if case.tiny else tiny_input(case))
        compile_s = time.perf_counter() - t0
        arg, floor_arr = make_input(case, cache)
        dst = np.empty_like(floor_arr)
        fns: dict[str, Callable[[], Any]] = {
            "ours": lambda: case.ours(arg),
            "floor": lambda: np.copyto(dst, floor_arr),
        }
        # Warm-up every peer once; peers 1.5x slower than the fastest warm-up cannot be the
        # fastest and are dropped, to keep the run short.
        warm: dict[str, float] = {}
        for name, peer in case.peers.items():
            try:
                once(lambda peer=peer: peer(arg))  # first call may JIT-compile (numbagg)
                warm[name] = once(lambda peer=peer: peer(arg))
            except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
                print(f"  {case.kernel}: peer {name} failed: {exc!r}", file=sys.stderr)
                continue
            print(f"  {case.kernel}: peer {name} warm-up {warm[name]:.4f} s", file=sys.stderr)
        if warm:
            fastest = min(warm.values())
            for name, w in warm.items():
                if w <= 1.5 * fastest:
                    fns[name] = lambda peer=case.peers[name]: peer(arg)
        med = interleaved(fns, args.repeat)
        fns.clear()
        ours_s, floor_s = med.pop("ours"), med.pop("floor")
        best_name, best_s = min(med.items(), key=lambda kv: kv[1]) if med else (None, math.inf)
        rec = {
            "kernel": case.kernel,
            "shape": list(case.shape),
            "ours_s": round(ours_s, 5),
            "peer": best_name,
            "peer_s": round(best_s, 5) if best_name else None,
            "floor_s": round(floor_s, 5),
            "compile_s": round(compile_s, 3),
            "cached_s": None,
            "load1": round(os.getloadavg()[0], 2),
        }
        records.append(rec)
        speed = f"x{best_s / ours_s:.2f} vs {best_name}" if best_name else "no peer"
        print(
            f"{case.kernel:28s} {str(case.shape):18s} ours {ours_s:8.4f} s  {speed:45s} "
            f"floor x{ours_s / floor_s:5.1f}  compile {compile_s:5.2f} s  "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    cached = cache_probe([r["kernel"] for r in records], args.quick) if records else {}
    for rec in records:
        rec["cached_s"] = cached.get(rec["kernel"])
        print(f"{rec['kernel']:28s} first call from cache {rec['cached_s']} s", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        body = ",\n".join(json.dumps(r) for r in records)
        args.json.write_text(f'{{"environment": {json.dumps(env)},\n"records": [\n{body}\n]}}\n')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
