"""Choropleth maps of regions: one value per polygon, drawn with matplotlib (no GIS stack).

Polygons are GeoJSON geometries (lon, lat) keyed by region code. Exterior rings are filled
in one PolyCollection (largest first, so a region enclosed by another is painted on top of
it); regions without a value are light grey and hatched, with their own legend entry.
Numbered labels mark chosen regions; a label that would overlap one already placed is left
out (the report's table lists every number), so labels never overlap. Country maps
stretch longitude by 1/cos(latitude) so shapes keep their proportions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.patches import Patch
from shapely.geometry import Polygon as ShapelyPolygon

from riskmodel.io.atomic import write_with

WORLD_EXTENT = (-180.0, 180.0, -58.0, 84.0)


def exterior_rings(geometry: Mapping[str, Any]) -> list[np.ndarray]:
    """The exterior rings (n, 2) lon/lat of a GeoJSON Polygon or MultiPolygon."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    polys = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if polys is None:
        raise ValueError(f"geometry type {kind!r}; expected Polygon or MultiPolygon")
    return [np.asarray(p[0], dtype=np.float64) for p in polys if p and len(p[0]) >= 3]


def _ring_area(r: np.ndarray) -> float:
    return 0.5 * abs(float(np.sum(r[:-1, 0] * r[1:, 1] - r[1:, 0] * r[:-1, 1])))


def extent_of(rings: Sequence[np.ndarray], pad: float = 0.06) -> tuple[float, ...]:
    """(lon0, lon1, lat0, lat1) around `rings` with a margin of `pad` of the span."""
    pts = np.concatenate(rings)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    dx, dy = max(x1 - x0, 0.5) * pad, max(y1 - y0, 0.5) * pad
    return (max(x0 - dx, -180.0), min(x1 + dx, 180.0), max(y0 - dy, -90.0), min(y1 + dy, 90.0))


def draw_choropleth(ax: plt.Axes, values: Mapping[str, float],
                    polygons: Mapping[str, Mapping[str, Any]], *, norm: Normalize,
                    cmap: str = "magma_r", codes: Sequence[str] | None = None,
                    extent: tuple[float, ...] | None = None, edge: float = 0.15,
                    context: Sequence[str] = ()) -> tuple[tuple[float, ...], Any]:
    """Fill the polygons of `codes` (default all of `polygons`) by `values` (NaN or
    absent: not scored) on `ax`; `context` regions are drawn in pale grey behind, without
    values (neighbours of a country). Returns (extent, the ScalarMappable for a colorbar)."""
    codes = list(polygons) if codes is None else list(codes)
    cm = plt.get_cmap(cmap)
    ctx = [r for c in context if c in polygons for r in exterior_rings(polygons[c])]
    if ctx:
        ax.add_collection(PolyCollection(ctx, facecolors="0.93", edgecolors="0.75",
                                         linewidths=0.2, zorder=1))
    rings: list[tuple[float, np.ndarray, float]] = []
    missing: list[np.ndarray] = []
    for c in codes:
        if c not in polygons:
            continue
        v = values.get(c, math.nan)
        for r in exterior_rings(polygons[c]):
            if v is None or not math.isfinite(v):
                missing.append(r)
            else:
                rings.append((-_ring_area(r), r, float(v)))
    rings.sort(key=lambda x: x[0])
    if missing:
        ax.add_collection(PolyCollection(missing, facecolors="0.85", edgecolors="0.55",
                                         hatch="////", linewidths=edge, zorder=2))
    if rings:
        # One colour lookup for all polygons (per-value calls cost seconds on the world).
        colours = cm(norm(np.array([v for _, _, v in rings])))
        ax.add_collection(PolyCollection([r for _, r, _ in rings], facecolors=colours,
                                         edgecolors="0.35", linewidths=edge, zorder=3))
    if extent is None:
        own = [r for _, r, _ in rings] + missing
        extent = extent_of(own) if own else WORLD_EXTENT
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    mid = math.radians((extent[2] + extent[3]) / 2)
    # The world as plate carree; a country keeps its proportions at its own latitude.
    world = extent[1] - extent[0] > 180
    ax.set_aspect(1.0 if world else 1.0 / max(math.cos(mid), 0.2))
    ax.set_xlabel("longitude (degrees east)", fontsize=8)
    ax.set_ylabel("latitude (degrees north)", fontsize=8)
    ax.tick_params(labelsize=7)
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cm)
    sm.set_array([])
    return extent, sm


def label_point(geometry: Mapping[str, Any]) -> tuple[float, float]:
    """A point inside the region's largest exterior ring to put its label on (GEOS's
    point on surface: inside even for a crescent, unlike the centroid)."""
    ring = max(exterior_rings(geometry), key=_ring_area)
    p = ShapelyPolygon(ring).point_on_surface()
    return float(p.x), float(p.y)


def place_labels(ax: plt.Axes, labels: Sequence[tuple[str, tuple[float, float]]]
                 ) -> list[int]:
    """Put text `labels` [(text, (lon, lat))] on `ax` in the given order of priority,
    leaving out any whose box would overlap one already placed; returns the indices
    placed."""
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    boxes: list[Any] = []
    placed = []
    for i, (text, (x, y)) in enumerate(labels):
        t = ax.text(x, y, text, fontsize=7, ha="center", va="center", zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.3",
                          "lw": 0.5, "alpha": 0.9})
        bb = t.get_window_extent(renderer).expanded(1.05, 1.1)
        inside = frame.contains(bb.x0, bb.y0) and frame.contains(bb.x1, bb.y1)
        if not inside or any(bb.overlaps(b) for b in boxes):
            t.remove()
            continue
        boxes.append(bb)
        placed.append(i)
    return placed


def save_choropleth(values: Mapping[str, float], polygons: Mapping[str, Mapping[str, Any]],
                    dest: Path | str, *, title: str, label: str, vmin: float = 0.0,
                    vmax: float = 1.0, cmap: str = "magma_r",
                    codes: Sequence[str] | None = None, context: Sequence[str] = (),
                    extent: tuple[float, ...] | None = None,
                    labels: Sequence[tuple[str, str]] = (), size: tuple[float, float] = (9, 4.6),
                    note: str | None = None) -> tuple[Path, list[str]]:
    """One choropleth map as a PNG at `dest` (atomically): colour bar labelled `label`
    (say the units), a "not scored" legend entry when a region has no value, and numbered
    `labels` [(text, region code)] where they fit. Returns (path, texts placed)."""
    fig, ax = plt.subplots(figsize=size, dpi=110)
    norm = Normalize(vmin=vmin, vmax=vmax)
    extent, sm = draw_choropleth(ax, values, polygons, norm=norm, cmap=cmap, codes=codes,
                                 extent=extent, context=context)
    ax.set_title(title, fontsize=10)
    fig.colorbar(sm, ax=ax, label=label, shrink=0.8, pad=0.02)
    shown = list(polygons) if codes is None else list(codes)
    if any(c in polygons and not math.isfinite(values.get(c, math.nan)) for c in shown):
        ax.legend(handles=[Patch(facecolor="0.85", edgecolor="0.55", hatch="////",
                                 label="not scored")], loc="lower left", fontsize=7,
                  framealpha=0.9)
    placed: list[str] = []
    # A fixed layout (no tight_layout pass: it redraws the whole figure) so labels are
    # checked for overlap at the size they are saved at.
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.92)
    if labels:
        pts = [(text, label_point(polygons[code])) for text, code in labels if code in polygons]
        idx = place_labels(ax, pts)
        placed = [pts[i][0] for i in idx]
    if note:
        fig.text(0.01, 0.005, note, fontsize=7, color="firebrick")
    dest = Path(dest)
    write_with(dest, lambda p: fig.savefig(p, format="png", metadata={"Software": None},
                                           bbox_inches="tight", pad_inches=0.08))
    plt.close(fig)
    return dest, placed
