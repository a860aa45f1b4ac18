"""The feature cube: eager and dask-lazy builds agree, features never read the future,
region mode runs the same catalogue on (time, region) units, and `features build` writes
the cube or fails with one line and no file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import features
from riskmodel.cli import main
from riskmodel.config import load_config
from riskmodel.sources import load_inputs
from riskmodel.world import make_world

ROOT = Path(__file__).resolve().parents[1]
STRUCTURE = {"country_id", "admin1_id", "admin1_country", "land"}


@pytest.fixture(scope="module")
def world() -> xr.Dataset:
    cfg = load_config(ROOT / "configs" / "tiny.toml")
    return make_world(cfg.world, cfg.seed)


@pytest.fixture(scope="module")
def cube(world: xr.Dataset) -> xr.Dataset:
    return features.build_cube(world)


def test_lazy_cube_equals_eager_cube(world: xr.Dataset, cube: xr.Dataset) -> None:
    lazy = features.build_cube(world, chunks={"lat": 10, "lon": 12})
    for name in lazy.data_vars:  # grid, region-table, static and neighbourhood features
        assert hasattr(lazy[name].data, "dask"), f"{name} must be lazy (dask-backed)"
    assert len(lazy["spi_3"].chunks[0]) == 1, "time must stay in one chunk"
    assert len(lazy["spi_3"].chunks[1]) > 1 and len(lazy["spi_3"].chunks[2]) > 1
    lazy = lazy.compute()
    assert list(lazy.data_vars) == list(cube.data_vars)
    for name in cube.data_vars:
        np.testing.assert_array_equal(lazy[name].values, cube[name].values, err_msg=name)
        assert lazy[name].attrs == cube[name].attrs


def test_partial_cube_equals_full_cube_at_its_months(world: xr.Dataset,
                                                     cube: xr.Dataset) -> None:
    """A cube built for some months (block scoring) holds every feature exactly at those
    months; only neighbourhood features are left NaN at the others, and it says so."""
    months = [0, 17, world.sizes["time"] - 1]
    part = features.build_cube(world, months=months)
    assert json.loads(part.attrs["neighbourhood_months"]) == months
    spatial = {n for n in cube.data_vars if cube[n].attrs["kernel"] in ("spatial_lag",)}
    assert spatial, "the catalogue should have a neighbourhood feature to test"
    others = [t for t in range(world.sizes["time"]) if t not in months]
    for name in cube.data_vars:
        np.testing.assert_array_equal(part[name].values[months], cube[name].values[months],
                                      err_msg=name)
        if name in spatial:
            assert np.isnan(part[name].values[others]).all(), name
        else:
            np.testing.assert_array_equal(part[name].values, cube[name].values, err_msg=name)
    lazy = features.build_cube(world, ["drought_spatial_lag"], months=months,
                               chunks={"lat": 10, "lon": 12})
    assert "neighbourhood_months" not in lazy.attrs  # a lazy cube is computed whole
    np.testing.assert_array_equal(lazy["drought_spatial_lag"].values,
                                  cube["drought_spatial_lag"].values)


def test_partial_cube_computes_cell_months_at_the_masked_cells(world: xr.Dataset,
                                                               cube: xr.Dataset) -> None:
    """`cells_at` months (the refit's labelled months in block scoring) hold the spatial
    lag exactly at the masked cells and NaN at the others; a month also in `months` is
    computed whole; every other feature is the full cube's."""
    last = world.sizes["time"] - 1
    mask = np.random.default_rng(0).random(world["country_id"].shape) < 0.1
    part = features.build_cube(world, months=[last], cells_at=([20, 30, last], mask))
    assert json.loads(part.attrs["neighbourhood_cell_months"]) == [20, 30]
    lag_part, lag = part["drought_spatial_lag"].values, cube["drought_spatial_lag"].values
    np.testing.assert_array_equal(lag_part[last], lag[last])
    for t in (20, 30):
        np.testing.assert_array_equal(lag_part[t][mask], lag[t][mask])
        assert np.isnan(lag_part[t][~mask]).all()
    assert np.isfinite(lag[20][~mask]).any()  # so the NaN above are not the world's
    assert np.isnan(lag_part[21]).all()
    for name in cube.data_vars:
        if name != "drought_spatial_lag":
            np.testing.assert_array_equal(part[name].values, cube[name].values, err_msg=name)
    with pytest.raises(ValueError, match="cell mask of shape"):
        features.build_cube(world, ["drought_spatial_lag"], months=[last],
                            cells_at=([20], mask[:-1]))


def test_time_must_stay_one_chunk(world: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="time"):
        features.build_cube(world, ["gdp_growth"], chunks={"time": 12})


def _perturb_after(inputs: xr.Dataset, t: int, seed: int = 3) -> xr.Dataset:
    """Every time-varying input replaced by noise after time index t."""
    rng = np.random.default_rng(seed)
    out = inputs.copy()
    for name, da in inputs.data_vars.items():
        if "time" not in da.dims or name in STRUCTURE or da.dtype.kind != "f":
            continue
        values = da.transpose("time", ...).values.copy()
        future = values[t + 1:]
        values[t + 1:] = np.where(np.isnan(future), np.nan,
                                  rng.normal(5.0, 3.0, future.shape).astype(values.dtype))
        out[name] = da.transpose("time", ...).copy(data=values).transpose(*da.dims)
    return out


def _assert_no_leak(inputs: xr.Dataset, t: int) -> int:
    names, _ = features.plan_features(inputs)
    base = features.build_cube(inputs, names)
    moved = features.build_cube(_perturb_after(inputs, t), names)
    changed_future = 0
    for name in names:
        a, b = base[name].values, moved[name].values
        np.testing.assert_array_equal(a[: t + 1], b[: t + 1], err_msg=name)
        changed_future += not np.array_equal(a[t + 1:], b[t + 1:], equal_nan=True)
    assert changed_future > len(names) // 2, "the perturbation must reach most features"
    return len(names)


def test_no_feature_reads_the_future_grid(world: xr.Dataset) -> None:
    assert features.WARMUP_MONTHS < 120 < world.sizes["time"] - 1
    assert _assert_no_leak(world, 120) == len(features.plan_features(world)[0])


def test_no_feature_reads_the_future_region() -> None:
    inputs = load_inputs(load_config(ROOT / "configs" / "real-countries.toml"))
    t = int(np.flatnonzero(inputs["time"].values == np.datetime64("2010-12-01"))[0])
    assert _assert_no_leak(inputs, t) >= 25


def _region_inputs(world: xr.Dataset, unit: str) -> xr.Dataset:
    keep = [v for v, da in world.data_vars.items()
            if "lat" not in da.dims and (unit == "admin1" or "admin1" not in da.dims)]
    ds = world[keep]
    return ds if unit == "admin1" else ds.drop_dims("admin1", errors="ignore")


def test_region_mode_country(world: xr.Dataset, cube: xr.Dataset) -> None:
    inputs = _region_inputs(world, "country")
    region = features.build_cube(inputs)
    skipped = json.loads(region.attrs["skipped_features"])
    assert region.attrs["mode"] == "region"
    assert skipped["drought_spatial_lag"] == "grid-only feature skipped in region mode"
    assert skipped["log_population_density"] == "grid-only feature skipped in region mode"
    assert "children_in_crisis" in skipped  # its crisis input is admin-1 (or a grid)
    assert "gdp_growth" in region and "tip_watchlist" in region and "years_since_C138" in region
    for name in region.data_vars:
        assert region[name].dims == ("time", "country"), name
        assert region[name].dtype == np.float32
    # A country feature in region mode equals the grid feature in that country's cells.
    cid = world["country_id"].values
    for k, code in enumerate(world["country"].values):
        cells = cube["gdp_growth"].values[:, cid == k]
        np.testing.assert_array_equal(cells[:, 0], region["gdp_growth"].sel(country=code))


def test_region_mode_admin1_repeats_country_tables(world: xr.Dataset) -> None:
    inputs = _region_inputs(world, "admin1")
    region = features.build_cube(inputs, ["gdp_growth", "inspection_coverage"])
    assert region["gdp_growth"].dims == ("time", "admin1")
    owner = world["admin1_country"].values
    country = features.build_cube(_region_inputs(world, "country"), ["gdp_growth"])
    np.testing.assert_array_equal(region["gdp_growth"].values,
                                  country["gdp_growth"].values[:, owner])


def test_asking_for_a_grid_only_feature_in_region_mode_fails(world: xr.Dataset) -> None:
    with pytest.raises(KeyError, match="grid-only"):
        features.build_cube(_region_inputs(world, "country"), ["drought_spatial_lag"])


def test_cli_build_writes_the_cube(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   cube: xr.Dataset) -> None:
    out = tmp_path / "cube.nc"
    with pytest.raises(SystemExit) as exit_:
        main(["features", "build", "--config", str(ROOT / "configs" / "tiny.toml"),
              "--cube", str(out), "--chunks", "16", "--quiet"])
    assert exit_.value.code == 0
    with xr.open_dataset(out) as saved:
        assert list(saved.data_vars) == list(cube.data_vars)
        np.testing.assert_array_equal(saved["spi_12"].values, cube["spi_12"].values)
        assert saved["spi_12"].attrs["units"] == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["cube.nc"]


def test_cli_build_bad_config_one_line_no_file(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('name = "x"\n[sources]\nstart_year = 2000\nend_year = 2001\n'
                   '[sources.inputs.a]\nreader = "csv"\npath = "missing.csv"\n'
                   '[sources.inputs.a.variables]\nx = { column = "x", units = "1" }\n')
    out = tmp_path / "cube.nc"
    with pytest.raises(SystemExit) as exit_:
        main(["features", "build", "--config", str(cfg), "--cube", str(out)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.csv" in err[0] and "not found" in err[0]
    assert list(tmp_path.iterdir()) == [cfg]
