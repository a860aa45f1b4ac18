"""The one scoring entry point: `score_months`, with an engine chosen by name.

One recipe (`riskmodel.scale.blocks.score_cube`: each target's risk, member spread and
the driver rule's contributions for the land cells of a feature cube, and the interval
refit's labelled rows among them), two engines:

- "memory": the whole grid is one block, scored from the feature cube in hand (built here
  when none is given), for worlds that fit in memory;
- "blocks": spatial blocks (`riskmodel.scale.blocks`), each building its own features with
  a halo, one after another in this process or as tasks on a Dask cluster when given a
  client.

Either way the labelled rows are gathered (`merge_labelled`) and each month's interval
refitted on them (`riskmodel.scoring.refit_bands`), and the block scores are put in
land-cell order (`merge_blocks`), given the month's band (`riskmodel.scoring.with_band`)
and handed to `riskmodel.scoring.assemble_risk`, so the refit, the band and the output
contract (drivers, admin-1 drivers, domains, context) have one implementation, and the
as-of month's raw features come back
as the (cells, F) rows the input checks read. Blocks on a cluster load the models from
their registry folders (sha256-checked) and read their inputs where the scheduler's
workers can see them, so the registry and a Zarr store must be on storage every worker
reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

import features
from riskmodel.models.interval import REFIT_MONTHS, LabelledRows
from riskmodel.models.registry import RegisteredModel, load_model
from riskmodel.models.table import land_cells
from riskmodel.scale.blocks import (BlockScores, add_counts, block_inputs, feature_halo,
                                    plan_blocks, score_block, score_cube)
from riskmodel.scale.inference import CompiledBooster, compile_members
from riskmodel.scale.refit_rows import RefitRows
from riskmodel.scoring import (EVERY_CELL, REFIT_CELLS, Bands, DriverRule, RefitPlan,
                               admin1_sample, assemble_risk, band_attrs, refit_bands,
                               refit_plan, with_band)

Models = dict[str, RegisteredModel]
Engine = Literal["memory", "blocks"]
ENGINES: tuple[str, ...] = ("memory", "blocks")


def compiled_models(models: Models, cache_dir: Path | str) -> dict[str, list[CompiledBooster]]:
    """Compiled members per target; empty when no compiler is present (native fallback)."""
    out = {}
    for target, registered in models.items():
        members = compile_members(registered.estimator, cache_dir)
        if members is None:
            return {}
        out[target] = members
    return out


@lru_cache(maxsize=8)
def _worker_models(folders: tuple[tuple[str, str], ...], features: tuple[str, ...],
                   inference: str, cache_dir: str) -> tuple[Models, dict]:
    # Loaded once per worker process and kept: every block task of a night reuses them.
    models = {t: load_model(f, features=features, threads=1) for t, f in folders}
    compiled = compiled_models(models, cache_dir) if inference == "compiled" else {}
    return models, compiled


def _block_task(folders: tuple[tuple[str, str], ...], features: tuple[str, ...],
                inference: str, cache_dir: str, sub: xr.Dataset, inner: Any, block: Any,
                nx: int, months: tuple[int, ...], sampled: np.ndarray, rule: DriverRule,
                features_of: int | None, plan: RefitPlan | None = None,
                refit_rows: RefitRows | None = None) -> BlockScores:
    """One block scored on a Dask worker, models loaded from their registry folders."""
    models, compiled = _worker_models(folders, features, inference, cache_dir)
    return score_block(models, sub, inner, block, nx, months, sampled, rule, compiled or None,
                       features_of, plan, refit_rows)


def iter_block_scores(models: Models, inputs: xr.Dataset, months: Sequence[int], *,
                      sample: np.ndarray, rule: DriverRule = EVERY_CELL, block: int = 256,
                      client: Any = None,
                      folders: dict[str, str] | None = None, inference: str = "native",
                      cache_dir: str = ".cache/compiled-models",
                      features_of: int | None = None,
                      plan: RefitPlan | None = None,
                      refit_rows: RefitRows | None = None) -> Iterator[BlockScores]:
    """Scores of every block of the grid at the time indices `months`, as they finish.

    Each block's features are built once for all `months`. Without `client` blocks run
    here one at a time (peak memory: one bordered block's inputs and features). With a
    Dask `client` they run as tasks on its workers, which load the models from `folders`
    ({target: registry folder}). `features_of` (a time index) returns each cell's raw
    features of that month too.
    A refit `plan` returns the plan's labelled rows among each block's cells (with
    `refit_rows`, months of them an earlier night scored are read back).
    `sample` is `admin1_sample(admin1_id, rule)` of the grid, drawn once by the caller for
    the blocks and every month assembled from them (it takes seconds on a global grid).
    """
    ny, nx = inputs.sizes["lat"], inputs.sizes["lon"]
    names = next(iter(models.values())).features
    halo = feature_halo(names)
    blocks = plan_blocks(ny, nx, block)
    months = tuple(int(m) for m in months)
    sample = sample.reshape(ny, nx)

    def sampled(b: Any) -> np.ndarray:
        return sample[b.y0:b.y1, b.x0:b.x1]

    if client is None:
        compiled = compiled_models(models, cache_dir) if inference == "compiled" else {}
        for b in blocks:
            sub, inner = block_inputs(inputs, b, halo)
            yield score_block(models, sub, inner, b, nx, months, sampled(b), rule,
                              compiled or None, features_of, plan, refit_rows)
        return
    if folders is None:
        raise ValueError("scoring on a Dask cluster needs the models' registry folders")
    from distributed import as_completed

    key = tuple(sorted((t, str(Path(f).resolve())) for t, f in folders.items()))
    futures = []
    for b in blocks:
        sub, inner = block_inputs(inputs, b, halo)
        futures.append(client.submit(_block_task, key, tuple(names), inference,
                                     str(Path(cache_dir).resolve()), sub, inner, b, nx,
                                     months, sampled(b), rule, features_of, plan,
                                     refit_rows, pure=False))
    for fut in as_completed(futures):
        yield fut.result()
        fut.release()


def merge_blocks(results: list[BlockScores], land: np.ndarray, month: int
                 ) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray | None]:
    """The scores of time index `month` in the order of the land cells `land` (ascending
    flat indices), and the cells' raw features when the blocks kept them.

    Refuses block scores that miss or repeat a land cell.
    """
    cells = np.concatenate([r.cells for r in results])
    order = np.argsort(cells, kind="stable")
    if not np.array_equal(cells[order], land):
        raise ValueError("block scores do not cover the land cells exactly once")
    merged: dict[str, dict[str, np.ndarray]] = {}
    for target in results[0].scores[month]:
        parts = [r.scores[month][target] for r in results]
        out = {k: np.concatenate([p[k] for p in parts])[order]
               for k in ("risk", "member_sd", "explained")}
        # contributions exist for explained rows only: sort them by their cells
        explained_cells = np.concatenate([r.cells[p["explained"]]
                                          for r, p in zip(results, parts, strict=True)])
        contrib = np.concatenate([p["contrib"] for p in parts])
        out["contrib"] = contrib[np.argsort(explained_cells, kind="stable")]
        merged[target] = out
    feats = None
    if all(month in r.features for r in results):  # the month the blocks kept features of
        feats = np.concatenate([r.features[month] for r in results])[order]
    return merged, feats


def merge_labelled(results: list[BlockScores], plan: RefitPlan, inputs: xr.Dataset,
                   targets: Sequence[str]) -> dict[str, LabelledRows | None]:
    """Each target's refit rows gathered from the blocks' labelled rows: the plan's
    labelled months x cells, month-major and cells ascending within a month (the order
    both engines give `refit_interval`, so its sums add up alike); None for a target
    whose identified cases the inputs do not hold.

    Refuses labelled rows that miss or repeat a cell of the plan.
    """
    cells = np.concatenate([r.labelled_cells for r in results])
    order = np.argsort(cells, kind="stable")
    expected = plan.cells if len(plan.labelled) else plan.cells[:0]
    if not np.array_equal(cells[order], expected):
        raise ValueError("block refit rows do not cover the refit's cells exactly once")
    parts = [r for r in results if len(r.labelled_cells)]
    month = np.repeat(plan.labelled, len(expected))
    out: dict[str, LabelledRows | None] = {}
    for target in targets:
        if f"identified_{target}" not in inputs:
            out[target] = None
            continue

        def rows(key: str, target: str = target) -> np.ndarray:
            got = [r.labelled[target][key] for r in parts]
            return np.concatenate(got, axis=1)[:, order].ravel() if got else np.empty(0)

        out[target] = LabelledRows(rows("risk"), rows("member_sd"), rows("count"), month)
    return out


def score_whole(models: Models, inputs: xr.Dataset, cube: xr.Dataset, months: Sequence[int],
                *, sample: np.ndarray, rule: DriverRule = EVERY_CELL,
                compiled: dict[str, list[CompiledBooster]] | None = None,
                features_of: int | None = None, plan: RefitPlan | None = None,
                refit_rows: RefitRows | None = None) -> BlockScores:
    """The "memory" engine: the whole grid as one block, scored from its feature `cube`
    (`sample`, `plan` and `refit_rows` as for `iter_block_scores`)."""
    cells = land_cells(inputs["country_id"].values).astype(np.int64)
    read = plan is not None and len(plan.labelled) > 0
    in_plan = np.isin(cells, plan.cells) if read else np.zeros(len(cells), bool)
    scores, feats, labelled = score_cube(
        models, cube, cells, tuple(int(m) for m in months), sample.ravel()[cells], rule,
        compiled or None, features_of, (plan.labelled, cells[in_plan]) if read else None,
        refit_rows)
    if labelled:
        assert plan is not None  # labelled rows are scored only with a plan
        add_counts(labelled, inputs, cells[in_plan], plan)
    return BlockScores(cells, scores, feats, cells[in_plan], labelled)


@dataclass(frozen=True)
class Scored:
    """What `score_months` returns: the risk dataset of each time index scored, the land
    cells (flat (lat, lon) indices, ascending) and, when asked for, the raw (cells, F)
    float32 features of one month in the models' feature order (for the input checks),
    and the interval calibration each month and target was scored with when refitted
    (`riskmodel.scoring.refit_bands`; empty otherwise)."""

    risk: dict[int, xr.Dataset]
    cells: np.ndarray
    features: np.ndarray | None
    bands: Bands = field(default_factory=dict)


def score_months(models: Models, inputs: xr.Dataset, months: Sequence[int], *,
                 engine: Engine = "memory", rule: DriverRule = EVERY_CELL,
                 attrs: Callable[[int], dict[str, Any]] = lambda month: {},
                 cube: xr.Dataset | None = None, features_of: int | None = None,
                 client: Any = None, block: int = 256, folders: dict[str, str] | None = None,
                 inference: str = "native",
                 cache_dir: str = ".cache/compiled-models", horizon: int | None = None,
                 refit_months: int = REFIT_MONTHS, refit_cap: int = REFIT_CELLS,
                 refit_rows: Path | str | None = None) -> Scored:
    """The risk datasets (docs/architecture.md, risk contract) of time indices `months`.

    `engine` "memory" scores the feature `cube` of the whole grid (built from `inputs`
    when None); "blocks" builds the features block by block (`block` cells a side), on the
    Dask `client` when given (its workers load the models from `folders`, {target:
    registry folder}). Each feature is built once for all `months`. `attrs(month)` gives
    the provenance attrs of each dataset; `rule` says which cells get drivers;
    `inference` "compiled" uses tl2cgen-compiled members for risk and member spread where
    a compiler exists. `features_of` (one of `months`) also returns that month's raw
    features.
    With the label `horizon` H, each month's interval is refitted (`refit_bands`) on the
    rows of `refit_plan(inputs, months, H, refit_months, refit_cap)`: the engine scores
    them in the same pass as the months (each block its own cells among them), the rows
    are gathered here (`merge_labelled`), and each month's band is made from its refit,
    with the attrs `band_attrs` says; without it, the models' calibration-fold band and
    no such attrs. `refit_rows` names a folder where those rows' scores are kept between
    nights (`riskmodel.scale.refit_rows`): a month whose exact feature rows an earlier
    night scored with the same model is read from it instead of scored, and files unread
    for `KEEP_DAYS` are removed after the night. Both engines give identical datasets,
    with or without the folder.
    """
    if engine not in ENGINES:
        raise ValueError(f"scoring engine {engine!r}: expected one of {', '.join(ENGINES)}")
    months = [int(m) for m in months]
    if features_of is not None and features_of not in months:
        raise ValueError(f"features_of={features_of} is not among the months scored {months}")
    # drawn once for the grid: every block and month uses it (seconds on a global grid)
    sample = admin1_sample(inputs["admin1_id"].values, rule)
    # Inputs without identified cases of any target: no rows to refit on, so none read
    # (each target keeps its calibration fold's spread, `refit_bands` says why).
    counted = any(f"identified_{t}" in inputs for t in models)
    plan = None if horizon is None else refit_plan(inputs, months, horizon, refit_months,
                                                   refit_cap if counted else 0)
    # Resolved: Dask workers may run in another folder.
    store = RefitRows(Path(refit_rows).resolve()) if refit_rows and plan else None
    if engine == "memory":
        if client is not None:
            raise ValueError("the memory engine scores in this process; a Dask client "
                             "needs engine='blocks'")
        if cube is None:
            cube = features.build_cube(inputs)
        compiled = compiled_models(models, cache_dir) if inference == "compiled" else {}
        results = [score_whole(models, inputs, cube, months, sample=sample, rule=rule,
                               compiled=compiled, features_of=features_of, plan=plan,
                               refit_rows=store)]
    else:
        results = list(iter_block_scores(models, inputs, months, sample=sample, rule=rule,
                                         block=block, client=client, folders=folders,
                                         inference=inference, cache_dir=cache_dir,
                                         features_of=features_of, plan=plan,
                                         refit_rows=store))
    bands: Bands = {}
    if plan is not None:
        bands = refit_bands(models, merge_labelled(results, plan, inputs, list(models)), plan)
    if store is not None:
        store.prune()
    land = land_cells(inputs["country_id"].values)
    sampled = sample.ravel()[land]
    times = inputs["time"].values

    def label(i: int) -> str:
        return str(np.datetime_as_string(times[i], unit="M"))

    risk, values = {}, None
    for month in months:
        scores, feats = merge_blocks(results, land, month)
        scores = {t: with_band(s, bands[month][t] if bands else models[t].estimator.interval_)
                  for t, s in scores.items()}
        extra = band_attrs(bands[month], label) if bands else {}
        risk[month] = assemble_risk(models, inputs, month, {**attrs(month), **extra}, land,
                                    sampled, scores, rule)
        if month == features_of:
            values = feats
    return Scored(risk, land, values, bands)
