"""Training tables: (cell, month) rows of the feature cube with their labels.

Rows are land cells (country_id >= 0) at the chosen months with a known label. Negatives
and positives may be sampled at fixed rates with weight 1/rate, so weighted class balance
is that of the full table; the sampling is seeded and recorded in the model metadata.
Identifiers (cell index, month) travel beside the matrix, never inside it. Each row may
also carry the number of cases identified in its label window (`count`), which calibrates
the width of the risk interval (see `riskmodel.models.interval`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class Table:
    """A design matrix with labels, weights and the (month, cell) of each row."""

    X: np.ndarray        # (n, n_features) float32
    y: np.ndarray        # (n,) float32 0/1
    weight: np.ndarray   # (n,) float64
    month: np.ndarray    # (n,) int32 time index into the cube
    cell: np.ndarray     # (n,) int64 flat (lat, lon) index
    features: tuple[str, ...]
    count: np.ndarray | None = None  # (n,) float64 cases identified in the label window


def land_cells(country_id: np.ndarray) -> np.ndarray:
    """Flat indices of land cells of a (lat, lon) region raster."""
    return np.flatnonzero(np.asarray(country_id).ravel() >= 0)


def feature_rows(cube: xr.Dataset, features: tuple[str, ...], months: Sequence[int] | np.ndarray,
                 cells: np.ndarray) -> np.ndarray:
    """(len(months) * len(cells), len(features)) float32 rows of the cube's (time, lat,
    lon) features: the land `cells` (flat (lat, lon) indices) at each time index of
    `months`, month-major (every cell of the first month, then of the next)."""
    at = np.asarray(months, dtype=np.int64)
    cells = np.asarray(cells, dtype=np.int64)
    rows, cols = np.divmod(cells, cube.sizes["lon"])
    # Many cells: copy each month's grid whole and pick from it (a block's cube is a
    # cut-out, so a month is not one run of memory); few cells: gather them by (time,
    # lat, lon) index without copying whole months. The same values either way.
    whole = len(cells) * 64 >= cube.sizes["lat"] * cube.sizes["lon"]
    out = np.empty((at.size * len(cells), len(features)), dtype=np.float32)
    for j, name in enumerate(features):
        values = cube[name].values
        if whole:
            for i, m in enumerate(at):
                out[i * len(cells):(i + 1) * len(cells), j] = values[m].ravel()[cells]
        else:
            out[:, j] = values[at[:, None], rows, cols].ravel()
    return out


def feature_matrix(cube: xr.Dataset, features: tuple[str, ...], month: int,
                   cells: np.ndarray) -> np.ndarray:
    """(len(cells), len(features)) float32 matrix of the cube at one month (`feature_rows`)."""
    return feature_rows(cube, features, [month], cells)


def build_table(cube: xr.Dataset, features: tuple[str, ...], labels: np.ndarray,
                months: np.ndarray, cells: np.ndarray, *, negative_rate: float = 1.0,
                positive_rate: float = 1.0, seed: int = 0,
                counts: np.ndarray | None = None,
                full_months: np.ndarray | None = None) -> Table:
    """Rows for every (month in `months`, cell in `cells`) with a known label.

    `labels` is (time, lat, lon) from `future_label`; `counts` (same shape, optional) the
    identified cases in each label window (`future_sum`), kept per row as `Table.count`.
    Months in `full_months` keep every row with weight 1 (the calibration fold: it is only
    predicted, never trained on, so all of its rows are cheap and sharpen calibration). Each negative row is kept with
    probability `negative_rate` and weighted 1 / negative_rate, each positive likewise with
    `positive_rate`, so weighted sums estimate those of the full table.
    """
    rng = np.random.default_rng(seed)
    arrays = {name: cube[name].values for name in features}
    blocks_x, blocks_y, blocks_w, blocks_m, blocks_c, blocks_n = [], [], [], [], [], []
    full = set() if full_months is None else {int(m) for m in np.asarray(full_months)}
    for m in np.asarray(months, dtype=np.int64):
        y = labels[m].ravel()[cells]
        keep = ~np.isnan(y)
        # One uniform draw per row (also in full months, so the stream stays aligned),
        # compared with the rate of the row's class.
        u = rng.random(len(cells))
        pos = y > 0
        if int(m) in full:
            w = np.ones(len(cells))
        else:
            keep &= np.where(pos, u < positive_rate, u < negative_rate)
            w = np.where(pos, 1.0 / positive_rate, 1.0 / negative_rate)
        idx = cells[keep]
        x = np.empty((len(idx), len(features)), dtype=np.float32)
        for j, name in enumerate(features):
            x[:, j] = arrays[name][m].ravel()[idx]
        blocks_x.append(x)
        blocks_y.append(y[keep].astype(np.float32))
        blocks_w.append(w[keep])
        blocks_m.append(np.full(len(idx), m, dtype=np.int32))
        blocks_c.append(idx.astype(np.int64))
        if counts is not None:
            blocks_n.append(counts[m].ravel()[idx].astype(np.float64))
    if not blocks_x:
        empty = np.empty((0, len(features)), np.float32)
        return Table(empty, np.empty(0, np.float32), np.empty(0), np.empty(0, np.int32),
                     np.empty(0, np.int64), features,
                     None if counts is None else np.empty(0))
    return Table(np.concatenate(blocks_x), np.concatenate(blocks_y), np.concatenate(blocks_w),
                 np.concatenate(blocks_m), np.concatenate(blocks_c), features,
                 np.concatenate(blocks_n) if counts is not None else None)
