"""Hostile input files outside the alert store that would silently change what is scored:
GeoJSON rings that rasterise to nothing, a scaled table value that overflows, and an
inputs NetCDF missing a variable or its `synthetic` attribute."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xarray as xr

from riskmodel.checks.reader import open_inputs
from riskmodel.config import VariableMap
from riskmodel.errors import InputError
from riskmodel.sources.boundaries import read_geojson
from riskmodel.sources.notices import Notices
from riskmodel.sources.tables import parse_value

ROOT = Path(__file__).resolve().parents[1]


def _fc(tmp: Path, ring: list) -> Path:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ISO_A3_EH": "KEN"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4],
                                                         [0, 0]]]}},
        {"type": "Feature", "properties": {"ISO_A3_EH": "BRA"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    path = tmp / "b.geojson"
    path.write_text(json.dumps(doc, allow_nan=True))
    return path


@pytest.mark.parametrize("ring, why", [
    ([[10, 0], [14, 4], [14, 0], [10, 4], [10, 0]], "crosses itself"),  # a bow tie
    ([[10, 0], [14, 4]], "a ring needs at least 4"),
    ([[10, 0], [12, 0], [14, 0], [10, 0]], "encloses no area"),
    ([[10, 0], [14, 0], [14, float("nan")], [10, 4], [10, 0]], "NaN"),
    ([[10, 0], [14, 0], [14, 4], [10, 4]], "not closed"),
], ids=["self-intersecting", "two-points", "zero-area", "nan", "open"])
def test_geojson_rings_that_rasterise_to_nothing_are_refused(tmp_path: Path, ring: list,
                                                              why: str) -> None:
    with pytest.raises(InputError, match=f"feature 1 \\(BRA\\).*{why}"):
        read_geojson(_fc(tmp_path, ring), "ISO_A3_EH", ("-99",), Notices())


def test_natural_earth_outlines_still_read() -> None:
    path = ROOT / "riskmodel/datasets/natural_earth_110m/ne_110m_admin_0_countries.geojson"
    b = read_geojson(path, "ISO_A3_EH", ("-99",), Notices())
    assert "SDN" in b.codes  # its outline touches itself; that is not a crossing


def test_scaled_overflow_is_not_finite() -> None:
    vm = VariableMap(column="x", units="1", scale=1000)
    assert parse_value("1e308", vm) == "'1e308' x scale 1000 is not a finite number"
    assert parse_value("2.5", vm) == 2500.0


@pytest.fixture(scope="module")
def inputs_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, xr.Dataset]:
    from riskmodel.config import load_config
    from riskmodel.world import make_world
    cfg = load_config(ROOT / "configs" / "tiny.toml")
    world = make_world(cfg.world, cfg.seed)
    path = tmp_path_factory.mktemp("in") / "world.nc"
    world.to_netcdf(path)
    return path, world


def test_inputs_missing_a_variable_are_refused(inputs_file, tmp_path: Path) -> None:
    path, world = inputs_file
    assert open_inputs(path).attrs["synthetic"] == 1
    world.drop_vars("crop_share").to_netcdf(tmp_path / "less.nc")
    with pytest.raises(InputError, match="crop_share missing"):
        open_inputs(tmp_path / "less.nc")


@pytest.mark.parametrize("value", [None, "yes", 2])
def test_inputs_synthetic_attribute_is_strict(inputs_file, tmp_path: Path, value) -> None:
    _, world = inputs_file
    w = world.copy()
    if value is None:
        del w.attrs["synthetic"]
    else:
        w.attrs["synthetic"] = value
    w.to_netcdf(tmp_path / "w.nc")
    with pytest.raises(InputError, match="'synthetic'"):
        open_inputs(tmp_path / "w.nc")
