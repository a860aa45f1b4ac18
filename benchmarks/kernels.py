"""Benchmark every kernel case of `kernels.cases` against its fastest peer and the floor.

    python benchmarks/kernels.py --json OUT.json            # everything (~5-8 min on 2 cores)
    python benchmarks/kernels.py --only move_mean,zonal_stats --repeat 5
    python benchmarks/kernels.py --quick                     # small shapes, smoke test

The calls (inputs and parameters) are the cases of `kernels.cases.CASES`, the table the
tests run against the references, here on large grids; this script adds only the peers,
which grid each case runs on and notes. Every case is run; a case without a peer is timed
against the floor alone.

One process; for each run: the kernel's first call on the case's small grid (same dtype
and ndim) in a fresh, empty NUMBA_CACHE_DIR (= compile time, reported apart); one warm-up
call of every peer (peers 1.5x slower than the fastest warm-up are dropped); then, after a
warm-up, `--repeat` rounds that call ours, each remaining peer and the floor once each
(round-robin, so all see the same background load), and the median per contender. The
fastest peer is recorded. The floor is one streaming pass over the larger of the kernel's
input array and its output (`np.copyto` into a preallocated array).
Data: float32, 10% NaN, on a (time=240, y=720, x=1440) grid unless a run says otherwise
(expensive peers run on a smaller grid, stated in the shape). Numba threads = cores.

Output: {"environment": {machine, cores, numba threads, versions, date}, "records": [...]},
one record per run {"kernel", "shape", "ours_s", "peer", "peer_s", "floor_s", "compile_s",
"cached_s", "load1"}; "kernel" is the run's name (the case label, plus what differs for a
second run of a case), "shape" its (time, y, x) grid; `peer_s / ours_s` is the speed-up,
`ours_s / floor_s` the distance to the floor. `cached_s` is the same first call in a fresh
process that finds the cache this run filled (a cache load, not a compile); `load1` the
1-minute load average when the run finished (the machine may be shared).
"""

from __future__ import annotations

import argparse
import atexit
import functools
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

from kernels import cases as kernel_cases  # noqa: E402
from kernels import reference as R  # noqa: E402
from kernels.cases import CASES, Call, KernelCase, Shape  # noqa: E402

FULL: Shape = (240, 720, 1440)
QUICK: Shape = (24, 72, 144)
ALL_PEERS = "--all-peers" in sys.argv

# Consecutive runs on the same grid share its values (1 GB takes seconds to draw): the
# last large grid and the last small one (compile probe) are kept. Kernels and peers never
# write to their inputs.
kernel_cases.make_grid = functools.lru_cache(maxsize=2)(kernel_cases.make_grid)


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


def climate_indices_spi(p: np.ndarray, scale: int, baseline: slice, *,
                        min_count: int) -> np.ndarray:
    """climate-indices' vectorised SPI (gamma, monthly, calibrated on the whole record: the
    cases' baseline; it has no minimum count)."""
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


def _xr_rolling(method: str) -> Callable[..., Any]:
    def run(a: np.ndarray, window: int, min_count: int) -> Any:
        da = xr.DataArray(a, dims=("time", "y", "x"))
        return getattr(da.rolling(time=window, min_periods=min_count), method)().values

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


def numpy_trend(a: np.ndarray, window: int, *, min_count: int) -> np.ndarray:
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
        slope = (n_ * sxy - sx * sy) / (n_ * sxx - sx * sx)
    return np.where(n_ >= min_count, slope, np.nan).astype(a.dtype)


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


def numpy_regrid(a: np.ndarray, src_lat: np.ndarray, src_lon: np.ndarray,
                 dst_lat: np.ndarray, dst_lon: np.ndarray) -> np.ndarray:
    """Dense overlap matrices (sin-lat x lon) and two BLAS products per slice."""
    from kernels.regrid import _prepare, overlap_matrix

    a3, shape, sy, sx, dy, dx = _prepare(a, src_lat, src_lon, dst_lat, dst_lon)
    wy = overlap_matrix(sy, dy)
    wxt = overlap_matrix(sx, dx).T.copy()
    valid = ~np.isnan(a3)
    num = wy @ np.where(valid, a3, 0.0).astype(np.float64) @ wxt
    den = wy @ valid.astype(np.float64) @ wxt
    with np.errstate(invalid="ignore", divide="ignore"):
        return (num / den).astype(a.dtype)


FLOX_FUNC = {"mean": "nanmean", "sum": "nansum", "max": "nanmax"}


def flox_zonal(engine: str) -> Callable[..., Any]:
    def run(values: np.ndarray, labels: np.ndarray, n_zones: int, stat: str) -> Any:
        return flox.groupby_reduce(
            values,
            labels,
            func=FLOX_FUNC[stat],
            expected_groups=np.arange(n_zones),
            axis=(-2, -1),
            engine=engine,
            fill_value=np.nan,
        )[0]

    return run


def shapely_rasterize(geoms: list[Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bounding-box pruned shapely.contains_xy per zone (what a careful user writes)."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    from kernels.rasterize import _normalise_geometry

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


# --------------------------------------------------------------------------- runs
Peer = Callable[..., Any]  # called like the kernel: peer(*call.args, **call.kwargs)


@dataclass
class Run:
    name: str  # record name: the case label, plus what differs for a second run of a case
    case: KernelCase
    shape: Shape
    peers: dict[str, Peer] = field(default_factory=dict)
    note: str = ""


def _moving_peers(method: str, numbagg_too: bool = True, xarray_too: bool = False
                  ) -> dict[str, Peer]:
    peers: dict[str, Peer] = {}
    if numbagg_too:
        peers["numbagg"] = lambda a, window, min_count: getattr(numbagg, method)(
            a, window=window, min_count=min_count, axis=0)
    peers["bottleneck"] = lambda a, window, min_count: getattr(bn, method)(
        a, window, min_count=min_count, axis=0)
    if xarray_too:
        peers["xarray.rolling"] = _xr_rolling(method.removeprefix("move_"))
    return peers


def _zonal_peers() -> dict[str, Peer]:
    # flox's "flox" and "numpy" engines took 45 s and 28 s per call here (numbagg: ~3 s);
    # --all-peers includes them.
    engines = ("numbagg", "flox", "numpy") if ALL_PEERS else ("numbagg",)
    return {f"flox engine={e}": flox_zonal(e) for e in engines}


def peers_of(label: str) -> dict[str, Peer]:
    """The outside peers of case `label` ({} when none is known)."""
    if label.startswith("focal_mean square"):
        return {"scipy.ndimage.uniform_filter x2": ndimage_focal_mean}
    if label.startswith("zonal_stats"):
        return _zonal_peers()
    peers: dict[str, dict[str, Peer]] = {
        "move_mean": _moving_peers("move_mean", xarray_too=True),
        "move_sum": _moving_peers("move_sum"),
        "move_std": _moving_peers("move_std"),
        "move_min": _moving_peers("move_min", numbagg_too=False),
        "move_max": _moving_peers("move_max", numbagg_too=False, xarray_too=True),
        "ewm_mean": {"numbagg.move_exp_nanmean": lambda a, alpha: numbagg.move_exp_nanmean(
            a, alpha=alpha, axis=0)},
        "lag": {
            "numpy slice copy": lambda a, k: np.concatenate(
                [np.full((k,) + a.shape[1:], np.nan, a.dtype), a[:-k]]),
            "xarray.shift": lambda a, k: (
                xr.DataArray(a, dims=("time", "y", "x")).shift(time=k).values),
        },
        "trend": {"numpy cumsum OLS": numpy_trend},
        "standardized_anomaly": {"numpy reshape nanmean/nanstd": numpy_std_anomaly},
        "event_decay": {"numpy loop over time": numpy_event_decay},
        "spi scale=3": {
            "scipy.stats (kernels.reference.spi)": R.spi,
            **({"climate-indices": climate_indices_spi} if climate else {}),
        },
        "focal_max square r=2": {"scipy.ndimage.maximum_filter": ndimage_focal_max},
        "spatial_lag r=3": {"scipy.ndimage.convolve x2": ndimage_spatial_lag},
        "broadcast_regions": {"numpy take + where": lambda table, labels: np.where(
            labels >= 0, table[:, np.maximum(labels, 0)], np.nan)},
        "regrid_area_weighted 4x coarser": {"numpy matmul, dense overlaps": numpy_regrid},
        "rasterize_polygons": {"shapely.contains_xy (bbox-pruned)": shapely_rasterize},
    }
    return peers.get(label, {})


def plan_runs(full: Shape, quick: bool) -> list[Run]:
    """One run per case on `full` (or the smaller grid its peers need), plus second runs
    where a case is worth timing at another size."""
    T, Y, X = full
    small = (T, max(Y // 4, 8), max(X // 4, 8))
    grids: dict[str, tuple[Shape, str]] = {
        "trend": (small, "smaller grid: the NumPy peer needs 5 float64 cumsum arrays"),
        "spi scale=3": ((T, 3, 4) if quick else (T, 10, 20),
                        "small grid: the scipy peer fits 12 gammas per cell"),
        "focal_mean disk r=5": (small, ""),
        "focal_max square r=2": (small, ""),
        "spatial_lag r=3": (small, ""),
        "regrid_area_weighted 4x coarser": ((min(T, 24), Y, X), "24 time steps"),
        "rasterize_polygons": ((1, Y, X), "200 zones x 400 vertices, holes, multipolygons"),
    }
    runs = []
    for case in CASES:
        shape, note = grids.get(case.label, (full, ""))
        runs.append(Run(case.label, case, shape, peers_of(case.label), note))
        if case.label == "trend":
            # The floor target is stated on the full grid; the peer cannot run there.
            runs.append(Run("trend full grid", case, full))
        if case.label == "spi scale=3" and climate:
            runs.append(Run("spi scale=3 vs climate-indices", case,
                            (T, 6, 8) if quick else (T, Y // 16, X // 16),
                            {"climate-indices": climate_indices_spi},
                            "vectorised peer: a larger grid than the scipy case"))
    return runs


def floor_array(call: Call, out: Any) -> np.ndarray:
    """The larger of the call's first array argument and its (first) output: what one
    streaming pass of the floor copies."""
    arrays = [a for a in call.args if isinstance(a, np.ndarray)][:1]
    arrays += [o for o in (out if isinstance(out, tuple) else (out,))][:1]
    return max(arrays, key=lambda a: a.nbytes)


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


def run_probe(runs: list[Run], names: str) -> int:
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
    for run in runs:
        if run.name in wanted:
            call = run.case.call()
            t0 = time.perf_counter()
            run.case.spec.func(*call.args, **call.kwargs)
            out[run.name] = round(time.perf_counter() - t0, 4)
    print(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the records here")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (median)")
    ap.add_argument("--only", default="", help="comma-separated prefixes of run names")
    ap.add_argument("--quick", action="store_true", help="small shapes (smoke test)")
    ap.add_argument("--keep-cache", action="store_true", help="use NUMBA_CACHE_DIR as set")
    ap.add_argument("--all-peers", action="store_true", help="also the slow flox engines")
    ap.add_argument("--probe-cache", default="", help=argparse.SUPPRESS)  # see cache_probe
    args = ap.parse_args(argv)

    numba.set_num_threads(os.cpu_count() or 1)
    runs = plan_runs(QUICK if args.quick else FULL, args.quick)
    if args.probe_cache:
        return run_probe(runs, args.probe_cache)
    if args.only:
        prefixes = [p.strip() for p in args.only.split(",") if p.strip()]
        runs = [r for r in runs if any(r.name.startswith(p) for p in prefixes)]

    env = environment()
    print(json.dumps(env), file=sys.stderr)
    records = []
    for run in runs:
        kernel = run.case.spec.func
        if run.note:
            print(f"  {run.name}: {run.note}", file=sys.stderr)
        t0 = time.perf_counter()
        tiny = run.case.call()
        kernel(*tiny.args, **tiny.kwargs)
        compile_s = time.perf_counter() - t0
        call = run.case.call(run.shape)
        floor_arr = floor_array(call, kernel(*call.args, **call.kwargs))
        dst = np.empty_like(floor_arr)
        fns: dict[str, Callable[[], Any]] = {
            "ours": lambda: kernel(*call.args, **call.kwargs),
            "floor": lambda: np.copyto(dst, floor_arr),
        }
        # Warm-up every peer once; peers 1.5x slower than the fastest warm-up cannot be the
        # fastest and are dropped, to keep the run short.
        warm: dict[str, float] = {}
        for name, peer in run.peers.items():
            def peer_call(peer: Peer = peer) -> Any:
                return peer(*call.args, **call.kwargs)

            try:
                once(peer_call)  # first call may JIT-compile (numbagg)
                warm[name] = once(peer_call)
            except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
                print(f"  {run.name}: peer {name} failed: {exc!r}", file=sys.stderr)
                continue
            print(f"  {run.name}: peer {name} warm-up {warm[name]:.4f} s", file=sys.stderr)
            fns[name] = peer_call
        if warm:
            fastest = min(warm.values())
            for name, w in warm.items():
                if w > 1.5 * fastest:
                    del fns[name]
        med = interleaved(fns, args.repeat)
        fns.clear()
        ours_s, floor_s = med.pop("ours"), med.pop("floor")
        best_name, best_s = min(med.items(), key=lambda kv: kv[1]) if med else (None, math.inf)
        rec = {
            "kernel": run.name,
            "shape": list(run.shape),
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
            f"{run.name:32s} {str(run.shape):18s} ours {ours_s:8.4f} s  {speed:45s} "
            f"floor x{ours_s / floor_s:5.1f}  compile {compile_s:5.2f} s  "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    cached = cache_probe([r["kernel"] for r in records], args.quick) if records else {}
    for rec in records:
        rec["cached_s"] = cached.get(rec["kernel"])
        print(f"{rec['kernel']:32s} first call from cache {rec['cached_s']} s", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        body = ",\n".join(json.dumps(r) for r in records)
        args.json.write_text(f'{{"environment": {json.dumps(env)},\n"records": [\n{body}\n]}}\n')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
