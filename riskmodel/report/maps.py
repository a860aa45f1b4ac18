"""PNG maps of gridded fields (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
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


def save_map(field: xr.DataArray, dest: Path | str, *, title: str, label: str,
             vmin: float | None = None, vmax: float | None = None, cmap: str = "magma_r",
             note: str | None = None, borders: xr.DataArray | None = None) -> Path:
    """Save a (lat, lon) field as a PNG map at `dest` (atomically); NaN cells are blank.

    `borders`: an integer region raster whose boundaries are drawn as thin lines.
    """
    fig, ax = plt.subplots(figsize=(7.5, 5.5), dpi=110)
    lon, lat = field["lon"].values, field["lat"].values
    mesh = ax.pcolormesh(lon, lat, np.ma.masked_invalid(field.values), cmap=cmap,
                         vmin=vmin, vmax=vmax, shading="nearest")
    if borders is not None:
        ax.contour(lon, lat, borders.values, levels=np.arange(-0.5, float(borders.max()) + 1),
                   colors="0.35", linewidths=0.4)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_aspect("equal")
    fig.colorbar(mesh, ax=ax, label=label, shrink=0.85)
    dest = Path(dest)
    save_figure(fig, dest, note)
    return dest
