"""The tiled world generator (`riskmodel.world.tiled`) and its Zarr store writer: windows
agree with the whole grid, chunk sizes do not change the store, the store has the form of
`make_world`'s dataset and passes the input checks, and its numbers resemble the demo's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import features
from riskmodel.checks import run_checks
from riskmodel.checks.schema import check_schema, required_inputs
from riskmodel.config import ChecksConfig, WorldConfig
from riskmodel.scale import store as store_mod
from riskmodel.scale.store import open_inputs, write_tiled_world
from riskmodel.world import make_world
from riskmodel.world.tiled import plan_world, world_window

# Small enough for seconds, large enough for several countries, chunks and noise tiles,
# and 40 months so the 36-month checks and features have a history.
CFG = WorldConfig(ny=60, nx=80, resolution=0.25, n_countries=6, n_admin1=30,
                  n_months=40, land_fraction=0.4)
SEED = 11
NOISE = 10


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    return plan_world(CFG, SEED, noise_tile=NOISE)


@pytest.fixture(scope="module")
def stored(world, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("tiled") / "world.zarr"
    write_tiled_world(world, path, chunk=20)
    return path


def test_window_equals_cut_of_whole_grid(world) -> None:  # type: ignore[no-untyped-def]
    whole = world_window(world, 0, CFG.ny, 0, CFG.nx)
    # Not aligned to noise tiles or chunks: widened, generated and cut.
    part = world_window(world, 23, 47, 31, 66)
    assert whole is not None and part is not None
    assert set(part) == set(whole)
    for name, values in part.items():
        np.testing.assert_array_equal(values, whole[name][..., 23:47, 31:66], err_msg=name)


def test_chunk_size_does_not_change_the_store(world, stored: Path,  # type: ignore[no-untyped-def]
                                              tmp_path: Path) -> None:
    other = write_tiled_world(world, tmp_path / "b.zarr", chunk=30)
    assert other["land_cells"] > 0
    xr.testing.assert_identical(open_inputs(stored).load(),
                                open_inputs(tmp_path / "b.zarr").load())


def test_sea_chunks_are_not_written(stored: Path) -> None:
    ds = open_inputs(stored)
    land = ds["land"].values.astype(bool)
    on_disk = {p.name for p in (stored / "temperature").iterdir()
               if not p.name.startswith(".")}
    sea = [(i, j) for i in range(3) for j in range(4)
           if not land[20 * i:20 * i + 20, 20 * j:20 * j + 20].any()]
    assert sea, "the test world needs a chunk without land"
    for i, j in sea:
        assert f"0.{i}.{j}" not in on_disk
        cut = (slice(20 * i, 20 * i + 20), slice(20 * j, 20 * j + 20))
        assert np.isnan(ds["temperature"].values[(..., *cut)]).all()
        assert (ds["identified_fl"].values[(..., *cut)] == 0).all()
        assert (ds["country_id"].values[cut] == -1).all()


def test_store_has_the_form_of_make_world(stored: Path) -> None:
    got = open_inputs(stored)
    ref = make_world(CFG, SEED)
    assert set(got.data_vars) == set(ref.data_vars)
    assert set(got.coords) == set(ref.coords)
    for name, var in ref.variables.items():
        assert got[name].dims == var.dims, name
        assert got[name].dtype == var.dtype, name
        assert {k: v for k, v in got[name].attrs.items()} == var.attrs, name
    assert set(got.attrs) == set(ref.attrs)
    assert got["time"].values[0] == ref["time"].values[0]


def test_store_passes_input_checks_and_builds_features(stored: Path) -> None:
    inputs = open_inputs(stored)
    names, skipped = features.plan_features(inputs)
    assert (names, skipped) == features.plan_features(make_world(CFG, SEED))
    n, findings = check_schema(inputs, required_inputs(names))
    assert n > 0 and findings == []
    month = inputs.sizes["time"] - 1
    report = run_checks(inputs, None, month, "last", ChecksConfig())
    assert not report.failures(), report.findings
    cube = features.build_cube(inputs.isel(lat=slice(25, 45), lon=slice(10, 40)).load())
    assert list(cube.data_vars) == names
    assert np.isfinite(cube[names[0]].values).any()


def test_failed_write_leaves_the_old_store(world, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.zarr"
    write_tiled_world(world, path, chunk=40)
    before = open_inputs(path).load()
    calls = {"n": 0}
    real = store_mod.world_window

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(store_mod, "world_window", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        write_tiled_world(world, path, chunk=20)
    xr.testing.assert_identical(open_inputs(path).load(), before)
    assert [p.name for p in tmp_path.iterdir()] == ["w.zarr"]  # no temporary left
    with pytest.raises(ValueError, match="chunk must be at least 1"):
        write_tiled_world(world, path, chunk=0)


def test_numbers_resemble_make_world(stored: Path) -> None:
    # The same formulas on differently drawn fields: land share, means and spreads over
    # land near make_world's, so models trained on the demo world see familiar inputs.
    got, ref = open_inputs(stored).load(), make_world(CFG, SEED)
    assert abs(float(got["land"].mean()) - CFG.land_fraction) < 0.03
    assert got["country"].size == CFG.n_countries
    assert got["admin1"].size == CFG.n_admin1
    for name in ("temperature", "precipitation", "population", "crop_share", "child_share",
                 "young_child_share", "migrant_share", "true_prevalence_fl",
                 "true_prevalence_cl", "detection_prob", "identified_fl", "identified_cl"):
        a = ref[name].values[..., ref["land"].values.astype(bool)].astype(np.float64)
        b = got[name].values[..., got["land"].values.astype(bool)].astype(np.float64)
        assert not np.isnan(b).any(), name
        assert abs(b.mean() - a.mean()) <= 0.3 * abs(a.mean()), (name, a.mean(), b.mean())
        assert 0.4 <= b.std() / a.std() <= 2.5, (name, a.std(), b.std())
    surveyed = np.isfinite(got["survey_cl_prevalence"].values)
    assert surveyed.any() and (got["survey_cl_prevalence"].values[surveyed] <= 1).all()


def store(*argv: str) -> int:
    """`riskmodel store ARGV`; its exit code."""
    from riskmodel.cli import main

    with pytest.raises(SystemExit) as info:
        main(["store", *argv])
    return int(info.value.code)


def test_store_command_picks_the_generator(tmp_path: Path) -> None:
    from riskmodel.config import load_config

    cfg = load_config("configs/tiny.toml")
    assert store("--config", "configs/tiny.toml", "--store", str(tmp_path / "auto.zarr"),
                 "--chunk", "16") == 0
    whole = make_world(cfg.world, cfg.seed)
    np.testing.assert_array_equal(open_inputs(tmp_path / "auto.zarr")["temperature"].values,
                                  whole["temperature"].values)  # small: make_world
    assert store("--config", "configs/tiny.toml", "--store", str(tmp_path / "tiled.zarr"),
                 "--chunk", "16", "--generator", "tiled") == 0
    tiled = open_inputs(tmp_path / "tiled.zarr")
    assert set(tiled.data_vars) == set(whole.data_vars)
    assert not np.array_equal(tiled["land"].values, whole["land"].values)
