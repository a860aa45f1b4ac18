"""PNG maps of gridded fields (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex
import numpy as np
import xarray as xr

from riskmodel.io.atomic import write_with


def save_figure(fig: plt.Figure, dest: Path, note: str | None = None) -> None:
    """Stamp `note` (e.g. the synthetic-world marking) in the corner, lay out, write the PNG
    atomically and close the figure. No software/date metadata: same figure, same bytes."""
    if note:
        fig.text(0.01, 0.005, note, fontsize=7, color="firebrick")
    fig.tight_layout()
    write_with(dest, lambda p: fig.savefig(p, format="png", metadata={"Software": None}))
    plt.close(fig)


# Cells per side above which a map is drawn from block means (about the figure's pixels).
MAP_MAX_CELLS = 900


def _coarsen_factor(field: xr.DataArray) -> int:
    """Cells per side of the blocks a (lat, lon) field is averaged over before drawing: 1
    up to MAP_MAX_CELLS cells per side, so small grids are drawn cell by cell."""
    return max(1, -(-max(field.sizes["lat"], field.sizes["lon"]) // MAP_MAX_CELLS))


def _border_lines(labels: xr.DataArray) -> LineCollection:
    """Thin grey segments on the cell edges between different labels of a (lat, lon)
    integer raster (regular coordinates). One collection of segments: a contour per
    region (thousands of levels) took minutes on a global grid."""
    lab, lon, lat = labels.values, labels["lon"].values, labels["lat"].values
    dx = float(lon[1] - lon[0]) if len(lon) > 1 else 1.0
    dy = float(lat[1] - lat[0]) if len(lat) > 1 else 1.0
    i, j = np.nonzero(lab[:, 1:] != lab[:, :-1])  # edge east of (i, j)
    x = lon[j] + dx / 2
    east = np.stack([np.stack([x, lat[i] - dy / 2], -1), np.stack([x, lat[i] + dy / 2], -1)], 1)
    i, j = np.nonzero(lab[1:, :] != lab[:-1, :])  # edge north of (i, j)
    y = lat[i] + dy / 2
    north = np.stack([np.stack([lon[j] - dx / 2, y], -1), np.stack([lon[j] + dx / 2, y], -1)], 1)
    return LineCollection(np.concatenate([east, north]), colors="0.35", linewidths=0.4)


# Outline of alert areas on the maps: a white casing under a bright line, visible on the
# light and the dark end of the colour scale alike.
OUTLINE_COLOUR = "#00b7ff"


def _outline_lines(rings: list[list[tuple[float, float]]], ax: plt.Axes) -> None:
    """Draw closed (lon, lat) rings as outlines (casing, then line) with a legend entry."""
    casing = LineCollection(rings, colors="white", linewidths=2.6, zorder=3)
    line = LineCollection(rings, colors=OUTLINE_COLOUR, linewidths=1.4, zorder=4,
                          label="alert area")
    ax.add_collection(casing)
    ax.add_collection(line)
    ax.legend(handles=[line], loc="upper left", fontsize=8, framealpha=0.9)


def save_map(field: xr.DataArray, dest: Path | str, *, title: str, label: str,
             vmin: float | None = None, vmax: float | None = None, cmap: str = "magma_r",
             note: str | None = None, borders: xr.DataArray | None = None,
             outlines: list[list[tuple[float, float]]] | None = None) -> Path:
    """Save a (lat, lon) field as a PNG map at `dest` (atomically); NaN cells are blank.

    `borders`: an integer region raster whose boundaries are drawn as thin lines.
    `outlines`: closed (lon, lat) rings drawn on top as highlighted outlines (alert areas).
    """
    factor = _coarsen_factor(field)
    if factor > 1:
        # The figure is ~800 pixels wide: a global 0.1-degree grid would put ~4 cells in a
        # pixel and its admin-1 contours took most of a night's report stage. Mean over
        # factor x factor cells (NaN-skipping: sea stays blank), borders by a block's label.
        field = field.coarsen(lat=factor, lon=factor, boundary="trim").mean()
        if borders is not None:
            borders = borders.coarsen(lat=factor, lon=factor, boundary="trim").max()
        title = f"{title} (mean of {factor} x {factor} cells)"
    fig, ax = plt.subplots(figsize=(7.5, 5.5), dpi=110)
    lon, lat = field["lon"].values, field["lat"].values
    mesh = ax.pcolormesh(lon, lat, np.ma.masked_invalid(field.values), cmap=cmap,
                         vmin=vmin, vmax=vmax, shading="nearest")
    if borders is not None:
        ax.add_collection(_border_lines(borders))
    if outlines:
        _outline_lines(outlines, ax)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_aspect("equal")
    fig.colorbar(mesh, ax=ax, label=label, shrink=0.85)
    dest = Path(dest)
    save_figure(fig, dest, note)
    return dest


def save_grid_png(field: xr.DataArray, dest: Path | str, *, vmin: float, vmax: float,
                  cmap: str = "magma_r") -> tuple[Path, tuple[float, float, float, float]]:
    """Save a (lat, lon) field as a bare RGBA image, one pixel per cell (block means above
    MAP_MAX_CELLS a side, as `save_map`), north up and NaN transparent, for an interactive
    map to lay over its extent. Returns the path and the extent (south, west, north, east)
    in degrees, cell edges included."""
    factor = _coarsen_factor(field)
    if factor > 1:
        field = field.coarsen(lat=factor, lon=factor, boundary="trim").mean()
    lat, lon = field["lat"].values, field["lon"].values
    dy = float(lat[1] - lat[0]) if len(lat) > 1 else 1.0
    dx = float(lon[1] - lon[0]) if len(lon) > 1 else 1.0
    values = np.ma.masked_invalid(np.asarray(field.values, dtype=np.float64))
    if dy < 0:  # rows run north to south already
        values = values[::-1]
        dy = -dy
    dest = Path(dest)
    write_with(dest, lambda p: plt.imsave(p, values, vmin=vmin, vmax=vmax, cmap=cmap,
                                          origin="lower", format="png",
                                          metadata={"Software": None}))
    extent = (float(lat.min()) - dy / 2, float(lon.min()) - dx / 2,
              float(lat.max()) + dy / 2, float(lon.max()) + dx / 2)
    return dest, extent


def colour_stops(cmap: str = "magma_r", n: int = 11) -> list[str]:
    """`n` hex colours evenly spaced along `cmap`, for a CSS gradient legend."""
    cm = matplotlib.colormaps[cmap]
    return [to_hex(cm(i / (n - 1))) for i in range(n)]
