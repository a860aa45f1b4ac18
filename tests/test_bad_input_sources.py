"""Bad-input campaign, the real-format readers of riskmodel.sources: CSV country tables and
GeoJSON boundaries fed random, truncated, non-UTF-8, NaN/inf-laden, duplicated and
unordered content, and NetCDF grids truncated or bit-flipped. Each read ends in a result
true to the file or one `InputError` line naming the file, never a traceback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.config import CsvSource, VariableMap
from riskmodel.errors import InputError
from riskmodel.sources.boundaries import Boundaries, read_geojson
from riskmodel.sources.grids import grid_variable, open_grid
from riskmodel.sources.notices import Notices
from riskmodel.sources.tables import read_csv_table

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
YEARS = (2000, 2003)
SOURCE = CsvSource.model_validate({
    "reader": "csv", "path": "t.csv",
    "variables": {"gdp": {"column": "gdp", "units": "USD"},
                  "poor": {"column": "poor_pct", "units": "1", "scale": 0.01}}})
CODES = st.sampled_from(["KEN", "BRA", "IND", "ken", "ZZZ", "K E", "", "KEN "])
YEARS_TXT = st.sampled_from(["2000", "2001", "2003", "1999", "2000.5", "20o1", "", "-1"])
VALUES = st.sampled_from(["1", "0", "2.5", "-3", "1e308", "1e400", "nan", "NaN", "inf",
                          "-inf", "", "3,5", "ten", "1e-320", "12345678901234567890"])
ROW = st.tuples(CODES, YEARS_TXT, VALUES, VALUES)


def one_line_error(exc: InputError, path: Path) -> None:
    msg = str(exc)
    assert msg.startswith(str(path)) and "\n" not in msg and "Traceback" not in msg, msg


def read(path: Path, data: bytes):  # type: ignore[no-untyped-def]
    path.write_bytes(data)
    try:
        return read_csv_table(path, SOURCE, YEARS, Notices())
    except InputError as exc:
        one_line_error(exc, path)
        return None


def file_values(rows: list[tuple[str, str, str, str]]) -> dict[tuple[str, int, str], float]:
    """What the file says, by (code, year, variable), for rows with a clean year (the
    reader trims spaces around cells)."""
    out: dict[tuple[str, int, str], float] = {}
    for code, year, gdp, poor in ((c.strip(), y.strip(), g, p) for c, y, g, p in rows):
        if year.isdigit():
            for var, text, scale in (("gdp", gdp, 1.0), ("poor", poor, 0.01)):
                try:
                    out[(code, int(year), var)] = float(text) * scale
                except ValueError:
                    pass
    return out


@SETTINGS
@given(rows=st.lists(ROW, max_size=8))
def test_csv_rows_read_true_or_refused(tmp_path: Path,
                                       rows: list[tuple[str, str, str, str]]) -> None:
    text = "iso3,year,gdp,poor_pct\n" + "".join(",".join(r) + "\n" for r in rows)
    ds = read(tmp_path / "t.csv", text.encode())
    if ds is None:
        return
    truth = file_values(rows)
    for var in ("gdp", "poor"):
        v = ds[var]
        assert not np.isinf(v.values).any()  # inf never passes as a number
        for code in v["country"].values:
            for year in v["year"].values:
                x = float(v.sel(country=code, year=year))
                if not math.isnan(x):  # every number read is the file's, at its key
                    assert x == pytest.approx(truth[(str(code), int(year), var)])


def test_duplicated_and_unordered_rows(tmp_path: Path) -> None:
    unordered = "iso3,year,gdp,poor_pct\nKEN,2002,3,\nBRA,2000,9,\nKEN,2000,1,\n"
    ds = read(tmp_path / "t.csv", unordered.encode())
    assert ds is not None and float(ds["gdp"].sel(country="KEN", year=2002)) == 3.0
    assert list(ds["year"].values) == [2000, 2001, 2002, 2003]
    dup = "iso3,year,gdp,poor_pct\nKEN,2000,1,\nKEN,2000,2,\n"
    with pytest.raises(InputError, match="t.csv"):
        read_csv_table(_write(tmp_path / "t.csv", dup.encode()), SOURCE, YEARS, Notices())


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


VALID = ("iso3,year,gdp,poor_pct\nKEN,2000,400,40\nKEN,2001,420,\nBRA,2001,3000,10.5\n"
         "BRA,2003,3100,9\n").encode()


@SETTINGS
@given(cut=st.integers(0, len(VALID)), at=st.integers(0, len(VALID) - 1),
       byte=st.sampled_from([0x80, 0xC3, 0xFF, 0x00, ord(","), ord("\n"), ord('"')]))
def test_csv_truncated_and_corrupted(tmp_path: Path, cut: int, at: int, byte: int) -> None:
    read(tmp_path / "t.csv", VALID[:cut])
    data = bytearray(VALID)
    data[at] = byte
    ds = read(tmp_path / "t.csv", bytes(data))
    if byte >= 0x80:  # a lone high byte is never valid UTF-8 here
        assert ds is None


GEOJSON = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"ISO_A3_EH": "KEN"},
     "geometry": {"type": "Polygon", "coordinates": [[[34, -4], [41, -4], [41, 4], [34, 4],
                                                      [34, -4]]]}},
    {"type": "Feature", "properties": {"ISO_A3_EH": "TZA"},
     "geometry": {"type": "MultiPolygon", "coordinates": [[[[30, -11], [40, -11], [40, -1],
                                                            [30, -1], [30, -11]]]]}}]}).encode()


@SETTINGS
@given(cut=st.integers(0, len(GEOJSON)), at=st.integers(0, len(GEOJSON) - 1),
       byte=st.integers(0, 255), junk=st.binary(max_size=64))
def test_geojson_truncated_corrupted_or_random(tmp_path: Path, cut: int, at: int, byte: int,
                                               junk: bytes) -> None:
    data = bytearray(GEOJSON)
    data[at] = byte
    for blob in (GEOJSON[:cut], bytes(data), junk):
        path = _write(tmp_path / "b.geojson", blob)
        try:
            got = read_geojson(path, "ISO_A3_EH", ("-99",), Notices())
        except InputError as exc:
            one_line_error(exc, path)
            continue
        assert isinstance(got, Boundaries) and len(got.codes) >= 1


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CF temperature grid with checksummed chunks."""
    import xarray as xr

    t = np.arange("2000-01", "2001-01", dtype="datetime64[M]").astype("datetime64[ns]")
    ds = xr.Dataset({"t2m": (("time", "lat", "lon"),
                             np.random.default_rng(0).normal(20, 5, (12, 8, 10)),
                             {"units": "degC"})},
                    coords={"time": t,
                            "lat": ("lat", np.arange(8) + 0.5, {"units": "degrees_north"}),
                            "lon": ("lon", np.arange(10) + 0.5, {"units": "degrees_east"})})
    path = tmp_path_factory.mktemp("grid") / "g.nc"
    ds.to_netcdf(path, encoding={"t2m": {"zlib": True, "fletcher32": True}})
    return path


# Found by this test: open_grid opens lazily, so a corrupt chunk is read later; the reader
# now reads the data inside grid_variable and turns that failure into an InputError too.
@SETTINGS
@given(where=st.floats(0.0, 0.999), bit=st.integers(0, 7), truncate=st.booleans())
def test_grid_truncated_or_flipped(tmp_path: Path, grid_file: Path, where: float, bit: int,
                                   truncate: bool) -> None:
    data = bytearray(grid_file.read_bytes())
    if truncate:
        data = data[:int(len(data) * where)]
    else:
        data[int(len(data) * where)] ^= 1 << bit
    path = _write(tmp_path / "g.nc", bytes(data))
    vmap = VariableMap.model_validate({"column": "t2m", "units": "degC"})
    try:
        da = grid_variable(open_grid(path, "netcdf"), path, vmap)
    except InputError as exc:
        one_line_error(exc, path)
        return
    except Exception as exc:  # reading the chunks happens after open; say what leaks
        pytest.fail(f"{type(exc).__name__} escaped the grid reader: {exc}")
    assert da.dims == ("time", "lat", "lon")
