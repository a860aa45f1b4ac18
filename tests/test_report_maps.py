"""Run-report maps: small grids drawn cell by cell, large ones from block means."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import xarray as xr

from riskmodel.report.maps import MAP_MAX_CELLS, _border_lines, _coarsen_factor, save_map


def _field(ny: int, nx: int, fill: float = 0.2) -> xr.DataArray:
    values = np.full((ny, nx), fill, np.float32)
    values[:, : nx // 2] = np.nan  # sea on the west half
    return xr.DataArray(values, dims=("lat", "lon"),
                        coords={"lat": np.linspace(-60, 60, ny), "lon": np.linspace(-120, 120, nx)})


def test_coarsen_factor_keeps_small_grids_cell_by_cell() -> None:
    assert _coarsen_factor(_field(120, 160)) == 1
    assert _coarsen_factor(_field(MAP_MAX_CELLS, MAP_MAX_CELLS)) == 1
    assert _coarsen_factor(_field(1800, 3600)) == 4


def test_large_map_is_drawn_from_block_means(tmp_path: Path) -> None:
    field = _field(1000, 2000)
    borders = xr.DataArray(np.repeat(np.arange(40), 25)[:, None] * np.ones((1, 2000), int),
                           dims=("lat", "lon"), coords=field.coords)
    png = save_map(field, tmp_path / "risk.png", title="risk", label="p", vmin=0, vmax=1,
                   borders=borders)
    img = mpimg.imread(png)
    assert img.ndim == 3 and img.shape[1] > 500
    # Sea stays blank (white) and land is painted: the mean skips NaN, it does not spread it.
    small = save_map(_field(100, 200), tmp_path / "small.png", title="risk", label="p",
                     vmin=0, vmax=1)
    assert mpimg.imread(small).shape == img.shape


def test_border_segments_lie_on_the_edges_between_labels() -> None:
    lab = xr.DataArray(np.array([[1, 1, 2, 2]] * 3), dims=("lat", "lon"),
                       coords={"lat": [0.0, 1.0, 2.0], "lon": [10.0, 11.0, 12.0, 13.0]})
    segs = np.asarray(_border_lines(lab).get_segments())
    assert segs.shape == (3, 2, 2)  # one vertical edge per row, none between rows
    assert np.allclose(segs[:, :, 0], 11.5)
    assert sorted(map(tuple, segs[:, :, 1])) == [(-0.5, 0.5), (0.5, 1.5), (1.5, 2.5)]


def test_grid_image_is_north_up_transparent_at_sea_and_reproducible(tmp_path: Path) -> None:
    from riskmodel.report.maps import save_grid_png

    values = np.full((4, 6), 0.0, np.float32)
    values[-1, :] = 1.0  # the northernmost row (lat ascending): darkest on magma_r
    values[:, 0] = np.nan  # sea on the west edge
    field = xr.DataArray(values, dims=("lat", "lon"),
                         coords={"lat": [0.5, 1.5, 2.5, 3.5], "lon": np.arange(6) + 10.5})
    png, extent = save_grid_png(field, tmp_path / "a.png", vmin=0, vmax=1)
    again, _ = save_grid_png(field, tmp_path / "b.png", vmin=0, vmax=1)
    assert png.read_bytes() == again.read_bytes()
    assert extent == (0.0, 10.0, 4.0, 16.0)  # south, west, north, east: cell edges
    img = mpimg.imread(png)
    assert img.shape == (4, 6, 4)
    assert (img[:, 0, 3] == 0).all() and (img[:, 1:, 3] == 1).all()
    assert img[0, 1, :3].sum() < img[-1, 1, :3].sum()  # top row dark: north is up
