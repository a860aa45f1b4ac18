"""Zone kernels: grid -> region statistics from an integer label raster, and back.

Labels follow the data contract: an integer (y, x) raster, -1 = no zone (sea, no data),
0 .. n_zones-1 = zone index. `zonal_stats` run-length encodes the labels along the
flattened grid once per call and reduces each run with a vectorisable loop; work items are
(time step, chunk of runs) with their own accumulators, so both 2-D and 3-D inputs run in
parallel without atomics.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import as_float

__all__ = ["zonal_stats", "broadcast_regions", "ZONAL_STATS"]

#: Supported `stat` values of `zonal_stats`, in kernel code order.
ZONAL_STATS = ("sum", "mean", "weighted_mean", "max", "count")

_RUNS = 1 << 12  # label runs per work item (zonal_stats)
_CELLS = 1 << 16  # cells per work item (broadcast_regions by gather)
#: broadcast_regions paints whole runs when labels run this long on average, else gathers
#: per cell: a noisy coastline makes runs of 1-3 cells, where the per-run loop costs more.
_MIN_MEAN_RUN = 8.0


@njit(cache=True, parallel=True)
def _zonal(values, rstart, rstop, rzone, weights, n_zones, code):  # pragma: no cover
    # values (T, ncells). The labelled cells are given as runs [rstart, rstop) of one zone
    # (run-length encoded along the flattened grid): each run is reduced with a branch-free,
    # vectorisable loop, then added to its zone once, which avoids a store-to-load
    # dependency on the zone accumulator for every cell.
    T = values.shape[0]
    nr = rstart.shape[0]
    nchunks = max(1, (nr + _RUNS - 1) // _RUNS)
    acc = np.zeros((T, nchunks, n_zones), np.float64)
    cnt = np.zeros((T, nchunks, n_zones), np.float64)
    if code == 3:
        acc[:] = -np.inf
    for item in prange(T * nchunks):
        t = item // nchunks
        k = item % nchunks
        a = acc[t, k]
        c = cnt[t, k]
        row = values[t]
        for r in range(k * _RUNS, min(nr, (k + 1) * _RUNS)):
            i0 = rstart[r]
            i1 = rstop[r]
            z = rzone[r]
            s = 0.0
            n = 0.0
            if code == 2:
                for i in range(i0, i1):
                    v = row[i]
                    w = weights[i]
                    ok = (v == v) & (w == w)
                    s += w * v if ok else 0.0
                    n += w if ok else 0.0
                a[z] += s
            elif code == 3:
                s = -np.inf
                for i in range(i0, i1):
                    v = row[i]
                    n += 1.0 if v == v else 0.0
                    s = v if v > s else s
                a[z] = s if s > a[z] else a[z]
            else:
                for i in range(i0, i1):
                    v = row[i]
                    ok = v == v
                    s += v if ok else 0.0
                    n += 1.0 if ok else 0.0
                a[z] += s
            c[z] += n
    out = np.empty((T, n_zones), np.float64)
    for t in prange(T):
        for z in range(n_zones):
            s = acc[t, 0, z]
            n = cnt[t, 0, z]
            for k in range(1, nchunks):
                n += cnt[t, k, z]
                if code == 3:
                    if acc[t, k, z] > s:
                        s = acc[t, k, z]
                else:
                    s += acc[t, k, z]
            if code == 4:
                out[t, z] = n
            elif code == 0 or code == 3:
                out[t, z] = s if n > 0 else np.nan
            else:  # mean, weighted mean
                out[t, z] = s / n if n != 0 else np.nan
    return out


def _runs(
    flat: np.ndarray, keep_unlabelled: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal labels in a flat label array: (start, stop, zone) int64 arrays.

    Runs of -1 (no zone) are dropped unless `keep_unlabelled`.
    """
    if flat.size == 0:
        e = np.zeros(0, np.int64)
        return e, e, e
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    start = np.concatenate([[0], change]).astype(np.int64)
    stop = np.concatenate([change, [flat.size]]).astype(np.int64)
    zone = flat[start].astype(np.int64)
    if keep_unlabelled:
        return start, stop, zone
    keep = zone >= 0
    return start[keep], stop[keep], zone[keep]


def _check_labels(labels: np.ndarray, n_zones: int, grid_shape: tuple[int, ...]) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.shape != tuple(grid_shape):
        raise ValueError(f"labels shape {lab.shape} does not match the grid {tuple(grid_shape)}")
    if not np.issubdtype(lab.dtype, np.integer):
        raise TypeError(f"labels must be an integer array (-1 = no zone), got {lab.dtype}")
    if lab.size:
        lo, hi = int(lab.min()), int(lab.max())
        if lo < -1 or hi >= n_zones:
            raise ValueError(f"labels must be in [-1, n_zones={n_zones}), found [{lo}, {hi}]")
    return lab


def zonal_stats(
    values: np.ndarray,
    labels: np.ndarray,
    n_zones: int,
    *,
    stat: str = "mean",
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Aggregate a grid to zones: sum, mean, weighted mean, max or count per zone.

    `values` is (y, x) or (time, y, x), float32/float64 (other dtypes are read as float64);
    `labels` an integer (y, x) raster with -1 = no zone and 0 .. n_zones-1 the zone index.
    `stat` is one of "sum", "mean", "weighted_mean" (sum(w*v)/sum(w), e.g. population-weighted;
    needs `weights` (y, x), cells with NaN weight skipped), "max", "count" (number of valid
    cells). NaN values are skipped. Returns float64 (n_zones,) for 2-D input or
    (time, n_zones) for 3-D, in the units of `values` (count: cells). Zones with no valid
    cell are NaN, except count, which is 0. Accumulates in float64.
    """
    if stat not in ZONAL_STATS:
        raise ValueError(f"stat must be one of {ZONAL_STATS}, got {stat!r}")
    if int(n_zones) != n_zones or n_zones < 0:
        raise ValueError(f"n_zones must be an integer >= 0, got {n_zones!r}")
    n_zones = int(n_zones)
    v = as_float(values)
    if v.ndim not in (2, 3):
        raise ValueError(f"values must be (y, x) or (time, y, x), got shape {v.shape}")
    lab = _check_labels(labels, n_zones, v.shape[-2:])
    if (weights is None) != (stat != "weighted_mean"):
        raise ValueError('weights are required for stat="weighted_mean" and only used there')
    squeeze = v.ndim == 2
    v2 = np.ascontiguousarray(v.reshape(1 if squeeze else v.shape[0], lab.size))
    rstart, rstop, rzone = _runs(lab.ravel())
    if weights is not None:
        w = np.asarray(weights, np.float64)
        if w.shape != lab.shape:
            raise ValueError(f"weights shape {w.shape} does not match the grid {lab.shape}")
        wz = np.ascontiguousarray(w.ravel())
    else:
        wz = np.zeros(0, np.float64)
    out = _zonal(v2, rstart, rstop, rzone, wz, n_zones, ZONAL_STATS.index(stat))
    return out[0] if squeeze else out


@njit(cache=True, parallel=True)
def _broadcast(table, rstart, rstop, rzone, fill, out):  # pragma: no cover - compiled
    # Runs of equal labels (including -1) are filled with one constant each: a streaming,
    # vectorisable write instead of a gather per cell.
    T = table.shape[0]
    nr = rstart.shape[0]
    nchunks = max(1, (nr + _RUNS - 1) // _RUNS)
    for item in prange(T * nchunks):
        t = item // nchunks
        k = item % nchunks
        o = out[t]
        for r in range(k * _RUNS, min(nr, (k + 1) * _RUNS)):
            z = rzone[r]
            v = table[t, z] if z >= 0 else fill
            for i in range(rstart[r], rstop[r]):
                o[i] = v
    return out


@njit(cache=True, parallel=True)
def _broadcast_gather(ext, lab1, out):  # pragma: no cover - compiled
    # out[t, i] = ext[t, lab1[i]]: ext is the zone table with the fill value in column 0 and
    # lab1 the labels + 1, so unlabelled cells need no branch; ext's row sits in L1.
    T = ext.shape[0]
    n = lab1.shape[0]
    nchunks = max(1, (n + _CELLS - 1) // _CELLS)
    for item in prange(T * nchunks):
        t = item // nchunks
        k = item % nchunks
        o = out[t]
        e = ext[t]
        for i in range(k * _CELLS, min(n, (k + 1) * _CELLS)):
            o[i] = e[lab1[i]]
    return out


def broadcast_regions(table: np.ndarray, labels: np.ndarray, *, fill: float = np.nan) -> np.ndarray:
    """Paint per-zone values onto the grid: the inverse of `zonal_stats`.

    `table` is (n_zones,) or (time, n_zones), float32/float64 (other dtypes become float64);
    `labels` an integer (y, x) raster with -1 = no zone and 0 .. n_zones-1 the zone index.
    Returns (y, x) or (time, y, x) with the dtype and units of `table`: out[..., i, j] =
    table[..., labels[i, j]], and `fill` where labels is -1.
    """
    tab = as_float(table)
    if tab.ndim not in (1, 2):
        raise ValueError(f"table must be (n_zones,) or (time, n_zones), got shape {tab.shape}")
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise ValueError(f"labels must be a 2-D (y, x) raster, got shape {lab.shape}")
    lab = _check_labels(lab, tab.shape[-1], lab.shape)
    t2 = np.ascontiguousarray(tab.reshape(tab.shape[0] if tab.ndim == 2 else 1, tab.shape[-1]))
    flat = lab.ravel()
    out = np.empty((t2.shape[0], lab.size), t2.dtype)
    rstart, rstop, rzone = _runs(flat, keep_unlabelled=True)
    if rstart.size and flat.size / rstart.size >= _MIN_MEAN_RUN:
        out = _broadcast(t2, rstart, rstop, rzone, fill, out)
    else:
        ext = np.empty((t2.shape[0], t2.shape[1] + 1), t2.dtype)
        ext[:, 0] = fill
        ext[:, 1:] = t2
        out = _broadcast_gather(ext, (flat + 1).astype(np.int32), out)
    return out.reshape(((tab.shape[0],) if tab.ndim == 2 else ()) + lab.shape)
