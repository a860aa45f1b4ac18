"""Outlines of raster areas: the boundary of a set of grid cells as closed polygons.

An alert area is a set of cells (an admin-1 unit or a connected cluster); partners' systems
need it as polygons (CAP 1.2 `<polygon>`, GeoJSON `MultiPolygon`). `mask_polygons` traces the
cell edges between the area and the rest of the grid into rings: exteriors counter-clockwise
and holes clockwise (the RFC 7946 right-hand rule), cells that only touch at a corner kept
apart (4-connectivity, as the clusters are labelled), collinear vertices dropped so a
rectangle is 5 points however many cells it spans. Pure numpy, no GIS dependency.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

# Edge directions in index space (x = column = lon, y = row = lat, both ascending).
_E, _N, _W, _S = 0, 1, 2, 3
_STEP = {_E: (1, 0), _N: (0, 1), _W: (-1, 0), _S: (0, -1)}

Ring = list[tuple[float, float]]  # (lon, lat) vertices, first == last
Polygon = list[Ring]  # exterior ring, then holes


def cell_edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges (n+1) from ascending cell centres (n); a single cell is 1 degree wide."""
    c = np.asarray(centres, dtype=np.float64)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2.0
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _directed_edges(mask: np.ndarray) -> list[tuple[int, int, int]]:
    """Boundary edges (x, y, direction) of `mask`, oriented with the area on their left."""
    m = np.pad(mask.astype(bool), 1)
    inner = m[1:-1, 1:-1]
    out: list[tuple[int, int, int]] = []
    # (neighbour is outside) for each side; start vertex of the edge in vertex coordinates.
    sides = (
        (inner & ~m[:-2, 1:-1], _E, 0, 0),  # bottom edge, going east from (x, y)
        (inner & ~m[1:-1, 2:], _N, 1, 0),  # right edge, going north from (x+1, y)
        (inner & ~m[2:, 1:-1], _W, 1, 1),  # top edge, going west from (x+1, y+1)
        (inner & ~m[1:-1, :-2], _S, 0, 1),  # left edge, going south from (x, y+1)
    )
    for sel, d, dx, dy in sides:
        ys, xs = np.nonzero(sel)
        out.extend(zip((xs + dx).tolist(), (ys + dy).tolist(), [d] * len(xs), strict=True))
    return out


def _trace(mask: np.ndarray) -> list[list[tuple[int, int]]]:
    """Link boundary edges into closed rings of corner vertices (collinear points removed)."""
    outgoing: dict[tuple[int, int], set[int]] = defaultdict(set)
    for x, y, d in _directed_edges(mask):
        outgoing[(x, y)].add(d)
    rings: list[list[tuple[int, int]]] = []
    for start in sorted(outgoing):  # deterministic ring order and start vertex
        while outgoing[start]:
            d0 = min(outgoing[start])
            outgoing[start].discard(d0)
            ring = [start]
            v, d = start, d0
            while True:
                dx, dy = _STEP[d]
                v = (v[0] + dx, v[1] + dy)
                options = set(outgoing.get(v, ()))
                if v == start:
                    options.add(d0)  # closing the ring is one of the choices at the start
                # Turn left first so cells touching only at a corner stay separate rings.
                for nd in ((d + 1) % 4, d, (d + 3) % 4):
                    if nd in options:
                        break
                else:  # pragma: no cover - a closed boundary always continues
                    raise RuntimeError("open boundary while tracing a raster outline")
                if v == start and nd == d0:
                    if d == d0:  # the start lies inside a straight run: not a corner
                        ring = ring[1:]
                    break
                outgoing[v].discard(nd)
                if nd != d:
                    ring.append(v)
                d = nd
            ring.append(ring[0])
            rings.append(ring)
    return rings


def _collinear(a: tuple[int, int], b: tuple[int, int], c: tuple[int, int]) -> bool:
    return (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]) == 0


def _signed_area(ring: list[tuple[float, float]]) -> float:
    a = np.asarray(ring, dtype=np.float64)
    return 0.5 * float(np.sum(a[:-1, 0] * a[1:, 1] - a[1:, 0] * a[:-1, 1]))


def _inside(pt: tuple[float, float], ring: list[tuple[float, float]]) -> bool:
    """Even-odd ray casting; `pt` is never on an edge here (it is a cell-centre offset)."""
    x, y = pt
    hit = False
    for (x1, y1), (x2, y2) in zip(ring[:-1], ring[1:], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def mask_polygons(mask: np.ndarray, lat: np.ndarray, lon: np.ndarray, ndigits: int = 5,
                  edges: tuple[np.ndarray, np.ndarray] | None = None) -> list[Polygon]:
    """Polygons (lon, lat) outlining the True cells of `mask(lat, lon)`, holes assigned.

    Exteriors are counter-clockwise, holes clockwise, every ring closed (first == last) with
    at least 4 positions, as RFC 7946 and CAP 1.2 require. `edges` (lat edges, lon
    edges) overrides the edges derived from the centres (for a window of a larger grid).
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    ye, xe = edges if edges is not None else (cell_edges(lat), cell_edges(lon))
    exteriors: list[list[tuple[int, int]]] = []
    holes: list[list[tuple[int, int]]] = []
    for ring in _trace(mask):
        (exteriors if _signed_area(ring) > 0 else holes).append(ring)
    polys: list[list[list[tuple[int, int]]]] = [[r] for r in exteriors]
    areas = [_signed_area(r) for r in exteriors]
    for h in holes:
        # A point just inside the hole: right of its first edge (the area lies on the left).
        (x0, y0), (x1, y1) = h[0], h[1]
        dx, dy = np.sign(x1 - x0), np.sign(y1 - y0)
        pt = (x0 + dx * 0.5 + dy * 0.25, y0 + dy * 0.5 - dx * 0.25)
        owners = [i for i, r in enumerate(exteriors) if _inside(pt, r)]
        if owners:
            polys[min(owners, key=lambda i: areas[i])].append(h)
    out: list[Polygon] = []
    for poly in polys:
        out.append([[(round(float(xe[x]), ndigits), round(float(ye[y]), ndigits)) for x, y in r]
                    for r in poly])
    return out
