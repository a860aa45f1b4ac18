"""Slow, obvious reference implementations (plain NumPy / SciPy) of every public kernel.

One function per kernel, same name and signature as in `kernels`, same output shape and
dtype. They favour being evidently right over speed: explicit windows, explicit loops over
slots and zones, `np.nan*` reductions. The property tests compare each kernel against its
twin here (see `kernels.registry`), and they run without Numba.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._util import as_float, check_window


def _windows(a: np.ndarray, window: int):
    """Yield (t, a[max(0, t-window+1) : t+1]) along axis 0."""
    for t in range(a.shape[0]):
        yield t, a[max(0, t - window + 1) : t + 1]


def _move(a: Any, window: int, min_count: int | None, stat) -> np.ndarray:
    window, min_count = check_window(window, min_count)
    a = as_float(a)
    out = np.full(a.shape, np.nan, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for t, w in _windows(a.astype(np.float64), window):
            n = np.sum(~np.isnan(w), axis=0)
            r = stat(w, n)
            out[t] = np.where(n >= min_count, r, np.nan)
    return out.astype(a.dtype)


def move_sum(a: Any, window: int, *, min_count: int | None = None) -> np.ndarray:
    return _move(a, window, min_count, lambda w, n: np.nansum(w, axis=0))


def move_mean(a: Any, window: int, *, min_count: int | None = None) -> np.ndarray:
    return _move(a, window, min_count, lambda w, n: np.nanmean(w, axis=0))


def move_std(a: Any, window: int, *, min_count: int | None = None, ddof: int = 0) -> np.ndarray:
    return _move(a, window, min_count, lambda w, n: np.nanstd(w, axis=0, ddof=ddof))


def move_min(a: Any, window: int, *, min_count: int | None = None) -> np.ndarray:
    return _move(a, window, min_count, lambda w, n: np.nanmin(w, axis=0))


def move_max(a: Any, window: int, *, min_count: int | None = None) -> np.ndarray:
    return _move(a, window, min_count, lambda w, n: np.nanmax(w, axis=0))


def ewm_mean(a: Any, alpha: float, *, min_count: int = 1) -> np.ndarray:
    """Explicit weights over the valid history of every cell: O(time**2) per cell."""
    a = as_float(a)
    x = a.astype(np.float64).reshape(a.shape[0], -1) if a.size else a.reshape(a.shape[0], 0)
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        s = x[:, j]
        for t in range(x.shape[0]):
            hist = s[: t + 1][~np.isnan(s[: t + 1])]
            if hist.size >= min_count and hist.size:
                w = (1.0 - alpha) ** np.arange(hist.size)[::-1]
                out[t, j] = np.sum(w * hist) / np.sum(w)
    return out.reshape(a.shape).astype(a.dtype)


def lag(a: Any, k: int) -> np.ndarray:
    a = as_float(a)
    out = np.full(a.shape, np.nan, a.dtype)
    for t in range(k, a.shape[0]):
        out[t] = a[t - k]
    return out


def trend(a: Any, window: int, *, min_count: int | None = None) -> np.ndarray:
    """np.polyfit-free OLS slope over each window's valid points."""
    window, min_count = check_window(window, min_count, lo=2)
    a = as_float(a)
    x = a.astype(np.float64).reshape(a.shape[0], -1) if a.size else a.reshape(a.shape[0], 0)
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        for t in range(x.shape[0]):
            lo = max(0, t - window + 1)
            y = x[lo : t + 1, j]
            tt = np.arange(lo, t + 1, dtype=np.float64)
            ok = ~np.isnan(y)
            if ok.sum() >= max(min_count, 2):
                tt, y = tt[ok], y[ok]
                dt = tt - tt.mean()
                den = np.sum(dt * dt)
                if den > 0:
                    out[t, j] = np.sum(dt * (y - y.mean())) / den
    return out.reshape(a.shape).astype(a.dtype)


def standardized_anomaly(
    a: Any, baseline: slice, *, period: int = 12, phase: int = 0, min_count: int = 2
) -> np.ndarray:
    a = as_float(a)
    x = a.astype(np.float64)
    T = x.shape[0]
    slots = (np.arange(T) + phase) % period
    in_base = np.zeros(T, bool)
    in_base[np.arange(T)[baseline]] = True
    out = np.full(x.shape, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for p in range(period):
            base = x[in_base & (slots == p)]
            n = np.sum(~np.isnan(base), axis=0)
            mu = np.nanmean(base, axis=0) if base.shape[0] else np.full(x.shape[1:], np.nan)
            sd = np.nanstd(base, axis=0, ddof=1) if base.shape[0] else np.full(x.shape[1:], np.nan)
            ok = (n >= min_count) & (n >= 2) & (sd > 0)
            sel = slots == p
            out[sel] = np.where(ok, (x[sel] - mu) / np.where(ok, sd, 1.0), np.nan)
    return out.astype(a.dtype)


def event_decay(events: Any, half_life: float) -> tuple[np.ndarray, np.ndarray]:
    e = as_float(events)
    x = np.nan_to_num(e.astype(np.float64), nan=0.0)
    T = x.shape[0]
    decayed = np.zeros(x.shape)
    since = np.full(x.shape, np.nan)
    for t in range(T):
        # closed form: sum over s <= t of events[s] * 0.5 ** ((t - s) / half_life)
        w = 0.5 ** ((t - np.arange(t + 1)) / half_life)
        decayed[t] = np.tensordot(w, x[: t + 1], axes=(0, 0))
        hit = x[: t + 1] > 0
        any_hit = hit.any(axis=0)
        last = t - np.argmax(hit[::-1], axis=0)
        since[t] = np.where(any_hit, t - last, np.nan)
    return decayed.astype(e.dtype), since.astype(e.dtype)


def spi(
    precip: Any,
    scale: int,
    baseline: slice,
    *,
    period: int = 12,
    phase: int = 0,
    min_count: int = 10,
) -> np.ndarray:
    """scipy.stats: gamma.fit(floc=0) per cell and slot, gamma.cdf, norm.ppf."""
    from scipy import stats

    p = as_float(precip)
    x = p.astype(np.float64).reshape(p.shape[0], -1) if p.size else p.reshape(p.shape[0], 0)
    x = np.where(x >= 0, x, np.nan)
    T = x.shape[0]
    acc = np.full(x.shape, np.nan)
    for t in range(scale - 1, T):
        acc[t] = np.sum(x[t - scale + 1 : t + 1], axis=0)  # NaN if any is NaN
    slots = (np.arange(T) + phase) % period
    in_base = np.zeros(T, bool)
    in_base[np.arange(T)[baseline]] = True
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        for k in range(period):
            base = acc[in_base & (slots == k), j]
            base = base[~np.isnan(base)]
            pos = base[base > 0]
            if base.size < min_count or pos.size < 2:
                continue
            if not np.log(pos.mean()) - np.log(pos).mean() > 1e-12:
                continue
            a, _, sc = stats.gamma.fit(pos, floc=0)
            q = (base.size - pos.size) / base.size
            sel = slots == k
            h = q + (1 - q) * stats.gamma.cdf(acc[sel, j], a, scale=sc)
            out[sel, j] = np.clip(stats.norm.ppf(h), -3.09, 3.09)
    return out.reshape(p.shape).astype(p.dtype)


# --------------------------------------------------------------------------- zones
def zonal_stats(
    values: Any,
    labels: Any,
    n_zones: int,
    *,
    stat: str = "mean",
    weights: Any = None,
) -> np.ndarray:
    v = np.asarray(values, np.float64)
    lab = np.asarray(labels)
    squeeze = v.ndim == 2
    v3 = v[None] if squeeze else v
    w = None if weights is None else np.asarray(weights, np.float64)
    out = np.full((v3.shape[0], n_zones), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for t in range(v3.shape[0]):
            for z in range(n_zones):
                sel = lab == z
                x = v3[t][sel]
                ok = ~np.isnan(x)
                if stat == "weighted_mean":
                    ww = w[sel]
                    ok &= ~np.isnan(ww)
                    sw = ww[ok].sum()
                    out[t, z] = np.sum(ww[ok] * x[ok]) / sw if ok.any() and sw != 0 else np.nan
                elif stat == "count":
                    out[t, z] = ok.sum()
                elif not ok.any():
                    out[t, z] = np.nan
                elif stat == "sum":
                    out[t, z] = x[ok].sum()
                elif stat == "mean":
                    out[t, z] = x[ok].mean()
                elif stat == "max":
                    out[t, z] = x[ok].max()
                else:
                    raise ValueError(stat)
    return out[0] if squeeze else out


def broadcast_regions(table: Any, labels: Any, *, fill: float = np.nan) -> np.ndarray:
    tab = as_float(table)
    lab = np.asarray(labels)
    squeeze = tab.ndim == 1
    t2 = tab[None] if squeeze else tab
    out = np.full((t2.shape[0],) + lab.shape, fill, tab.dtype)
    for t in range(t2.shape[0]):
        for z in range(t2.shape[1]):
            out[t][lab == z] = t2[t, z]
    return out[0] if squeeze else out


# --------------------------------------------------------------------------- space
def _offsets(radius: int, shape: str) -> list[tuple[int, int]]:
    r = int(radius)
    offs = []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if shape == "square" or dy * dy + dx * dx <= r * r:
                offs.append((dy, dx))
    return offs


def _shifted(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """a shifted so out[..., y, x] = a[..., y+dy, x+dx], NaN outside the grid."""
    out = np.full(a.shape, np.nan)
    ny, nx = a.shape[-2:]
    if abs(dy) >= ny or abs(dx) >= nx:
        return out
    ys, yd = slice(max(dy, 0), ny + min(dy, 0)), slice(max(-dy, 0), ny + min(-dy, 0))
    xs, xd = slice(max(dx, 0), nx + min(dx, 0)), slice(max(-dx, 0), nx + min(-dx, 0))
    out[..., yd, xd] = a[..., ys, xs]
    return out


def focal_mean(a: Any, radius: int, *, shape: str = "square", min_count: int = 1) -> np.ndarray:
    arr = as_float(a)
    x = arr.astype(np.float64)
    s = np.zeros(x.shape)
    n = np.zeros(x.shape)
    for dy, dx in _offsets(radius, shape):
        sh = _shifted(x, dy, dx)
        ok = ~np.isnan(sh)
        s += np.where(ok, sh, 0.0)
        n += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n >= min_count, s / n, np.nan)
    return out.astype(arr.dtype)


def focal_max(a: Any, radius: int, *, shape: str = "square") -> np.ndarray:
    arr = as_float(a)
    x = arr.astype(np.float64)
    out = np.full(x.shape, -np.inf)
    n = np.zeros(x.shape)
    for dy, dx in _offsets(radius, shape):
        sh = _shifted(x, dy, dx)
        out = np.fmax(out, sh)
        n += ~np.isnan(sh)
    return np.where(n > 0, out, np.nan).astype(arr.dtype)


def spatial_lag(a: Any, radius: float, *, power: float = 1.0,
                where: Any = None) -> np.ndarray:
    arr = as_float(a)
    x = arr.astype(np.float64)
    r = float(radius)
    ri = int(math.floor(r))
    s = np.zeros(x.shape)
    ws = np.zeros(x.shape)
    for dy in range(-ri, ri + 1):
        for dx in range(-ri, ri + 1):
            d2 = dy * dy + dx * dx
            if d2 == 0 or d2 > r * r:
                continue
            w = 1.0 / math.sqrt(d2) ** power
            sh = _shifted(x, dy, dx)
            ok = ~np.isnan(sh)
            s += np.where(ok, w * sh, 0.0)
            ws += np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(ws > 0, s / ws, np.nan)
    if where is not None:
        out = np.where(np.asarray(where, bool), out, np.nan)
    return out.astype(arr.dtype)


# --------------------------------------------------------------------------- regrid
def regrid_area_weighted(
    values: Any,
    src_lat_edges: Any,
    src_lon_edges: Any,
    dst_lat_edges: Any,
    dst_lon_edges: Any,
) -> np.ndarray:
    """Dense overlap matrices and einsum (lives beside its kernel in `kernels.regrid`)."""
    from .regrid import regrid_reference

    return regrid_reference(values, src_lat_edges, src_lon_edges, dst_lat_edges, dst_lon_edges)


# --------------------------------------------------------------------------- rasterise
def rasterize_polygons(geometries: Sequence[Any], x: Any, y: Any, *, fill: int = -1) -> np.ndarray:
    """Point-in-polygon at every cell centre with shapely (test-only dependency)."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    from .rasterize import _normalise_geometry

    xx, yy = np.meshgrid(np.asarray(x, np.float64), np.asarray(y, np.float64))
    out = np.full(xx.shape, fill, np.int32)
    for zone, geom in enumerate(geometries):
        polys = _normalise_geometry(geom)
        g = MultiPolygon([Polygon(p[0], p[1:]) for p in polys]) if polys else None
        if g is None:
            continue
        inside = shapely.contains_xy(g, xx, yy)
        out[inside] = zone
    return out
