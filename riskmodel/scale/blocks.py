"""Spatial blocks: score block by block, so memory follows the block, not the grid.

A block is a rectangle of grid cells with the whole time axis. Its inputs are read with a
border of `halo` cells from the neighbours (the widest neighbourhood of any catalogue
feature), the feature cube is built eagerly for the bordered block with `features`, the
border is cut off, and the block's land cells are scored with the models (`score_cube`,
the recipe the in-memory engine runs on the whole grid as one block). Because every
time kernel sees the whole time axis and every neighbourhood kernel sees all the cells it
reaches, a block's features equal those of the whole grid, so blocks scored one after
another (or as Dask tasks on many machines) give the same risk values as one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

import features
from features import CATALOGUE
from riskmodel.models.registry import RegisteredModel
from riskmodel.models.table import feature_matrix, land_cells
from riskmodel.scale.inference import CompiledBooster, interval_from_logits, member_logits
from riskmodel.scoring import Bands, DriverRule, score_rows, scoring_matrix

# Region rasters and lookups every block needs besides the features' declared inputs.
REGION_LAYERS = ("country_id", "admin1_id", "admin1_country", "land")


@dataclass(frozen=True)
class Block:
    """Rows `y0:y1` and columns `x0:x1` of the grid (cell indices, end exclusive)."""

    y0: int
    y1: int
    x0: int
    x1: int


def plan_blocks(ny: int, nx: int, size: int) -> list[Block]:
    """Blocks of at most `size` x `size` cells covering an (ny, nx) grid, row-major."""
    return [Block(y, min(y + size, ny), x, min(x + size, nx))
            for y in range(0, ny, size) for x in range(0, nx, size)]


def feature_halo(names: tuple[str, ...] | None = None) -> int:
    """Widest neighbourhood (cells) of the catalogue features `names` (all when None)."""
    return features.halo_cells(names)


def block_inputs(inputs: xr.Dataset, block: Block, halo: int) -> tuple[xr.Dataset, Block]:
    """The inputs of `block` with a `halo`-cell border (clipped at the grid's edge), lazily
    indexed, and where the block itself sits inside them."""
    ny, nx = inputs.sizes["lat"], inputs.sizes["lon"]
    y0, y1 = max(0, block.y0 - halo), min(ny, block.y1 + halo)
    x0, x1 = max(0, block.x0 - halo), min(nx, block.x1 + halo)
    sub = inputs.isel(lat=slice(y0, y1), lon=slice(x0, x1))
    return sub, Block(block.y0 - y0, block.y1 - y0, block.x0 - x0, block.x1 - x0)


@dataclass(frozen=True)
class BlockScores:
    """Scores of one block: `cells` are flat indices into the whole (lat, lon) grid;
    `scores[month][target]` as `riskmodel.scoring.score_rows` returns them (risk, lo, hi,
    explained, contrib of the explained rows); `features[month]` the raw (n, F) float32
    feature values of the cells (for the input checks) of the one month asked for."""

    cells: np.ndarray
    scores: dict[int, dict[str, dict[str, np.ndarray]]]
    features: dict[int, np.ndarray]


def score_cube(models: dict[str, RegisteredModel], cube: xr.Dataset,
               cells: np.ndarray, months: tuple[int, ...], sampled: np.ndarray,
               rule: DriverRule, compiled: dict[str, list[CompiledBooster]] | None = None,
               features_of: int | None = None, bands: Bands | None = None
               ) -> tuple[dict[int, dict[str, dict[str, np.ndarray]]], dict[int, np.ndarray]]:
    """The one recipe of both scoring engines: score the land `cells` (flat indices into
    the cube's (lat, lon) grid, ascending) of the feature `cube` at each time index of
    `months`; `sampled` (len(cells),) marks the driver rule's admin-1 sample.

    Returns the scores by month and target (as `riskmodel.scoring.score_rows` returns
    them) and, for time index `features_of` (if given), {features_of: the raw (cells, F)
    float32 features}, for the input checks.
    `compiled` optionally holds each target's compiled members
    (`riskmodel.scale.inference`), used for risk and interval; contributions always come
    from LightGBM's TreeSHAP. `bands` ({month: {target: calibration}}, from
    `riskmodel.scoring.refit_bands`) replaces a model's interval calibration that month.
    """
    names = next(iter(models.values())).features
    scores: dict[int, dict[str, dict[str, np.ndarray]]] = {}
    kept: dict[int, np.ndarray] = {}
    for month in months:
        scores[month] = {}
        if month == features_of:
            kept[month] = feature_matrix(cube, names, month, cells)
        for target, registered in models.items():
            model, meta = registered.estimator, registered.meta
            X = scoring_matrix(model, meta, cube, month, cells)
            band = (bands or {}).get(month, {}).get(target)
            interval = None
            if compiled and target in compiled:
                interval = interval_from_logits(model, member_logits(compiled[target], X),
                                                band)
            scores[month][target] = score_rows(model, meta, X, sampled, rule, interval, band)
    return scores, kept


def score_block(models: dict[str, RegisteredModel], sub: xr.Dataset, inner: Block,
                block: Block, nx: int, months: tuple[int, ...], sampled: np.ndarray,
                rule: DriverRule, compiled: dict[str, list[CompiledBooster]] | None = None,
                features_of: int | None = None, bands: Bands | None = None) -> BlockScores:
    """Score the land cells of `block` at each time index of `months` (`score_cube` of the
    block's features, built once for all `months`).

    `sub` are the block's bordered inputs and `inner` the block's place in them (from
    `block_inputs`); `nx` is the width of the whole grid; `sampled` the driver rule's
    admin-1 sample over the block's cells (flat, block-shaped).
    """
    names = next(iter(models.values())).features
    core = slice(inner.y0, inner.y1), slice(inner.x0, inner.x1)
    local = land_cells(sub["country_id"].values[core])
    width = block.x1 - block.x0
    cells = (block.y0 + local // width) * nx + block.x0 + local % width
    picked = np.asarray(sampled, bool).ravel()[local]
    if len(local) == 0:
        # Open sea (most of a global grid): nothing to score, so no inputs read and no
        # features built.
        empty = np.empty((0, len(names)), np.float32)
        scores = {month: {t: score_rows(m.estimator, m.meta, empty, np.zeros(0, bool), rule)
                          for t, m in models.items()} for month in months}
        kept = {features_of: empty} if features_of in months else {}
        return BlockScores(cells.astype(np.int64), scores, kept)
    # Read only what the features declare (the catalogue enforces it) and the region
    # layers: a stored world also holds labels and truth that scoring never touches.
    needed = {v for n in names for v in CATALOGUE[n].inputs} | set(REGION_LAYERS)
    sub = sub[[v for v in sub.data_vars if v in needed]].load()
    # Neighbourhood features only at the months scored (each month is independent).
    cube = features.build_cube(sub, names, months=months).isel(lat=core[0], lon=core[1])
    scores, kept = score_cube(models, cube, local, months, picked, rule, compiled,
                              features_of, bands)
    return BlockScores(cells.astype(np.int64), scores, kept)
