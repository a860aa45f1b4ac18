"""Neighbourhood kernels on the two trailing (y, x) axes: focal mean/max, spatial lag.

Inputs are (y, x) or (time, y, x); each (y, x) slice is processed independently, in cell
units (a radius of r cells; no latitude correction: on a lat/lon grid a cell is narrower
east-west towards the poles). Borders are not padded: a neighbourhood is clipped to the grid
and statistics use the cells that exist. NaN values are skipped.

Square box mean: a running column sum over rows [y-r, y+r] (one add and one subtract per
cell and row, streaming the input once) followed by a prefix sum along each row - the
separable form of the summed-area table, so the cost does not grow with r, and the sums span
one window rather than the whole grid (less rounding than a 2-D summed-area table).
Work items are (slice, block of columns with an r-cell halo), run with `prange`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._util import to_grid_stack

__all__ = ["focal_mean", "focal_max", "spatial_lag"]

_XB = 256  # columns per work item
_YB = 32  # rows per work item (disk mean)

SHAPES = ("square", "disk")


def _check(radius: int, shape: str) -> int:
    if isinstance(radius, bool) or int(radius) != radius or radius < 0:
        raise ValueError(f"radius must be an integer >= 0 (cells), got {radius!r}")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    return int(radius)


@njit(cache=True)
def _half_widths(r):  # pragma: no cover - compiled
    """hw[d] = largest w with w*w + d*d <= r*r (disk row half-widths), exact in integers."""
    hw = np.empty(r + 1, np.int64)
    for d in range(r + 1):
        w = r
        while w * w + d * d > r * r:
            w -= 1
        hw[d] = w
    return hw


@njit(cache=True, parallel=True)
def _focal_mean_square(a, r, min_count, out):  # pragma: no cover - compiled
    S, ny, nx = a.shape
    nxb = (nx + _XB - 1) // _XB
    for item in prange(S * nxb):
        s = item // nxb
        x0 = (item % nxb) * _XB
        x1 = min(nx, x0 + _XB)
        e0 = max(0, x0 - r)
        e1 = min(nx, x1 + r)
        ne = e1 - e0
        cs = np.zeros(ne, np.float64)
        cc = np.zeros(ne, np.int64)
        ps = np.zeros(ne + 1, np.float64)
        pc = np.zeros(ne + 1, np.int64)
        for y in range(min(r, ny)):
            for i in range(ne):
                v = a[s, y, e0 + i]
                if v == v:
                    cs[i] += v
                    cc[i] += 1
        for y in range(ny):
            if y + r < ny:
                for i in range(ne):
                    v = a[s, y + r, e0 + i]
                    if v == v:
                        cs[i] += v
                        cc[i] += 1
            if y - r - 1 >= 0:
                for i in range(ne):
                    v = a[s, y - r - 1, e0 + i]
                    if v == v:
                        cs[i] -= v
                        cc[i] -= 1
                        if cc[i] == 0:
                            cs[i] = 0.0
            for i in range(ne):
                ps[i + 1] = ps[i] + cs[i]
                pc[i + 1] = pc[i] + cc[i]
            for x in range(x0, x1):
                lo = max(x - r, 0) - e0
                hi = min(x + r, nx - 1) - e0 + 1
                n = pc[hi] - pc[lo]
                if n >= min_count and n > 0:
                    out[s, y, x] = (ps[hi] - ps[lo]) / n
                else:
                    out[s, y, x] = np.nan
    return out


@njit(cache=True, parallel=True)
def _focal_mean_disk(a, r, min_count, out):  # pragma: no cover - compiled
    # Work items are (slice, band of _YB rows). Each computes row prefix sums for its band
    # plus an r-row halo, then takes one O(1) span per disk row for every cell: O(r) per
    # cell, one parallel region for the whole stack.
    S, ny, nx = a.shape
    hw = _half_widths(r)
    nyb = (ny + _YB - 1) // _YB
    for item in prange(S * nyb):
        s = item // nyb
        y0 = (item % nyb) * _YB
        y1 = min(ny, y0 + _YB)
        h0 = max(0, y0 - r)
        h1 = min(ny, y1 + r)
        ps = np.empty((h1 - h0, nx + 1), np.float64)
        pc = np.empty((h1 - h0, nx + 1), np.float64)
        for yy in range(h0, h1):
            p = ps[yy - h0]
            q = pc[yy - h0]
            src = a[s, yy]
            p[0] = 0.0
            q[0] = 0.0
            for x in range(nx):
                v = src[x]
                ok = v == v
                p[x + 1] = p[x] + (v if ok else 0.0)
                q[x + 1] = q[x] + (1.0 if ok else 0.0)
        for y in range(y0, y1):
            tot = np.zeros(nx, np.float64)
            cnt = np.zeros(nx, np.float64)
            for yy in range(max(0, y - r), min(ny, y + r + 1)):
                w = hw[abs(yy - y)]
                p = ps[yy - h0]
                q = pc[yy - h0]
                for x in range(nx):
                    lo = max(x - w, 0)
                    hi = min(x + w, nx - 1) + 1
                    tot[x] += p[hi] - p[lo]
                    cnt[x] += q[hi] - q[lo]
            o = out[s, y]
            for x in range(nx):
                n = cnt[x]
                o[x] = tot[x] / n if (n >= min_count and n > 0.0) else np.nan
    return out


def focal_mean(
    a: np.ndarray, radius: int, *, shape: str = "square", min_count: int = 1
) -> np.ndarray:
    """Mean over a square or disk neighbourhood of `radius` cells, on the two trailing axes.

    `a` is (y, x) or (time, y, x), float32/float64 (other dtypes become float64); the result
    has the same shape, dtype and units. "square" covers the (2r+1) x (2r+1) box, "disk" the
    cells with dy**2 + dx**2 <= r**2 (r = 0: the cell itself). The neighbourhood is clipped at
    the grid edge; NaN cells are skipped; out is NaN where fewer than `min_count` (>= 1) valid
    cells remain. Square cost does not grow with r (separable summed-area sums in float64);
    disk costs O(r) per cell (one prefix-sum span per disk row).
    """
    r = _check(radius, shape)
    if int(min_count) != min_count or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    a3, orig = to_grid_stack(a)
    if a3.size == 0:
        return np.empty(orig, a3.dtype)
    kern = _focal_mean_square if shape == "square" else _focal_mean_disk
    return kern(a3, r, int(min_count), np.empty_like(a3)).reshape(orig)


@njit(cache=True, parallel=True)
def _focal_max_square(a, r, out):  # pragma: no cover - compiled
    # Separable: max over rows [y-r, y+r] per column (O(r)), then over columns (O(r)).
    S, ny, nx = a.shape
    nxb = (nx + _XB - 1) // _XB
    for item in prange(S * nxb):
        s = item // nxb
        x0 = (item % nxb) * _XB
        x1 = min(nx, x0 + _XB)
        e0 = max(0, x0 - r)
        e1 = min(nx, x1 + r)
        ne = e1 - e0
        vm = np.empty(ne, np.float64)
        for y in range(ny):
            vm[:] = -np.inf
            ok = np.zeros(ne, np.float64)  # valid cells in the column window
            for yy in range(max(0, y - r), min(ny, y + r + 1)):
                src = a[s, yy, e0:e1]
                for i in range(ne):
                    v = src[i]
                    ok[i] += 1.0 if v == v else 0.0
                    vm[i] = v if v > vm[i] else vm[i]
            o = out[s, y]
            for x in range(x0, x1):
                best = -np.inf
                cnt = 0.0
                for i in range(max(x - r, 0) - e0, min(x + r, nx - 1) - e0 + 1):
                    cnt += ok[i]
                    best = vm[i] if vm[i] > best else best
                o[x] = best if cnt > 0.0 else np.nan
    return out


@njit(cache=True, parallel=True)
def _focal_max_disk(a, r, out):  # pragma: no cover - compiled
    S, ny, nx = a.shape
    hw = _half_widths(r)
    for item in prange(S * ny):
        s = item // ny
        y = item % ny
        for x in range(nx):
            best = -np.inf
            any_ok = False
            for yy in range(max(0, y - r), min(ny, y + r + 1)):
                w = hw[abs(yy - y)]
                for xx in range(max(x - w, 0), min(x + w, nx - 1) + 1):
                    v = a[s, yy, xx]
                    if v == v:
                        any_ok = True
                        if v > best:
                            best = v
            out[s, y, x] = best if any_ok else np.nan
    return out


def focal_max(a: np.ndarray, radius: int, *, shape: str = "square") -> np.ndarray:
    """Maximum over a square or disk neighbourhood of `radius` cells, on the two trailing axes.

    `a` is (y, x) or (time, y, x), float32/float64 (other dtypes become float64); the result
    has the same shape, dtype and units. Neighbourhoods as in `focal_mean` (clipped at the
    grid edge); NaN cells are skipped; out is NaN where no neighbour is valid. Square is
    separable, O(r) per cell; disk is O(r**2) per cell.
    """
    r = _check(radius, shape)
    a3, orig = to_grid_stack(a)
    if a3.size == 0:
        return np.empty(orig, a3.dtype)
    kern = _focal_max_square if shape == "square" else _focal_max_disk
    return kern(a3, r, np.empty_like(a3)).reshape(orig)


@njit(cache=True, parallel=True)
def _spatial_lag(a, dys, dxs, ws, out):  # pragma: no cover - compiled
    S, ny, nx = a.shape
    k = dys.shape[0]
    for item in prange(S * ny):
        s = item // ny
        y = item % ny
        num = np.zeros(nx, np.float64)
        den = np.zeros(nx, np.float64)
        for o in range(k):
            yy = y + dys[o]
            if yy < 0 or yy >= ny:
                continue
            dx = dxs[o]
            w = ws[o]
            src = a[s, yy]
            for x in range(max(0, -dx), min(nx, nx - dx)):
                v = src[x + dx]
                ok = v == v
                num[x] += w * v if ok else 0.0
                den[x] += w if ok else 0.0
        for x in range(nx):
            out[s, y, x] = num[x] / den[x] if den[x] > 0.0 else np.nan
    return out


@njit(cache=True, parallel=True)
def _spatial_lag_at(a, ys, xs, dys, dxs, ws, out):  # pragma: no cover - compiled
    # The sums of `_spatial_lag` at the cells (ys, xs) alone, in the same order of offsets,
    # so each value is the same to the bit.
    S, ny, nx = a.shape
    n = ys.shape[0]
    k = dys.shape[0]
    for item in prange(S * n):
        s = item // n
        i = item % n
        num = 0.0
        den = 0.0
        for o in range(k):
            yy = ys[i] + dys[o]
            xx = xs[i] + dxs[o]
            if yy < 0 or yy >= ny or xx < 0 or xx >= nx:
                continue
            v = a[s, yy, xx]
            ok = v == v
            num += ws[o] * v if ok else 0.0
            den += ws[o] if ok else 0.0
        out[s, ys[i], xs[i]] = num / den if den > 0.0 else np.nan
    return out


def spatial_lag(a: np.ndarray, radius: float, *, power: float = 1.0,
                where: np.ndarray | None = None) -> np.ndarray:
    """Inverse-distance weighted mean of the neighbours within `radius` cells (self excluded).

    `a` is (y, x) or (time, y, x), float32/float64 (other dtypes become float64); the result
    has the same shape, dtype and units. out[y, x] = sum w v / sum w over the valid cells at
    offsets (dy, dx) != (0, 0) with dy**2 + dx**2 <= radius**2, w = 1 / distance**power
    (distance in cells). NaN neighbours are skipped; out is NaN where no neighbour is valid.
    `where`, a (y, x) bool mask, computes only the cells where it is True (the same values)
    and leaves the others NaN, at a cost proportional to its True cells.
    Cost O(radius**2) per cell.
    """
    if not float(radius) >= 0:
        raise ValueError(f"radius must be >= 0 (cells), got {radius!r}")
    r = float(radius)
    ri = int(math.floor(r))
    dys, dxs, ws = [], [], []
    for dy in range(-ri, ri + 1):
        for dx in range(-ri, ri + 1):
            d2 = dy * dy + dx * dx
            if 0 < d2 <= r * r:
                dys.append(dy)
                dxs.append(dx)
                ws.append(1.0 / math.sqrt(d2) ** float(power))
    a3, orig = to_grid_stack(a)
    offsets = (np.array(dys, np.int64), np.array(dxs, np.int64), np.array(ws, np.float64))
    if where is not None:
        mask = np.asarray(where)
        if mask.dtype != np.bool_ or mask.shape != tuple(orig[-2:]):
            raise ValueError(f"where must be a bool (y, x) mask of shape {tuple(orig[-2:])}, "
                             f"got {mask.dtype} {mask.shape}")
        ys, xs = np.nonzero(mask)
        out = np.full(a3.shape, np.nan, a3.dtype)
        if a3.size and len(ys):
            _spatial_lag_at(a3, ys.astype(np.int64), xs.astype(np.int64), *offsets, out)
        return out.reshape(orig)
    if a3.size == 0:
        return np.empty(orig, a3.dtype)
    out = _spatial_lag(a3, *offsets, np.empty_like(a3))
    return out.reshape(orig)
