"""Rasterise polygons (with holes, and multipolygons) to a label raster at cell centres.

Scan-line fill, one grid row per parallel work item: for each zone whose bounding box spans
the row, the crossings of the row's centre line with the edges of the zone's rings (rings
whose own bounding box misses the row are skipped) are sorted, and the cell centres between
crossing 2m and 2m+1 are inside (even-odd rule, so holes and the parts of a multipolygon need
no special case). Cost O(rows x edges of the zones spanning them + cells painted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numba import njit, prange

__all__ = ["rasterize_polygons"]


def _depth(obj: Any) -> int:
    """Nesting depth down to the first number: 1 for a point, 2 ring, 3 polygon, 4 multi."""
    d = 0
    while not np.isscalar(obj):
        if len(obj) == 0:
            return -1
        obj = obj[0]
        d += 1
    return d


def _normalise_geometry(geom: Any) -> list[list[np.ndarray]]:
    """One zone's geometry -> list of polygons, each a list of (n, 2) float64 rings."""
    if geom is None:
        return []
    if hasattr(geom, "__geo_interface__"):
        geom = geom.__geo_interface__
    if isinstance(geom, Mapping):
        kind = geom.get("type")
        coords = geom.get("coordinates")
        if kind == "Polygon":
            polys = [coords]
        elif kind == "MultiPolygon":
            polys = list(coords)
        else:
            raise ValueError(f"geometry type must be Polygon or MultiPolygon, got {kind!r}")
    else:
        d = _depth(geom)
        if d == -1:
            return []
        if d == 3:
            polys = [geom]
        elif d == 4:
            polys = list(geom)
        else:
            raise ValueError(
                "raw coordinates must be a Polygon [ring, ...] or a MultiPolygon "
                f"[[ring, ...], ...] with rings of (x, y) pairs; got nesting depth {d}"
            )
    out = []
    for poly in polys:
        rings = []
        for ring in poly:
            r = np.asarray(ring, np.float64)
            if r.ndim != 2 or r.shape[1] < 2:
                raise ValueError(f"a ring must be a sequence of (x, y) pairs, got shape {r.shape}")
            if len(r):
                rings.append(np.ascontiguousarray(r[:, :2]))
        if rings:
            out.append(rings)
    return out


@njit(cache=True, parallel=True)
def _scanline(vx, vy, ring_start, ring_bbox, zone_ring, zone_bbox, max_edges, x, y, fill):
    # pragma: no cover - compiled
    ny = y.shape[0]
    nx = x.shape[0]
    nz = zone_ring.shape[0] - 1
    out = np.full((ny, nx), fill, np.int32)
    for i in prange(ny):
        yc = y[i]
        xs = np.empty(max_edges, np.float64)
        for z in range(nz):
            if not (zone_bbox[z, 1] <= yc <= zone_bbox[z, 3]):
                continue
            k = 0
            for rg in range(zone_ring[z], zone_ring[z + 1]):
                if not (ring_bbox[rg, 0] <= yc <= ring_bbox[rg, 1]):
                    continue
                s0 = ring_start[rg]
                s1 = ring_start[rg + 1]
                for p in range(s0, s1):
                    q = p + 1 if p + 1 < s1 else s0  # implicit closing edge
                    y1 = vy[p]
                    y2 = vy[q]
                    if (y1 > yc) != (y2 > yc):
                        xs[k] = vx[p] + (yc - y1) * (vx[q] - vx[p]) / (y2 - y1)
                        k += 1
            if k < 2:
                continue
            for p in range(1, k):  # insertion sort: few crossings per row, compiles fast
                v = xs[p]
                q = p - 1
                while q >= 0 and xs[q] > v:
                    xs[q + 1] = xs[q]
                    q -= 1
                xs[q + 1] = v
            for m in range(0, k - 1, 2):
                j0 = np.searchsorted(x, xs[m], side="left")
                j1 = np.searchsorted(x, xs[m + 1], side="left")
                for j in range(j0, j1):
                    out[i, j] = z
    return out


def rasterize_polygons(
    geometries: Sequence[Any],
    x: np.ndarray,
    y: np.ndarray,
    *,
    fill: int = -1,
) -> np.ndarray:
    """Rasterise zone polygons to an int32 label raster evaluated at cell centres.

    `geometries[i]` is the geometry of zone i, in the same coordinates as the grid (lon/lat
    degrees for our WGS 84 grid), given as any of: a GeoJSON geometry mapping
    `{"type": "Polygon" | "MultiPolygon", "coordinates": ...}` (e.g. a GeoJSON feature's
    "geometry"); an object with `__geo_interface__` (shapely); raw coordinates in GeoJSON
    nesting: a Polygon is a list of rings `[exterior, hole, ...]`, a MultiPolygon a list of
    Polygons, each ring a sequence of (x, y) pairs or an (n, 2) array (closing the ring is
    optional, orientation is ignored); or None / [] for a zone with no area. `x` (nx,) are
    the cell-centre x coordinates (lon), strictly increasing; `y` (ny,) the cell-centre
    y coordinates (lat), any order. Returns (ny, nx) int32: out[i, j] = zone whose geometry
    contains the point (x[j], y[i]) by the even-odd rule (holes excluded, parts united);
    where zones overlap the later one wins; `fill` (-1) where no zone does. A centre exactly
    on an edge may go either way. No antimeridian handling: split such polygons first.
    """
    xg = np.ascontiguousarray(np.asarray(x, np.float64))
    yg = np.ascontiguousarray(np.asarray(y, np.float64))
    if xg.ndim != 1 or yg.ndim != 1:
        raise ValueError("x and y must be 1-D cell-centre coordinates")
    if xg.size > 1 and not np.all(np.diff(xg) > 0):
        raise ValueError("x (cell-centre lon) must be strictly increasing")
    vxs, vys, starts, rbox, zring, zbox = [], [], [0], [], [0], []
    max_edges = 1
    for geom in geometries:
        polys = _normalise_geometry(geom)
        n_edges = 0
        lo = [np.inf, np.inf]
        hi = [-np.inf, -np.inf]
        for poly in polys:
            for ring in poly:
                vxs.append(ring[:, 0])
                vys.append(ring[:, 1])
                starts.append(starts[-1] + len(ring))
                rbox.append((ring[:, 1].min(), ring[:, 1].max()))
                n_edges += len(ring)
                lo = [min(lo[0], ring[:, 0].min()), min(lo[1], ring[:, 1].min())]
                hi = [max(hi[0], ring[:, 0].max()), max(hi[1], ring[:, 1].max())]
        zring.append(len(rbox))
        zbox.append((lo[0], lo[1], hi[0], hi[1]))
        max_edges = max(max_edges, n_edges)
    vx = np.concatenate(vxs) if vxs else np.zeros(0)
    vy = np.concatenate(vys) if vys else np.zeros(0)
    return _scanline(
        vx,
        vy,
        np.asarray(starts, np.int64),
        np.asarray(rbox, np.float64).reshape(-1, 2),
        np.asarray(zring, np.int64),
        np.asarray(zbox, np.float64).reshape(-1, 4),
        max_edges,
        xg,
        yg,
        int(fill),
    )
