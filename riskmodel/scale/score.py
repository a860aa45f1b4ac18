"""The risk dataset of one or more months, computed block by block here or on a Dask cluster.

`iter_block_scores` scores spatial blocks (`riskmodel.scale.blocks`) one after another in
this process, or as tasks on a Dask cluster when given a client; `assemble` puts their
scores in land-cell order and hands them to `riskmodel.scoring.assemble_risk`, so the
output contract (drivers, admin-1 drivers, domains, context) has one implementation.
Blocks on a cluster load the models from their registry folders (sha256-checked) and read
their inputs where the scheduler's workers can see them, so the registry and a Zarr store
must be on storage every worker reaches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.models.registry import RegisteredModel, load_model
from riskmodel.models.table import land_cells
from riskmodel.scale.blocks import BlockScores, block_inputs, feature_halo, plan_blocks, score_block
from riskmodel.scale.inference import CompiledBooster, compile_members
from riskmodel.scoring import EVERY_CELL, DriverRule, admin1_sample, assemble_risk

Models = dict[str, RegisteredModel]


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
                keep_features: bool) -> BlockScores:
    """One block scored on a Dask worker, models loaded from their registry folders."""
    models, compiled = _worker_models(folders, features, inference, cache_dir)
    return score_block(models, sub, inner, block, nx, months, sampled, rule, compiled or None,
                       keep_features)


def iter_block_scores(models: Models, inputs: xr.Dataset, months: Sequence[int], *,
                      sample: np.ndarray, rule: DriverRule = EVERY_CELL, block: int = 256,
                      client: Any = None,
                      folders: dict[str, str] | None = None, inference: str = "native",
                      cache_dir: str = ".cache/compiled-models",
                      keep_features: bool = False) -> Iterator[BlockScores]:
    """Scores of every block of the grid at the time indices `months`, as they finish.

    Each block's features are built once for all `months`. Without `client` blocks run
    here one at a time (peak memory: one bordered block's inputs and features). With a
    Dask `client` they run as tasks on its workers, which load the models from `folders`
    ({target: registry folder}). `keep_features` returns each cell's raw features too.
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
                              compiled or None, keep_features)
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
                                     months, sampled(b), rule, keep_features, pure=False))
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
               for k in ("risk", "lo", "hi", "explained")}
        # contributions exist for explained rows only: sort them by their cells
        explained_cells = np.concatenate([r.cells[p["explained"]]
                                          for r, p in zip(results, parts, strict=True)])
        contrib = np.concatenate([p["contrib"] for p in parts])
        out["contrib"] = contrib[np.argsort(explained_cells, kind="stable")]
        merged[target] = out
    feats = None
    if all(month in r.features for r in results):
        feats = np.concatenate([r.features[month] for r in results])[order]
    return merged, feats


def assemble(models: Models, inputs: xr.Dataset, month: int, attrs: dict[str, Any],
             results: list[BlockScores], rule: DriverRule,
             sample: np.ndarray) -> xr.Dataset:
    """The risk dataset of time index `month` from block scores covering every land cell
    (`sample` as for `iter_block_scores`)."""
    land = land_cells(inputs["country_id"].values)
    scores, _ = merge_blocks(results, land, month)
    sampled = sample.ravel()[land]
    return assemble_risk(models, inputs, month, attrs, land, sampled, scores, rule)


def score_month_blocks(models: Models, inputs: xr.Dataset, month: int, attrs: dict[str, Any],
                       rule: DriverRule = EVERY_CELL, **kwargs: Any) -> xr.Dataset:
    """`riskmodel.scoring.score_month` computed block by block (see `iter_block_scores` for
    `kwargs`): the same dataset, with peak memory set by the block size rather than the
    feature cube."""
    sample = admin1_sample(inputs["admin1_id"].values, rule)
    results = list(iter_block_scores(models, inputs, [month], rule=rule, sample=sample,
                                     **kwargs))
    return assemble(models, inputs, month, attrs, results, rule, sample)
