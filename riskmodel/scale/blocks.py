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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

import features
from features import CATALOGUE
from riskmodel.models.registry import RegisteredModel
from riskmodel.models.table import feature_matrix, land_cells
from riskmodel.scale.inference import CompiledBooster, member_logits, spread_from_logits
from riskmodel.scale.refit_rows import RefitRows, kept_spread, model_key
from riskmodel.scoring import (DriverRule, RefitPlan, labelled_counts, labelled_spread,
                               score_rows, scoring_matrix)

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
    `scores[month][target]` as `riskmodel.scoring.score_rows` returns them (risk,
    member_sd, explained, contrib of the explained rows); `features[month]` the raw (n, F)
    float32 feature values of the cells (for the input checks) of the one month asked
    for. With a refit plan, `labelled_cells` are the block's cells among the plan's (flat,
    ascending) and `labelled[target]` their (months, cells) float64 `risk`, `member_sd`
    and, when the inputs hold the target's identified cases, `count` at the plan's
    labelled months (`riskmodel.scoring.labelled_spread`, `labelled_counts`)."""

    cells: np.ndarray
    scores: dict[int, dict[str, dict[str, np.ndarray]]]
    features: dict[int, np.ndarray]
    labelled_cells: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    labelled: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


Scores = dict[int, dict[str, dict[str, np.ndarray]]]
Labelled = dict[str, dict[str, np.ndarray]]


def score_cube(models: dict[str, RegisteredModel], cube: xr.Dataset,
               cells: np.ndarray, months: tuple[int, ...], sampled: np.ndarray,
               rule: DriverRule, compiled: dict[str, list[CompiledBooster]] | None = None,
               features_of: int | None = None,
               labelled: tuple[np.ndarray, np.ndarray] | None = None,
               refit_rows: RefitRows | None = None
               ) -> tuple[Scores, dict[int, np.ndarray], Labelled]:
    """The one recipe of both scoring engines: score the land `cells` (flat indices into
    the cube's (lat, lon) grid, ascending) of the feature `cube` at each time index of
    `months`; `sampled` (len(cells),) marks the driver rule's admin-1 sample.

    Returns the scores by month and target (as `riskmodel.scoring.score_rows` returns
    them: risk and member spread, the band is made after the refit), for time index
    `features_of` (if given) {features_of: the raw (cells, F) float32 features}, for the
    input checks, and with `labelled` ((time indices, cells), a refit plan's rows in this
    cube) each target's {"risk", "member_sd"} of those rows (`labelled_spread`; with
    `refit_rows`, months of them an earlier night scored are read from it, `kept_spread`).
    `compiled` optionally holds each target's compiled members
    (`riskmodel.scale.inference`), used for risk and member spread; contributions always
    come from LightGBM's TreeSHAP.
    """
    names = next(iter(models.values())).features
    scores: Scores = {}
    kept: dict[int, np.ndarray] = {}

    def spread_of(target: str, model: Any) -> Any:
        if not (compiled and target in compiled):
            return None
        return lambda X: spread_from_logits(model, member_logits(compiled[target], X))

    for month in months:
        scores[month] = {}
        if month == features_of:
            kept[month] = feature_matrix(cube, names, month, cells)
        for target, registered in models.items():
            model, meta = registered.estimator, registered.meta
            X = scoring_matrix(model, meta, cube, month, cells)
            spread = spread_of(target, model)
            scores[month][target] = score_rows(model, meta, X, sampled, rule,
                                               spread(X) if spread else None)
    rows: Labelled = {}
    if labelled is not None:
        matrices: dict[tuple[str, ...], np.ndarray] = {}  # one per feature list
        for target, registered in models.items():
            model = registered.estimator
            spread = spread_of(target, model)
            if refit_rows is not None:  # months an earlier night scored are read back
                key = model_key(registered.meta, registered.features, spread is not None)
                spread = kept_spread(refit_rows, key, len(labelled[1]),
                                     spread or model.predict_spread)
            risk, sd = labelled_spread(model, cube, labelled[0], labelled[1], spread, matrices)
            rows[target] = {"risk": risk, "member_sd": sd}
    return scores, kept, rows


def score_block(models: dict[str, RegisteredModel], sub: xr.Dataset, inner: Block,
                block: Block, nx: int, months: tuple[int, ...], sampled: np.ndarray,
                rule: DriverRule, compiled: dict[str, list[CompiledBooster]] | None = None,
                features_of: int | None = None, plan: RefitPlan | None = None,
                refit_rows: RefitRows | None = None) -> BlockScores:
    """Score the land cells of `block` at each time index of `months` (`score_cube` of the
    block's features, built once for all `months`), and with a refit `plan` the plan's
    labelled rows among its cells (risk and member spread at actual inspection coverage,
    and the identified cases of each window; `refit_rows` as for `score_cube`).

    `sub` are the block's bordered inputs and `inner` the block's place in them (from
    `block_inputs`); `nx` is the width of the whole grid; `sampled` the driver rule's
    admin-1 sample over the block's cells (flat, block-shaped).
    """
    names = next(iter(models.values())).features
    core = slice(inner.y0, inner.y1), slice(inner.x0, inner.x1)
    local = land_cells(sub["country_id"].values[core])
    width = block.x1 - block.x0
    cells = ((block.y0 + local // width) * nx + block.x0 + local % width).astype(np.int64)
    picked = np.asarray(sampled, bool).ravel()[local]
    # The plan's cells in this block: a block holding none (open sea, or by chance on a
    # grid over the refit's cap) builds no features at the labelled months.
    in_plan = np.isin(cells, plan.cells) if plan is not None else np.zeros(len(cells), bool)
    label_months = plan.labelled if plan is not None and in_plan.any() else \
        np.empty(0, np.int64)
    if len(local) == 0:
        # Open sea (most of a global grid): nothing to score, so no inputs read and no
        # features built.
        empty = np.empty((0, len(names)), np.float32)
        scores = {month: {t: score_rows(m.estimator, m.meta, empty, np.zeros(0, bool), rule)
                          for t, m in models.items()} for month in months}
        kept = {features_of: empty} if features_of in months else {}
        return BlockScores(cells, scores, kept)
    # Read only what the features declare (the catalogue enforces it), the region layers
    # and, for the refit's rows, the identified cases: a stored world also holds labels
    # and truth that scoring never touches.
    identified = {f"identified_{t}" for t in models} if len(label_months) else set()
    needed = {v for n in names for v in CATALOGUE[n].inputs} | set(REGION_LAYERS) | identified
    sub = sub[[v for v in sub.data_vars if v in needed]].load()
    # Neighbourhood features only at the months read (each month is independent), and at
    # the refit's labelled months only at its cells where the kernel can (the spatial lag
    # over 6 cells is most of a labelled month's features otherwise).
    cells_at = None
    if len(label_months):
        mask = np.zeros((sub.sizes["lat"], sub.sizes["lon"]), bool)
        yy, xx = np.divmod(local[in_plan], width)
        mask[inner.y0 + yy, inner.x0 + xx] = True
        cells_at = ([int(t) for t in label_months], mask)
    cube = features.build_cube(sub, names, months=list(months), cells_at=cells_at).isel(
        lat=core[0], lon=core[1])
    scores, kept, labelled = score_cube(
        models, cube, local, months, picked, rule, compiled, features_of,
        (label_months, local[in_plan]) if len(label_months) else None, refit_rows)
    if labelled:
        assert plan is not None  # labelled rows are scored only with a plan
        add_counts(labelled, sub.isel(lat=core[0], lon=core[1]), local[in_plan], plan)
    return BlockScores(cells, scores, kept, cells[in_plan], labelled)


def add_counts(labelled: Labelled, grid: xr.Dataset, cells: np.ndarray, plan: RefitPlan
               ) -> None:
    """Put each target's `count` (`labelled_counts` of `identified_<target>` of `grid`, a
    block or the whole grid, at its land `cells`, flat indices into it) into `labelled`
    (as `score_cube` returns it), for the targets whose identified cases `grid` holds."""
    for target, rows in labelled.items():
        var = f"identified_{target}"
        if var in grid:
            cases = grid[var].transpose("time", "lat", "lon").values
            rows["count"] = labelled_counts(cases, cells, plan.labelled, plan.horizon)
