"""Broken copies of every shipped file the region cube reads are refused with one line
naming the file, row (or variable) and what was expected; the intact files read."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from riskmodel.config import CsvSource, GridSource, load_config
from riskmodel.datasets import dataset_path
from riskmodel.errors import InputError
from riskmodel.sources.codes import is_country_code
from riskmodel.sources.grids import grid_variable, open_grid
from riskmodel.sources.notices import Notices
from riskmodel.sources.tables import read_csv_table

ROOT = Path(__file__).resolve().parents[1]
SOURCES = load_config(ROOT / "configs" / "real.toml").sources
assert SOURCES is not None
CSV_INPUTS = sorted(n for n, s in SOURCES.inputs.items() if isinstance(s, CsvSource))
YEARS = (1940, 2030)


def _source(name: str) -> CsvSource:
    s = SOURCES.inputs[name]
    assert isinstance(s, CsvSource)
    return s


def _copy(tmp_path: Path, name: str) -> tuple[Path, list[str]]:
    src = dataset_path(_source(name).path.removeprefix("dataset:"))
    path = tmp_path / src.name
    shutil.copyfile(src, path)
    return path, path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _refused(path: Path, name: str, pattern: str) -> str:
    with pytest.raises(InputError) as err:
        read_csv_table(path, _source(name), YEARS, Notices())
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path)), message
    assert re.search(pattern, message), message
    return message


def _first_value_column(name: str, header: list[str]) -> tuple[int, str]:
    s = _source(name)
    col = next(v.column for v in s.variables.values() if v.categories is None)
    assert col is not None
    return header.index(col), col


@pytest.mark.parametrize("name", CSV_INPUTS)
def test_intact_file_reads(name: str) -> None:
    path = dataset_path(_source(name).path.removeprefix("dataset:"))
    table = read_csv_table(path, _source(name), YEARS, Notices())
    assert set(table.data_vars) == set(_source(name).variables)


@pytest.mark.parametrize("name", CSV_INPUTS)
def test_non_numeric_value(tmp_path: Path, name: str) -> None:
    path, lines = _copy(tmp_path, name)
    header = lines[0].split(",")
    j, col = _first_value_column(name, header)
    fields = lines[5].split(",")
    fields[j] = "n/a"
    lines[5] = ",".join(fields)
    _write(path, lines)
    _refused(path, name, rf"row 6, column {col}: 'n/a' is not a number")


@pytest.mark.parametrize("name", CSV_INPUTS)
def test_duplicate_key(tmp_path: Path, name: str) -> None:
    path, lines = _copy(tmp_path, name)
    _write(path, lines + [lines[3]])
    _refused(path, name, rf"rows 4 and {len(lines) + 1} both have key")


@pytest.mark.parametrize("name", CSV_INPUTS)
def test_unknown_code(tmp_path: Path, name: str) -> None:
    path, lines = _copy(tmp_path, name)
    s = _source(name)
    header = lines[0].split(",")
    fields = lines[2].split(",")
    if s.key == "region":
        fields[header.index(s.code_column)] = "AFG r101"
        expected = r"row 3, column gdlcode: malformed region code 'AFG r101'"
    else:
        assert not is_country_code("BBB")
        fields[header.index(s.code_column)] = "BBB"
        expected = rf"row 3, column {s.code_column}: unknown ISO 3166-1 alpha-3 code 'BBB'"
    lines[2] = ",".join(fields)
    _write(path, lines)
    _refused(path, name, expected)


def test_gdl_region_whose_country_changes(tmp_path: Path) -> None:
    path, lines = _copy(tmp_path, "gdl")
    fields = lines[40].split(",")
    fields[1] = "PAK"  # a row of AFGr101 now says Pakistan
    code = fields[0]
    lines[40] = ",".join(fields)
    _write(path, lines)
    _refused(path, "gdl", rf"row 41: region {code} has country PAK .*but row \d+ gave AFG")


def test_gdl_unknown_country(tmp_path: Path) -> None:
    path, lines = _copy(tmp_path, "gdl")
    lines[7] = lines[7].replace(",AFG,", ",AFX,", 1)
    _write(path, lines)
    _refused(path, "gdl", r"row 8, column iso3: unknown ISO 3166-1 alpha-3 code 'AFX'")


def test_ucdp_unknown_code_and_bad_year(tmp_path: Path) -> None:
    path, lines = _copy(tmp_path, "ucdp")
    lines[10] = "BBB," + lines[10].split(",", 1)[1]
    lines[11] = lines[11].replace(",", ",19x", 1)
    _write(path, lines)
    _refused(path, "ucdp", r"row 11, column iso3: unknown ISO 3166-1 alpha-3 code 'BBB'; "
                           r"row 12, column year: '19x\d+' is not a year")


def _grid(name: str) -> tuple[GridSource, Path]:
    s = SOURCES.inputs[name]
    assert isinstance(s, GridSource)
    return s, dataset_path(s.path.removeprefix("dataset:"))


@pytest.mark.parametrize("name", ["gpw", "hadcrut4"])
def test_intact_grid_reads(name: str) -> None:
    s, path = _grid(name)
    ds = open_grid(path, s.reader, decode_times=s.decode_times)
    try:
        for vmap in s.variables.values():
            da = grid_variable(ds, path, vmap)
            assert da.dims == ("lat", "lon")
    finally:
        ds.close()


def test_gpw_with_wrong_dims_is_refused(tmp_path: Path) -> None:
    s, path = _grid("gpw")
    with xr.open_dataset(path) as ds:
        bad = ds.load().expand_dims(band=[1, 2])
    out = tmp_path / path.name
    bad.to_netcdf(out)
    (vmap,) = s.variables.values()
    ds = open_grid(out, "netcdf")
    with pytest.raises(InputError, match=rf"^{re.escape(str(out))}: variable population_count "
                                         r"has dims \('band', 'lat', 'lon'\); expected"):
        grid_variable(ds, out, vmap)
    ds.close()


def test_gpw_with_wrong_units_and_truncated_file_are_refused(tmp_path: Path) -> None:
    s, path = _grid("gpw")
    with xr.open_dataset(path) as ds:
        bad = ds.load()
    bad["population_count"].attrs["units"] = "km-2"
    out = tmp_path / path.name
    bad.to_netcdf(out)
    (vmap,) = s.variables.values()
    ds = open_grid(out, "netcdf")
    with pytest.raises(InputError, match=r"variable population_count has units 'km-2', "
                                         r"expected '1'"):
        grid_variable(ds, out, vmap)
    ds.close()
    cut = tmp_path / "cut.nc"
    cut.write_bytes(path.read_bytes()[:20_000])
    with pytest.raises(InputError, match=r"cut.nc: (cannot open as netcdf|variable "
                                         r"population_count: data cannot be read)"):
        grid_variable(open_grid(cut, "netcdf"), cut, vmap)


def test_hadcrut_that_is_not_a_climatology_is_refused(tmp_path: Path) -> None:
    s, path = _grid("hadcrut4")
    with xr.open_dataset(path, decode_times=False) as ds:
        bad = ds.load().isel(time=slice(0, 6))
    out = tmp_path / path.name
    bad.to_netcdf(out)
    (vmap,) = s.variables.values()
    ds = open_grid(out, "netcdf", decode_times=False)
    with pytest.raises(InputError, match=r"declared a climatology but has 6 time steps"):
        grid_variable(ds, out, vmap)
    ds.close()
    assert np.isfinite(bad["air"].values).any()
