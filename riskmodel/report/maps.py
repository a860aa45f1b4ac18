"""PNG maps of gridded fields (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.collections import LineCollection
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


def save_map(field: xr.DataArray, dest: Path | str, *, title: str, label: str,
             vmin: float | None = None, vmax: float | None = None, cmap: str = "magma_r",
             note: str | None = None, borders: xr.DataArray | None = None) -> Path:
    """Save a (lat, lon) field as a PNG map at `dest` (atomically); NaN cells are blank.

    `borders`: an integer region raster whose boundaries are drawn as thin lines.
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
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_aspect("equal")
    fig.colorbar(mesh, ax=ax, label=label, shrink=0.85)
    dest = Path(dest)
    save_figure(fig, dest, note)
    return dest
