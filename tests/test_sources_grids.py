"""NetCDF/Zarr grids and GeoJSON boundaries: CF handling, unit checks, regridding onto the
target grid (grid mode), reduction to countries (region mode), and one clear error with no
output for each malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from riskmodel.cli import main
from riskmodel.config import RunConfig, SourcesConfig, VariableMap, toml_text
from riskmodel.errors import InputError
from riskmodel.sources import load_inputs
from riskmodel.sources.boundaries import rasterize, read_geojson
from riskmodel.sources.grids import grid_variable, open_grid
from riskmodel.sources.notices import Notices


def _grid(lat: np.ndarray, lon: np.ndarray, *, months: int = 3, units: str = "degC",
          seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    time = pd.date_range("2001-01-01", periods=months, freq="MS") + pd.Timedelta(days=14)
    air = rng.normal(20, 5, (months, lat.size, lon.size)).astype(np.float32)
    ds = xr.Dataset({"air": (("time", "latitude", "longitude"), air,
                             {"units": units, "standard_name": "air_temperature"})},
                    coords={"time": time, "latitude": ("latitude", lat,
                                                       {"units": "degrees_north"}),
                            "longitude": ("longitude", lon, {"units": "degrees_east"})})
    return ds


def _square(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _geojson(path: Path, features: list[tuple[str, dict]]) -> Path:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ISO_A3_EH": code, "NAME_EN": code},
         "geometry": geom} for code, geom in features]}
    path.write_text(json.dumps(doc))
    return path


def test_grid_variable_follows_the_data_contract(tmp_path: Path) -> None:
    # Descending latitude, 0..360 longitude, `degrees_Celsius` spelling, mid-month times.
    ds = _grid(np.array([10.0, 5.0, 0.0]), np.array([0.0, 90.0, 180.0, 270.0]))
    ds["air"].attrs["units"] = "degrees_Celsius"
    path = tmp_path / "g.nc"
    ds.to_netcdf(path)
    da = grid_variable(open_grid(path, "netcdf"), path, VariableMap(column="air", units="degC"))
    assert da.dims == ("time", "lat", "lon")
    assert list(da["lat"].values) == [0.0, 5.0, 10.0]
    assert list(da["lon"].values) == [-180.0, -90.0, 0.0, 90.0]
    assert str(da["time"].values[0])[:10] == "2001-01-01"
    np.testing.assert_allclose(da.sel(lat=10.0, lon=-90.0).values,
                               ds["air"].sel(latitude=10.0, longitude=270.0).values)


@pytest.mark.parametrize("change, expected", [
    (lambda ds: ds.assign(air=ds["air"].assign_attrs(units="K")),
     "variable air has units 'K', expected 'degC'"),
    (lambda ds: ds.assign(air=ds["air"].drop_attrs()),
     "variable air has no units attribute"),
    (lambda ds: ds.rename(air="tas"), "no variable 'air'"),
    (lambda ds: ds.assign_coords(latitude=("latitude", [0.0, 1.0, 5.0])),
     "latitude is not a regular grid"),
    (lambda ds: ds.rename(latitude="y", longitude="x").assign_coords(
        y=("y", [0.0, 5.0, 10.0]), x=("x", [0.0, 90.0, 180.0, 270.0])),
     "has no latitude/longitude axis"),
    (lambda ds: ds.assign(air=ds["air"].expand_dims(level=[1000])),
     "expected (time, lat, lon) or (lat, lon)"),
], ids=["wrong-units", "no-units", "missing-variable", "irregular", "no-lat-lon",
        "extra-dim"])
def test_malformed_grids_fail_with_one_clear_error(tmp_path: Path, change, expected) -> None:
    ds = change(_grid(np.array([0.0, 5.0, 10.0]), np.array([0.0, 90.0, 180.0, 270.0])))
    path = tmp_path / "g.nc"
    ds.to_netcdf(path)
    with pytest.raises(InputError) as err:
        grid_variable(open_grid(path, "netcdf"), path, VariableMap(column="air", units="degC"))
    assert str(err.value).startswith(f"{path}: ") and expected in str(err.value)


def test_climatology_must_have_twelve_months(tmp_path: Path) -> None:
    path = tmp_path / "g.nc"
    _grid(np.array([0.0, 5.0]), np.array([0.0, 5.0]), months=11).to_netcdf(path)
    vmap = VariableMap(column="air", units="degC", climatology=True)
    with pytest.raises(InputError, match="11 time steps, expected 12 months"):
        grid_variable(open_grid(path, "netcdf"), path, vmap)


def test_unreadable_grid(tmp_path: Path) -> None:
    path = tmp_path / "g.nc"
    path.write_text("not a netcdf file")
    with pytest.raises(InputError, match=r"g.nc: cannot open as netcdf"):
        open_grid(path, "netcdf")
    with pytest.raises(InputError, match=r"cannot open as zarr"):
        open_grid(tmp_path / "missing.zarr", "zarr")


def test_geojson_reads_sorted_and_skips(tmp_path: Path) -> None:
    path = _geojson(tmp_path / "b.geojson", [("KEN", _square(0, 0, 10, 10)),
                                              ("-99", _square(20, 0, 30, 10)),
                                              ("BRA", _square(10, 0, 20, 10))])
    notices = Notices()
    b = read_geojson(path, "ISO_A3_EH", ("-99",), notices)
    assert b.codes == ("BRA", "KEN")
    assert "skipped feature(s)" in notices.lines[0] and "1 (-99)" in notices.lines[0]
    labels = rasterize(b, np.array([5.0, 15.0]), np.array([5.0, 15.0, 25.0]))
    assert labels.tolist() == [[1, 0, -1], [-1, -1, -1]]


@pytest.mark.parametrize("text, expected", [
    ("{not json", "invalid JSON at line 1"),
    ('{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
    ('{"type": "FeatureCollection", "features": []}', "has no features"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"NAME": "x"}, "geometry": _square(0, 0, 1, 1)}]}),
     "feature 0: no property 'ISO_A3_EH'"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ISO_A3_EH": "ZZZZ"},
         "geometry": _square(0, 0, 1, 1)}]}),
     "feature 0: ISO_A3_EH 'ZZZZ' is not an ISO 3166-1 alpha-3 code"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ISO_A3_EH": "KEN"}, "geometry": _square(0, 0, 1, 1)},
        {"type": "Feature", "properties": {"ISO_A3_EH": "KEN"}, "geometry": _square(1, 0, 2, 1)}]}),
     "feature 1: code KEN repeats feature 0"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ISO_A3_EH": "KEN"},
         "geometry": {"type": "Point", "coordinates": [0, 0]}}]}),
     "feature 0 (KEN): geometry type 'Point', expected Polygon or MultiPolygon"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ISO_A3_EH": "KEN"},
         "geometry": _square(500000, 0, 600000, 10)}]}),
     "coordinates outside lon [-180, 180]"),
], ids=["bad-json", "not-collection", "no-features", "no-code", "bad-code", "duplicate",
        "not-polygon", "projected-coordinates"])
def test_malformed_geojson_fails_with_one_clear_error(tmp_path: Path, text: str,
                                                       expected: str) -> None:
    path = tmp_path / "b.geojson"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_geojson(path, "ISO_A3_EH", ("-99",), Notices())
    assert str(err.value).startswith(f"{path}: ") and expected in str(err.value)


def _grid_mode_files(tmp_path: Path) -> dict:
    # Two countries side by side on 0..20 E, 0..10 N.
    _geojson(tmp_path / "b.geojson", [("KEN", _square(0, 0, 10, 10)),
                                       ("BRA", _square(10, 0, 20, 10))])
    (tmp_path / "t.csv").write_text("iso3,year,gdp\nKEN,2001,100\nBRA,2001,200\n"
                                    "USA,2001,300\n")
    # Coarse 5-degree NetCDF (-> finer 1-degree target), fine 0.5-degree Zarr (-> coarser).
    coarse = _grid(np.arange(2.5, 10, 5.0), np.arange(2.5, 20, 5.0), seed=1)
    coarse.to_netcdf(tmp_path / "coarse.nc")
    fine = _grid(np.arange(0.25, 10, 0.5), np.arange(0.25, 20, 0.5), seed=2)
    fine = fine.rename(air="rain")
    fine["rain"].attrs["units"] = "mm"
    fine.to_zarr(tmp_path / "fine.zarr", mode="w", zarr_format=2)
    return {
        "mode": "grid", "start_year": 2001, "end_year": 2001, "boundaries": "b",
        "grid": {"lat0": 0.0, "lon0": 0.0, "resolution": 1.0, "ny": 10, "nx": 20},
        "inputs": {
            "b": {"reader": "geojson", "path": str(tmp_path / "b.geojson")},
            "t": {"reader": "csv", "path": str(tmp_path / "t.csv"),
                  "variables": {"gdp_per_capita": {"column": "gdp", "units": "USD"}}},
            "c": {"reader": "netcdf", "path": str(tmp_path / "coarse.nc"),
                  "variables": {"temperature": {"column": "air", "units": "degC"}}},
            "f": {"reader": "zarr", "path": str(tmp_path / "fine.zarr"),
                  "variables": {"precipitation": {"column": "rain", "units": "mm"}}},
        }}


def test_grid_mode_regrids_coarser_and_finer(tmp_path: Path) -> None:
    spec = _grid_mode_files(tmp_path)
    notices = Notices()
    ds = load_inputs(SourcesConfig.model_validate(spec), notices)
    assert ds["temperature"].dims == ("time", "lat", "lon") and ds.sizes["lat"] == 10
    assert list(ds["country"].values) == ["BRA", "KEN"]
    assert (ds["country_id"].values[:, :10] == 1).all() and (ds["country_id"].values[:, 10:] == 0).all()
    coarse = xr.open_dataset(tmp_path / "coarse.nc")["air"].values
    # coarser -> finer: every 1-degree cell inside a 5-degree cell takes its value.
    np.testing.assert_allclose(ds["temperature"].values[:3, 0:5, 5:10],
                               np.broadcast_to(coarse[:, 0, 1, None, None], (3, 5, 5)),
                               rtol=1e-6)
    # finer -> coarser: the area-weighted mean of the four 0.5-degree cells.
    fine = xr.open_zarr(tmp_path / "fine.zarr")["rain"].values.astype(np.float64)
    w = np.cos(np.deg2rad(np.arange(0.25, 10, 0.5)))  # ~ d(sin lat) for a small cell
    block, wb = fine[:, 6:8, 4:6], w[6:8, None] * np.ones(2)
    expected = (block * wb).sum(axis=(1, 2)) / wb.sum()
    np.testing.assert_allclose(ds["precipitation"].values[:3, 3, 2], expected, rtol=1e-5)
    # A yearly value holds from its December (no 2000 row: NaN before); USA has no
    # boundary -> notice.
    gdp = ds["gdp_per_capita"].sel(country="BRA").values
    assert np.isnan(gdp[:11]).all() and gdp[11] == 200
    assert any("USA" in n and "no boundary" in n for n in notices.lines)


def test_grid_mode_cube_via_cli(tmp_path: Path) -> None:
    spec = _grid_mode_files(tmp_path)
    cfg = tmp_path / "grid.toml"
    cfg.write_text(_toml(spec))
    out = tmp_path / "cube.nc"
    with pytest.raises(SystemExit) as exit_:
        main(["features", "build", "--config", str(cfg), "--cube", str(out), "--quiet"])
    assert exit_.value.code == 0
    with xr.open_dataset(out) as cube:
        assert cube["temp_mean_12m"].dims == ("time", "lat", "lon")
        assert cube.attrs["mode"] == "grid"
    # A grid in the wrong units: one line, exit code 2, no cube.
    _grid(np.arange(2.5, 10, 5.0), np.arange(2.5, 20, 5.0), units="K").to_netcdf(
        tmp_path / "kelvin.nc")
    spec["inputs"]["c"]["path"] = str(tmp_path / "kelvin.nc")
    cfg.write_text(_toml(spec))
    out.unlink()
    with pytest.raises(SystemExit) as exit_:
        main(["features", "build", "--config", str(cfg), "--cube", str(out)])
    assert exit_.value.code == 2 and not out.exists()


def _toml(spec: dict) -> str:
    RunConfig.model_validate({"sources": spec})  # the spec is a valid config
    return toml_text({"name": "grid", "sources": spec})


def test_region_mode_reduces_a_grid_series_to_countries(tmp_path: Path) -> None:
    spec = _grid_mode_files(tmp_path)
    spec.update(mode="region", grid=None)
    del spec["inputs"]["f"]
    ds = load_inputs(SourcesConfig.model_validate(spec))
    assert ds["temperature"].dims == ("time", "country")
    coarse = xr.open_dataset(tmp_path / "coarse.nc")["air"].values.astype(np.float64)
    # KEN covers 0..10 E: the coarse cells centred at 2.5 and 7.5 E, both latitude rows.
    w = np.cos(np.deg2rad([2.5, 7.5]))[:, None] * np.ones(2)
    expected = (coarse[:, :, 0:2] * w).sum(axis=(1, 2)) / w.sum()
    np.testing.assert_allclose(ds["temperature"].sel(country="KEN").values[:3], expected,
                               rtol=1e-6)
    assert np.isnan(ds["temperature"].sel(country="KEN").values[3:]).all()
    assert "USA" in ds["country"].values  # table codes without a boundary stay, no grid
    assert np.isnan(ds["temperature"].sel(country="USA")).all()
