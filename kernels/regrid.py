"""Area-weighted (first-order conservative) regridding between rectilinear lat/lon grids.

A destination cell's value is the area-weighted mean of the source cells it overlaps:
out = sum(A_kl v_kl) / sum(A_kl) over valid (non-NaN) source cells, A_kl the area of the
intersection. On the sphere the area of a lat/lon box is proportional to
(sin lat_hi - sin lat_lo) x (lon_hi - lon_lo), so the overlap factorises into a latitude
part (in sin(lat)) and a longitude part (in degrees). The kernel works from two sparse
overlap lists (one per axis, computed once), one destination row per parallel work item,
so coarse->fine and fine->coarse cost O(destination cells x overlapping source cells).
`regrid_reference` is the slow twin: dense overlap matrices and numpy sums.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import to_grid_stack

__all__ = ["overlap_matrix", "regrid_area_weighted", "regrid_reference"]


def _check_edges(edges: np.ndarray, name: str, lat: bool) -> np.ndarray:
    e = np.asarray(edges, np.float64)
    if e.ndim != 1 or e.size < 2:
        raise ValueError(f"{name} must be 1-D cell edges (n + 1 values), got shape {e.shape}")
    if not np.all(np.diff(e) > 0):
        raise ValueError(f"{name} must be strictly increasing")
    if lat and (e[0] < -90 or e[-1] > 90):
        raise ValueError(f"{name} must lie in [-90, 90] degrees, got [{e[0]}, {e[-1]}]")
    return e


def overlap_matrix(src_edges: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    """Dense (n_dst, n_src) lengths of overlap between 1-D cells given by their edges."""
    lo = np.maximum(dst_edges[:-1, None], src_edges[None, :-1])
    hi = np.minimum(dst_edges[1:, None], src_edges[None, 1:])
    return np.clip(hi - lo, 0.0, None)


def _sparse(src_edges: np.ndarray, dst_edges: np.ndarray) -> tuple[np.ndarray, ...]:
    dense = overlap_matrix(src_edges, dst_edges)
    ptr = np.zeros(dense.shape[0] + 1, np.int64)
    idx, w = [], []
    for i in range(dense.shape[0]):
        (k,) = np.nonzero(dense[i] > 0)
        idx.append(k)
        w.append(dense[i, k])
        ptr[i + 1] = ptr[i] + k.size
    return (ptr, np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, np.int64),
            np.concatenate(w) if w else np.zeros(0))


@njit(cache=True, parallel=True)
def _regrid(a, yptr, yidx, yw, xptr, xidx, xw, ny, nx):  # pragma: no cover - compiled
    S = a.shape[0]
    out = np.empty((S, ny, nx), a.dtype)
    for item in prange(S * ny):
        s = item // ny
        i = item % ny
        for j in range(nx):
            num = 0.0
            den = 0.0
            for p in range(yptr[i], yptr[i + 1]):
                k = yidx[p]
                wy = yw[p]
                for q in range(xptr[j], xptr[j + 1]):
                    v = a[s, k, xidx[q]]
                    if v == v:  # noqa: PLR0124 - NaN test, numba-friendly
                        w = wy * xw[q]
                        num += w * v
                        den += w
            out[s, i, j] = num / den if den > 0.0 else np.nan
    return out


def _prepare(values, src_lat_edges, src_lon_edges, dst_lat_edges, dst_lon_edges):
    a3, shape = to_grid_stack(values, "values")
    sy = _check_edges(src_lat_edges, "src_lat_edges", True)
    sx = _check_edges(src_lon_edges, "src_lon_edges", False)
    dy = _check_edges(dst_lat_edges, "dst_lat_edges", True)
    dx = _check_edges(dst_lon_edges, "dst_lon_edges", False)
    if a3.shape[1:] != (sy.size - 1, sx.size - 1):
        raise ValueError(f"values (y, x) shape {a3.shape[1:]} does not match the source "
                         f"edges ({sy.size - 1}, {sx.size - 1})")
    # Area on the sphere is proportional to d(sin lat) x d(lon).
    return a3, shape, np.sin(np.deg2rad(sy)), sx, np.sin(np.deg2rad(dy)), dx


def regrid_area_weighted(
    values: np.ndarray,
    src_lat_edges: np.ndarray,
    src_lon_edges: np.ndarray,
    dst_lat_edges: np.ndarray,
    dst_lon_edges: np.ndarray,
) -> np.ndarray:
    """Regrid (y, x) or (time, y, x) `values` to another lat/lon grid by area weighting.

    Edges are 1-D, strictly increasing, in degrees (lat in [-90, 90]): the source grid has
    len(src_lat_edges) - 1 rows and len(src_lon_edges) - 1 columns, likewise the
    destination. Each destination cell gets the mean of the valid source cells it overlaps,
    weighted by the area of the overlap on the sphere; NaN where it overlaps no valid cell.
    Works coarse -> fine (each fine cell takes its coarse cell's value) and fine -> coarse
    (area-weighted mean). Returns (ny_dst, nx_dst) or (time, ny_dst, nx_dst) in the dtype
    and units of `values`; accumulates in float64. No longitude wrap-around: both grids in
    the same lon range.
    """
    a3, shape, sy, sx, dy, dx = _prepare(values, src_lat_edges, src_lon_edges,
                                         dst_lat_edges, dst_lon_edges)
    yptr, yidx, yw = _sparse(sy, dy)
    xptr, xidx, xw = _sparse(sx, dx)
    out = _regrid(a3, yptr, yidx, yw, xptr, xidx, xw, dy.size - 1, dx.size - 1)
    return out.reshape(shape[:-2] + out.shape[1:])


def regrid_reference(
    values: np.ndarray,
    src_lat_edges: np.ndarray,
    src_lon_edges: np.ndarray,
    dst_lat_edges: np.ndarray,
    dst_lon_edges: np.ndarray,
) -> np.ndarray:
    """Slow twin of `regrid_area_weighted`: dense overlap matrices and numpy sums."""
    a3, shape, sy, sx, dy, dx = _prepare(values, src_lat_edges, src_lon_edges,
                                         dst_lat_edges, dst_lon_edges)
    wy = overlap_matrix(sy, dy)
    wx = overlap_matrix(sx, dx)
    valid = np.isfinite(a3)
    filled = np.where(valid, a3, 0.0).astype(np.float64)
    num = np.einsum("ik,skl,jl->sij", wy, filled, wx)
    den = np.einsum("ik,skl,jl->sij", wy, valid.astype(np.float64), wx)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan).astype(a3.dtype)
    return out.reshape(shape[:-2] + out.shape[1:])
