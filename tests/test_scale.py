"""The one scoring entry point `score_months`: its block engine (streaming), compiled
inference, the interval's refit on both engines (the same rows, the same band) and the
Dask LocalCluster path, each compared with its memory engine on the tiny world."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import features
from riskmodel.config import load_config
from riskmodel.models.registry import model_dir
from riskmodel.models.table import land_cells
from riskmodel.scale import inference
from riskmodel.scale.blocks import feature_halo, plan_blocks
from riskmodel.models.interval import REFIT_MONTHS
from riskmodel.scale.score import (iter_block_scores, merge_blocks, merge_labelled,
                                   score_months, score_whole)
from riskmodel.scale.store import open_inputs, write_inputs
from riskmodel.scoring import (EVERY_CELL, NOT_COMPUTED, DriverRule, admin1_sample,
                               refit_cells, refit_plan)
from riskmodel.training import ensure_model
from riskmodel.world import make_world
from tests.conftest import write_tiny_config

ATTRS = {"as_of": "test"}


def score(tiny: dict, engine: str, **kwargs) -> xr.Dataset:  # type: ignore[no-untyped-def]
    """`score_months` of the tiny world's last month with `engine`: its risk dataset."""
    month = tiny["month"]
    return score_months(tiny["models"], tiny["inputs"], [month], engine=engine,  # type: ignore[arg-type]
                        attrs=lambda m: ATTRS, **kwargs).risk[month]


@pytest.fixture(scope="module")
def tiny(tiny_run: dict) -> dict:
    """The tiny world, its feature cube and the models of the session's tiny run (loaded
    from its registry, so no training here)."""
    cfg = load_config(tiny_run["config"])
    inputs = make_world(cfg.world, cfg.seed)
    cube = features.build_cube(inputs)
    models, folders = {}, {}
    for target in cfg.targets:
        registered, trained = ensure_model(cfg, inputs, cube, target)
        assert not trained
        models[target] = registered
        folders[target] = str(model_dir(cfg.model.registry, target, registered.model_id))
    month = inputs.sizes["time"] - 1
    scored = score_months(models, inputs, [month], engine="memory", cube=cube,
                          attrs=lambda m: ATTRS, features_of=month)
    return {"config": tiny_run["config"], "inputs": inputs, "models": models,
            "folders": folders, "month": month, "cube": cube, "scored": scored,
            "expected": scored.risk[month]}


def test_plan_blocks_cover_grid_once() -> None:
    seen = np.zeros((23, 31), int)
    for b in plan_blocks(23, 31, 10):
        seen[b.y0:b.y1, b.x0:b.x1] += 1
    assert (seen == 1).all()


def test_halo_is_widest_catalogue_neighbourhood() -> None:
    assert feature_halo() == features.CATALOGUE["drought_spatial_lag"].params["radius"] > 0


def test_block_engine_equals_memory_engine(tiny: dict) -> None:
    # Blocks of 12 on a 24 x 32 grid: every block has neighbours within the halo. Two
    # months in one pass: each block's features are built once for both.
    month, memory = tiny["month"], tiny["scored"]
    got = score_months(tiny["models"], tiny["inputs"], [month - 1, month], engine="blocks",
                       block=12, attrs=lambda m: ATTRS, features_of=month)
    xr.testing.assert_identical(got.risk[month], tiny["expected"])
    earlier = score_months(tiny["models"], tiny["inputs"], [month - 1], cube=tiny["cube"],
                           attrs=lambda m: ATTRS).risk[month - 1]
    xr.testing.assert_identical(got.risk[month - 1], earlier)
    # the rows the input checks read: the same cells and raw features from both engines
    np.testing.assert_array_equal(got.cells, memory.cells)
    assert got.features is not None and memory.features is not None
    assert memory.features.shape == (len(memory.cells), len(tiny["cube"].data_vars))
    np.testing.assert_array_equal(got.features, memory.features)
    assert np.isnan(memory.features).any() and np.isfinite(memory.features).any()


def test_memory_engine_builds_the_cube_when_none_is_given(tiny: dict) -> None:
    xr.testing.assert_identical(score(tiny, "memory"), tiny["expected"])


def test_engine_switch_refuses_what_it_cannot_do(tiny: dict) -> None:
    with pytest.raises(ValueError, match="scoring engine 'gpu'"):
        score(tiny, "gpu")
    with pytest.raises(ValueError, match="needs engine='blocks'"):
        score(tiny, "memory", client=object())
    with pytest.raises(ValueError, match="not among the months scored"):
        score(tiny, "memory", features_of=0)


def test_blocks_without_halo_differ(tiny: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # The halo is what makes blocks exact: without it the neighbourhood feature changes
    # near block edges, and so do the scores.
    monkeypatch.setattr("riskmodel.scale.score.feature_halo", lambda names=None: 0)
    got = score(tiny, "blocks", block=16)
    assert not np.array_equal(got["risk"].values, tiny["expected"]["risk"].values,
                              equal_nan=True)


def horizon(tiny: dict) -> int:
    """The tiny config's label horizon H."""
    return load_config(tiny["config"]).model.horizon


def test_blocks_refit_the_interval_like_the_memory_engine(tiny: dict) -> None:
    # Each month's interval refitted on its labelled months by both engines: the same
    # datasets, band and interval_spread_* attrs included, and the same calibrations.
    month, h = tiny["month"], horizon(tiny)
    memory = score_months(tiny["models"], tiny["inputs"], [month - 1, month],
                          cube=tiny["cube"], attrs=lambda m: ATTRS, horizon=h)
    blocks = score_months(tiny["models"], tiny["inputs"], [month - 1, month],
                          engine="blocks", block=12, attrs=lambda m: ATTRS, horizon=h)
    land = len(land_cells(tiny["inputs"]["country_id"].values))
    for m in (month - 1, month):
        xr.testing.assert_identical(blocks.risk[m], memory.risk[m])
        for target in ("fl", "cl"):
            record = blocks.bands[m][target].refit
            assert record == memory.bands[m][target].refit
            assert record.source == "newest labelled months" and record.rows == \
                REFIT_MONTHS * land
            assert blocks.risk[m].attrs[f"interval_spread_source_{target}"] == record.source
    # the refit is what the band is made from: it differs from the fold's
    assert not np.array_equal(blocks.risk[month]["risk_hi"].values,
                              tiny["expected"]["risk_hi"].values, equal_nan=True)


def test_refit_cells_rule() -> None:
    land = np.sort(np.random.default_rng(0).choice(400_000, 120_000, replace=False))
    np.testing.assert_array_equal(refit_cells(land, 120_000), land)  # at the cap: all
    picked = refit_cells(land, 5_000)
    assert len(picked) == 5_000 and np.isin(picked, land).all()
    assert np.all(np.diff(picked) > 0)
    # a rule of the cell index alone: any subset holding the picked cells keeps them
    subset = np.union1d(picked, land[::3])
    np.testing.assert_array_equal(refit_cells(subset, 5_000), picked)
    # spread over the grid (rows of 1,000 cells), not a run of neighbours
    assert len(np.unique(picked // 1_000)) > 300


def test_refit_cap_reads_the_same_rows_on_both_engines(tiny: dict) -> None:
    # Under a cap smaller than the land, both engines read the same cells: the gathered
    # rows are equal element for element, and so are the nights' bands and datasets.
    inputs, models, month, h = tiny["inputs"], tiny["models"], tiny["month"], horizon(tiny)
    land = land_cells(inputs["country_id"].values)
    cap = 37
    assert len(land) > cap
    plan = refit_plan(inputs, [month], h, cap=cap)
    np.testing.assert_array_equal(plan.cells, refit_cells(land, cap))
    sample = admin1_sample(inputs["admin1_id"].values, EVERY_CELL)
    whole = merge_labelled([score_whole(models, inputs, tiny["cube"], [month],
                                        sample=sample, plan=plan)], plan, inputs, ["fl", "cl"])
    blocks = merge_labelled(list(iter_block_scores(models, inputs, [month], sample=sample,
                                                   block=12, plan=plan)),
                            plan, inputs, ["fl", "cl"])
    for target in ("fl", "cl"):
        a, b = whole[target], blocks[target]
        assert a is not None and b is not None and len(a.risk) == REFIT_MONTHS * cap
        for name in ("risk", "member_sd", "count", "month"):
            np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
        assert (a.count >= 0).all() and a.count.max() >= 2
    memory = score_months(models, inputs, [month], cube=tiny["cube"], attrs=lambda m: ATTRS,
                          horizon=h, refit_cap=cap)
    got = score_months(models, inputs, [month], engine="blocks", block=12,
                       attrs=lambda m: ATTRS, horizon=h, refit_cap=cap)
    xr.testing.assert_identical(got.risk[month], memory.risk[month])
    for target in ("fl", "cl"):
        assert got.bands[month][target].refit == memory.bands[month][target].refit
        assert got.bands[month][target].refit.rows == REFIT_MONTHS * cap


def test_blocks_refit_reads_no_window_after_the_scored_month(tiny: dict) -> None:
    # Cases identified after the scored month change nothing the blocks engine publishes
    # for it: the refit's newest window ends at the scored month.
    inputs, models, h = tiny["inputs"], tiny["models"], horizon(tiny)
    month = tiny["month"] - 6
    later = inputs.copy()
    for target in ("fl", "cl"):
        var = f"identified_{target}"
        cases = later[var].values.copy()
        cases[month + 1:] += 3  # every cell: three more cases in every later month
        later[var] = (later[var].dims, cases, later[var].attrs)
    got = [score_months(models, ds, [month], engine="blocks", block=12,
                        attrs=lambda m: ATTRS, horizon=h) for ds in (inputs, later)]
    xr.testing.assert_identical(got[1].risk[month], got[0].risk[month])
    for target in ("fl", "cl"):
        record = got[0].bands[month][target].refit
        assert record.source == "newest labelled months"
        assert record.months[1] + h == month
    # the later cases are read when scoring a later month
    after = score_months(models, later, [month + h], engine="blocks", block=12,
                         attrs=lambda m: ATTRS, horizon=h)
    before = score_months(models, inputs, [month + h], engine="blocks", block=12,
                          attrs=lambda m: ATTRS, horizon=h)
    assert after.bands[month + h]["fl"].sigma.tolist() != \
        before.bands[month + h]["fl"].sigma.tolist()


def test_blocks_without_identified_cases_keep_the_fold_and_read_no_rows(
        tiny: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_rows(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("refit rows scored without identified cases to refit on")

    monkeypatch.setattr("riskmodel.scale.blocks.labelled_spread", no_rows)
    month = tiny["month"]
    inputs = tiny["inputs"].drop_vars(["identified_fl", "identified_cl"])
    got = score_months(tiny["models"], inputs, [month], engine="blocks", block=12,
                       attrs=lambda m: ATTRS, horizon=horizon(tiny))
    for target in ("fl", "cl"):
        record = got.bands[month][target].refit
        assert record.source == "calibration fold" and record.rows == 0
        assert f"identified_{target}" in got.risk[month].attrs[
            f"interval_spread_reason_{target}"]
    for name in ("risk", "risk_lo", "risk_hi"):  # the fold's band: the plain night's
        xr.testing.assert_identical(got.risk[month][name], tiny["expected"][name])


@pytest.fixture(scope="module")
def compiled_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compiled-model cache for the module (each tiny member compiles once)."""
    if not inference.compiler_available():
        pytest.skip("tl2cgen or a C compiler is missing")
    return tmp_path_factory.mktemp("compiled")


def test_compiled_equals_native_and_is_cached(tiny: dict, compiled_cache: Path) -> None:
    tmp_path = compiled_cache
    model = tiny["models"]["fl"].estimator
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
    got = score(tiny, "blocks", block=32, inference="compiled", cache_dir=str(compiled_cache))
    for name in ("risk", "risk_lo", "risk_hi"):
        np.testing.assert_allclose(got[name].values, tiny["expected"][name].values,
                                   rtol=0, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(got["driver_feature"].values,
                                  tiny["expected"]["driver_feature"].values)


def test_no_compiler_falls_back_to_native(tiny: dict, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference.shutil, "which", lambda name: None)
    assert inference.compile_members(tiny["models"]["fl"].estimator, tmp_path) is None
    got = score(tiny, "blocks", block=32, inference="compiled", cache_dir=str(tmp_path))
    xr.testing.assert_identical(got, tiny["expected"])


def test_store_round_trip(tiny: dict, tmp_path: Path) -> None:
    inputs = tiny["inputs"]
    stored = open_inputs(write_inputs(inputs, tmp_path / "in.zarr", chunk=12))
    assert stored["temperature"].encoding["chunks"] == (inputs.sizes["time"], 12, 12)
    for name, var in inputs.variables.items():
        assert stored[name].dims == var.dims, name
        np.testing.assert_array_equal(stored[name].values, var.values, err_msg=name)


def test_block_scores_reject_gaps(tiny: dict) -> None:
    sample = admin1_sample(tiny["inputs"]["admin1_id"].values, EVERY_CELL)
    results = list(iter_block_scores(tiny["models"], tiny["inputs"], [tiny["month"]],
                                     sample=sample, block=16))
    land = land_cells(tiny["inputs"]["country_id"].values)
    merge_blocks(results, land, tiny["month"])  # all blocks: fine
    with pytest.raises(ValueError, match="exactly once"):
        merge_blocks(results[1:], land, tiny["month"])
    with pytest.raises(ValueError, match="exactly once"):
        merge_blocks(results + results[:1], land, tiny["month"])
    # the refit's rows too: each cell of the plan from exactly one block
    plan = refit_plan(tiny["inputs"], [tiny["month"]], 3)
    results = list(iter_block_scores(tiny["models"], tiny["inputs"], [tiny["month"]],
                                     sample=sample, block=16, plan=plan))
    merge_labelled(results, plan, tiny["inputs"], ["fl"])
    for broken in (results[1:], results + results[:1]):
        with pytest.raises(ValueError, match="refit's cells exactly once"):
            merge_labelled(broken, plan, tiny["inputs"], ["fl"])


def test_driver_rule_explains_cells_above_the_cut(tiny: dict) -> None:
    # Cells at or above the cut get the drivers full contributions give them; cells below
    # (outside the admin-1 sample) are marked not computed, in memory and block-wise.
    expected = tiny["expected"]
    risk = expected["risk"].values
    # The cut: in a gap of the stored (float32) risks near their 80th percentile, so no
    # cell's float64 risk, which the rule compares, sits on the other side of it.
    values = np.unique(risk[np.isfinite(risk)]).astype(np.float64)
    k = int(0.8 * len(values))
    k += int(np.argmax(np.diff(values[k - 1:]) > 1e-5))
    cut = (values[k - 1] + values[k]) / 2
    rule = DriverRule(min_risk=cut, admin1_sample=5, seed=1)
    got = score(tiny, "memory", cube=tiny["cube"], rule=rule)
    blocks = score(tiny, "blocks", rule=rule, block=12)
    xr.testing.assert_identical(blocks, got)
    sample = admin1_sample(tiny["inputs"]["admin1_id"].values, rule).reshape(risk.shape[-2:])
    land = np.isfinite(risk)
    above = land & (risk >= cut)
    below = land & ~above & ~sample[None, None]
    assert above.sum() and below.sum() and (sample & land[0, 0]).sum() <= 5 * 12
    feat = got["driver_feature"].values.transpose(0, 1, 3, 4, 2)  # rank last
    want = expected["driver_feature"].values.transpose(0, 1, 3, 4, 2)
    np.testing.assert_array_equal(feat[above], want[above])
    contrib = got["driver_contrib"].values.transpose(0, 1, 3, 4, 2)
    np.testing.assert_array_equal(contrib[above],
                                  expected["driver_contrib"].values.transpose(0, 1, 3, 4, 2)[above])
    assert (feat[below] == NOT_COMPUTED).all()
    assert np.isnan(got["domain_contrib"].values.transpose(0, 1, 3, 4, 2)[below]).all()
    for name in ("risk", "risk_lo", "risk_hi"):
        xr.testing.assert_identical(got[name], expected[name])
    assert "risk >= " in got["driver_feature"].attrs["comment"]


def test_admin1_sample_is_per_unit_and_seeded(tiny: dict) -> None:
    admin1_id = tiny["inputs"]["admin1_id"].values
    rule = DriverRule(admin1_sample=7, seed=3)
    mask = admin1_sample(admin1_id, rule)
    units, counts = np.unique(admin1_id.ravel()[mask], return_counts=True)
    sizes = np.bincount(admin1_id.ravel()[admin1_id.ravel() >= 0])
    np.testing.assert_array_equal(counts, np.minimum(sizes[units], 7))
    assert (admin1_id.ravel()[mask] >= 0).all()
    np.testing.assert_array_equal(mask, admin1_sample(admin1_id, rule))
    assert not np.array_equal(mask, admin1_sample(admin1_id, DriverRule(admin1_sample=7,
                                                                         seed=4)))


def test_score_command_on_local_cluster_equals_in_memory_run(tiny_run: dict,
                                                              tmp_path: Path) -> None:
    # `riskmodel score --dask local` as it runs at scale: inputs from a Zarr store, blocks
    # as tasks on worker processes that read their own chunks and load the models of
    # another config's registry ([scale] models_from). Its risk.nc must equal the tiny
    # run's, scored in memory, in every variable, the refitted interval and its
    # interval_spread_* attrs included.
    from riskmodel.cli import main

    cfg = load_config(tiny_run["config"])
    store = write_inputs(make_world(cfg.world, cfg.seed), tmp_path / "in.zarr", chunk=12)
    config = write_tiny_config(tmp_path, scale={"inputs": str(store), "block": 12,
                                                "models_from": str(tiny_run["config"])})
    as_of = tiny_run["run_dir"].name
    with pytest.raises(SystemExit) as info:
        main(["score", "--config", str(config), "--as-of", as_of, "--dask", "local",
              "--quiet"])
    assert info.value.code == 0
    run_dir = tmp_path / "runs" / "tiny" / as_of
    assert (run_dir / "alerts.geojson").is_file() and (run_dir / "checks.json").is_file()
    with xr.open_dataset(run_dir / "risk.nc") as got, \
            xr.open_dataset(tiny_run["run_dir"] / "risk.nc") as want:
        for name in want.data_vars:
            np.testing.assert_array_equal(got[name].values, want[name].values, err_msg=name)
        spread = {k: v for k, v in want.attrs.items() if k.startswith("interval_")}
        assert {k: v for k, v in got.attrs.items() if k.startswith("interval_")} == spread
        for target in ("fl", "cl"):
            assert spread[f"interval_spread_source_{target}"] == "newest labelled months"
    checks = json.loads((run_dir / "checks.json").read_text())
    assert checks["checked"].get("drift", 0) > 0, "feature drift is checked block-wise too"
