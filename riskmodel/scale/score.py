"""The risk dataset of one month, computed block by block here or on a Dask cluster.

`score_month_blocks` scores spatial blocks (`riskmodel.scale.blocks`) one after another in
this process, or as tasks on a Dask cluster when given a client, and hands the scores to
`riskmodel.scoring.score_month` to assemble the dataset, so the output contract (drivers,
admin-1 drivers, domains, context) has one implementation. Blocks on a cluster load the
models from their registry folders (sha256-checked) and read their inputs where the
scheduler's workers can see them, so the registry and a Zarr store must be on storage
every worker reaches.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.models.registry import load_model
from riskmodel.models.table import land_cells
from riskmodel.scale.blocks import BlockScores, block_inputs, feature_halo, plan_blocks, score_block
from riskmodel.scale.inference import CompiledBooster, compile_members
from riskmodel.scoring import score_month

Models = dict[str, tuple[Any, dict[str, Any]]]


def compiled_models(models: Models, cache_dir: Path | str) -> dict[str, list[CompiledBooster]]:
    """Compiled members per target; empty when no compiler is present (native fallback)."""
    out = {}
    for target, (model, _) in models.items():
        members = compile_members(model, cache_dir)
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
                nx: int, month: int) -> BlockScores:
    """One block scored on a Dask worker, models loaded from their registry folders."""
    models, compiled = _worker_models(folders, features, inference, cache_dir)
    return score_block(models, sub, inner, block, nx, month, compiled or None)


def iter_block_scores(models: Models, inputs: xr.Dataset, month: int, *, block: int = 256,
                      client: Any = None, folders: dict[str, str] | None = None,
                      inference: str = "native",
                      cache_dir: str = ".cache/compiled-models") -> Iterator[BlockScores]:
    """Scores of every block of the grid at time index `month`, as they finish.

    Without `client` blocks run here one at a time (peak memory: one bordered block's
    inputs and features). With a Dask `client` they run as tasks on its workers, which
    load the models from `folders` ({target: registry folder}).
    """
    ny, nx = inputs.sizes["lat"], inputs.sizes["lon"]
    names = next(iter(models.values()))[0].feature_names_in_
    halo = feature_halo(names)
    blocks = plan_blocks(ny, nx, block)
    if client is None:
        compiled = compiled_models(models, cache_dir) if inference == "compiled" else {}
        for b in blocks:
            sub, inner = block_inputs(inputs, b, halo)
            yield score_block(models, sub, inner, b, nx, month, compiled or None)
        return
    if folders is None:
        raise ValueError("scoring on a Dask cluster needs the models' registry folders")
    from distributed import as_completed

    key = tuple(sorted((t, str(Path(f).resolve())) for t, f in folders.items()))
    futures = []
    for b in blocks:
        sub, inner = block_inputs(inputs, b, halo)
        futures.append(client.submit(_block_task, key, tuple(names), inference,
                                     str(Path(cache_dir).resolve()), sub, inner, b, nx, month,
                                     pure=False))
    for fut in as_completed(futures):
        yield fut.result()
        fut.release()


class _Replay:
    """Stands in for a `RiskModel` inside `score_month`, returning scores already computed
    block by block in the order of the land cells `score_month` scores; every other
    attribute (features, interval settings, ...) is the real model's."""

    def __init__(self, model: Any, scores: dict[str, np.ndarray]) -> None:
        self._model = model
        self._scores = scores

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def predict_interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._scores["risk"], self._scores["lo"], self._scores["hi"]

    def predict_contrib(self, X: np.ndarray) -> np.ndarray:
        return self._scores["contrib"]


def assemble(models: Models, inputs: xr.Dataset, month: int, attrs: dict[str, Any],
             results: list[BlockScores]) -> xr.Dataset:
    """The risk dataset of `score_month` from block scores covering every land cell."""
    cells = np.concatenate([r.cells for r in results])
    order = np.argsort(cells, kind="stable")
    expected = land_cells(inputs["country_id"].values)
    if not np.array_equal(cells[order], expected):
        raise ValueError("block scores do not cover the land cells exactly once")
    replay: Models = {}
    for target, (model, meta) in models.items():
        merged = {k: np.concatenate([r.scores[target][k] for r in results])[order]
                  for k in ("risk", "lo", "hi", "contrib")}
        replay[target] = (_Replay(model, merged), meta)
    names = next(iter(models.values()))[0].feature_names_in_
    shape = (inputs.sizes["time"], inputs.sizes["lat"], inputs.sizes["lon"])
    # score_month reads its feature matrix from a cube; the replayed models ignore it, so a
    # zero-stride cube (no memory) stands in for the features already used per block.
    null = np.broadcast_to(np.float32(0), shape)
    null_cube = xr.Dataset({n: (("time", "lat", "lon"), null) for n in names})
    return score_month(replay, inputs, null_cube, month, attrs)


def score_month_blocks(models: Models, inputs: xr.Dataset, month: int, attrs: dict[str, Any],
                       **kwargs: Any) -> xr.Dataset:
    """`score_month` computed block by block (see `iter_block_scores` for `kwargs`): the
    same dataset, with peak memory set by the block size rather than the feature cube."""
    results = list(iter_block_scores(models, inputs, month, **kwargs))
    return assemble(models, inputs, month, attrs, results)
