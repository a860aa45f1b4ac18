"""Block-wise (streaming) scoring, compiled inference and the Dask LocalCluster path, each
compared with the plain in-memory `score_month` on the tiny world."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import features
from riskmodel.config import load_config
from riskmodel.models.registry import model_dir
from riskmodel.scale import inference
from riskmodel.scale.blocks import feature_halo, plan_blocks
from riskmodel.scale.score import score_month_blocks
from riskmodel.scale.store import open_inputs, write_inputs
from riskmodel.scoring import score_month
from riskmodel.training import ensure_model
from riskmodel.world import make_world
from tests.conftest import write_tiny_config

ATTRS = {"as_of": "test"}


@pytest.fixture(scope="module")
def tiny(tiny_run: dict) -> dict:
    """The tiny world, its feature cube and the models of the session's tiny run (loaded
    from its registry, so no training here)."""
    cfg = load_config(tiny_run["config"])
    inputs = make_world(cfg.world, cfg.seed)
    cube = features.build_cube(inputs)
    models, folders = {}, {}
    for target in cfg.targets:
        model, meta, trained = ensure_model(cfg, inputs, cube, target)
        assert not trained
        models[target] = (model, meta)
        folders[target] = str(model_dir(cfg.model.registry, target, meta["model_id"]))
    month = inputs.sizes["time"] - 1
    expected = score_month(models, inputs, cube, month, ATTRS)
    return {"config": tiny_run["config"], "inputs": inputs, "models": models,
            "folders": folders, "month": month, "expected": expected}


def test_plan_blocks_cover_grid_once() -> None:
    seen = np.zeros((23, 31), int)
    for b in plan_blocks(23, 31, 10):
        seen[b.y0:b.y1, b.x0:b.x1] += 1
    assert (seen == 1).all()


def test_halo_is_widest_catalogue_neighbourhood() -> None:
    assert feature_halo() == features.CATALOGUE["drought_spatial_lag"].params["radius"] > 0


def test_blocks_equal_whole_grid(tiny: dict) -> None:
    # Blocks of 12 on a 24 x 32 grid: every block has neighbours within the halo.
    got = score_month_blocks(tiny["models"], tiny["inputs"], tiny["month"], ATTRS, block=12)
    xr.testing.assert_identical(got, tiny["expected"])


def test_blocks_without_halo_differ(tiny: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # The halo is what makes blocks exact: without it the neighbourhood feature changes
    # near block edges, and so do the scores.
    monkeypatch.setattr("riskmodel.scale.score.feature_halo", lambda names=None: 0)
    got = score_month_blocks(tiny["models"], tiny["inputs"], tiny["month"], ATTRS, block=16)
    assert not np.array_equal(got["risk"].values, tiny["expected"]["risk"].values,
                              equal_nan=True)


@pytest.fixture(scope="module")
def compiled_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compiled-model cache for the module (each tiny member compiles once)."""
    if not inference.compiler_available():
        pytest.skip("tl2cgen or a C compiler is missing")
    return tmp_path_factory.mktemp("compiled")


def test_compiled_equals_native_and_is_cached(tiny: dict, compiled_cache: Path) -> None:
    tmp_path = compiled_cache
    model, _ = tiny["models"]["fl"]
    X = np.random.default_rng(0).normal(size=(2000, model.n_features_in_)).astype(np.float32)
    X[::7, 3] = np.nan
    compiled = inference.compile_members(model, tmp_path)
    assert compiled is not None
    risk, lo, hi = inference.interval_from_logits(model, inference.member_logits(compiled, X))
    for got, want in zip((risk, lo, hi), model.predict_interval(X), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    # Same model text -> same library; a changed model -> a new one.
    libs = {c.libpath for c in compiled}
    again = inference.compile_members(model, tmp_path)
    assert {c.libpath for c in again} == libs
    # A different model file (fewer trees) gets its own library.
    shorter = model.boosters_[0].model_to_string(num_iteration=5)
    other = inference.compile_model_text(shorter, tmp_path)
    assert other is not None and other.libpath not in libs
    np.testing.assert_allclose(other.raw_score(X), model.boosters_[0].predict(
        X, raw_score=True, num_iteration=5), rtol=0, atol=1e-6)


def test_compiled_blocks_equal_native(tiny: dict, compiled_cache: Path) -> None:
    got = score_month_blocks(tiny["models"], tiny["inputs"], tiny["month"], ATTRS, block=32,
                             inference="compiled", cache_dir=str(compiled_cache))
    for name in ("risk", "risk_lo", "risk_hi"):
        np.testing.assert_allclose(got[name].values, tiny["expected"][name].values,
                                   rtol=0, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(got["driver_feature"].values,
                                  tiny["expected"]["driver_feature"].values)


def test_no_compiler_falls_back_to_native(tiny: dict, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference.shutil, "which", lambda name: None)
    assert inference.compile_members(tiny["models"]["fl"][0], tmp_path) is None
    got = score_month_blocks(tiny["models"], tiny["inputs"], tiny["month"], ATTRS, block=32,
                             inference="compiled", cache_dir=str(tmp_path))
    xr.testing.assert_identical(got, tiny["expected"])


def test_store_round_trip(tiny: dict, tmp_path: Path) -> None:
    inputs = tiny["inputs"]
    stored = open_inputs(write_inputs(inputs, tmp_path / "in.zarr", chunk=12))
    assert stored["temperature"].encoding["chunks"] == (inputs.sizes["time"], 12, 12)
    for name, var in inputs.variables.items():
        assert stored[name].dims == var.dims, name
        np.testing.assert_array_equal(stored[name].values, var.values, err_msg=name)


def test_cli_on_local_cluster_from_store_equals_in_process(tiny: dict, tmp_path: Path) -> None:
    # `python -m riskmodel.scale score --dask local` as it runs at scale: the workers read
    # their blocks from the Zarr store and load the models from the registry themselves.
    from riskmodel.pipeline import month_label
    from riskmodel.scale.cli import main

    store = tmp_path / "in.zarr"
    write_inputs(tiny["inputs"], store, chunk=12)
    # Its own registry is empty: the models come from the tiny run's (--models-from).
    config = write_tiny_config(tmp_path, scale={"inputs": str(store), "block": 12})
    as_of = month_label(tiny["inputs"], tiny["month"])
    assert main(["score", "--config", str(config), "--as-of", as_of, "--dask", "local",
                 "--models-from", str(tiny["config"]), "--quiet"]) == 0
    with xr.open_dataset(tmp_path / "runs" / "tiny" / as_of / "risk.nc") as got:
        for name in ("risk", "risk_lo", "risk_hi", "driver_feature", "domain_contrib",
                     "admin1_driver_feature", "admin1_driver_contrib"):
            np.testing.assert_array_equal(got[name].values, tiny["expected"][name].values,
                                          err_msg=name)


def test_block_scores_reject_gaps(tiny: dict) -> None:
    from riskmodel.scale.score import assemble, iter_block_scores

    results = list(iter_block_scores(tiny["models"], tiny["inputs"], tiny["month"], block=16))
    with pytest.raises(ValueError, match="exactly once"):
        assemble(tiny["models"], tiny["inputs"], tiny["month"], ATTRS, results[1:])
