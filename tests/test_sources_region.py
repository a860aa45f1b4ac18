"""Region mode from real-format files: country and admin-year tables together, the
`[sources]` config checks, and `features build` failing with one line and no file on a
malformed table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import features
from riskmodel.cli import main
from riskmodel.config import SourcesConfig, load_config
from riskmodel.errors import ConfigError
from riskmodel.sources import build_country_cube, load_inputs


def _write_tables(tmp_path: Path) -> None:
    rows = ["iso3,year,gdp,tier"]
    rows += [f"{c},{y},{g * (1 + 0.1 * (y - 2000))},{t}"
             for c, g, t in (("KEN", 100.0, 2), ("BRA", 300.0, 3)) for y in range(2000, 2004)]
    (tmp_path / "country.csv").write_text("\n".join(rows) + "\n")
    admin = ["code,year,coverage"]
    admin += [f"{a},{y},{0.1 * i + 0.01 * (y - 2000)}"
              for i, a in enumerate(["KEN-01", "KEN-02", "BRA-01"]) for y in range(2000, 2004)]
    (tmp_path / "admin.csv").write_text("\n".join(admin) + "\n")


def _config(tmp_path: Path, *, admin: bool) -> str:
    text = f"""
name = "regions"
[sources]
start_year = 2000
end_year = 2003
[sources.inputs.c]
reader = "csv"
path = "{tmp_path / 'country.csv'}"
[sources.inputs.c.variables]
gdp_per_capita = {{ column = "gdp", units = "USD" }}
tip_watchlist = {{ column = "tier", units = "1", categories = {{ "1" = 0, "2" = 0, "3" = 1, "4" = 1 }} }}
"""
    if admin:
        text += f"""
[sources.inputs.a]
reader = "csv"
path = "{tmp_path / 'admin.csv'}"
key = "admin1"
code_column = "code"
[sources.inputs.a.variables]
inspection_coverage = {{ column = "coverage", units = "1" }}
"""
    path = tmp_path / "regions.toml"
    path.write_text(text)
    return str(path)


def test_admin_year_tables_put_the_cube_on_admin1(tmp_path: Path) -> None:
    _write_tables(tmp_path)
    inputs = load_inputs(load_config(_config(tmp_path, admin=True)))
    assert list(inputs["admin1"].values) == ["BRA-01", "KEN-01", "KEN-02"]
    assert list(inputs["admin1_country"].values) == [0, 1, 1]
    assert inputs.sizes["time"] == 48
    cube = features.build_cube(inputs)
    assert cube["gdp_growth"].dims == ("time", "admin1")
    # Country tables repeat over their admin-1 units; admin-1 tables keep their own values.
    # In June 2002 the latest complete year is 2001 (gdp x1.1), a year before it 2000.
    growth = cube["gdp_growth"].sel(time="2002-06-01")
    np.testing.assert_allclose(growth.sel(admin1="KEN-01"), np.log(1.1 / 1.0), rtol=1e-6)
    assert growth.sel(admin1="KEN-01") == growth.sel(admin1="KEN-02")
    cov = cube["inspection_coverage"].sel(time="2001-03-01")
    np.testing.assert_allclose(cov.values, [0.20, 0.0, 0.10], atol=1e-7)
    assert float(cube["tip_watchlist"].sel(time="2001-03-01", admin1="BRA-01")) == 1.0


def test_a_year_is_used_from_its_december_plus_the_publication_lag(tmp_path: Path) -> None:
    _write_tables(tmp_path)
    path = _config(tmp_path, admin=False)
    gdp = load_inputs(load_config(path))["gdp_per_capita"].sel(country="KEN")
    assert np.isnan(gdp.sel(time="2000-11-01"))  # no 1999 row
    assert float(gdp.sel(time="2000-12-01")) == 100.0
    assert float(gdp.sel(time="2001-11-01")) == 100.0
    assert float(gdp.sel(time="2001-12-01")) == pytest.approx(110.0)
    Path(path).write_text(Path(path).read_text().replace(
        'path = "' + str(tmp_path / "country.csv") + '"',
        'path = "' + str(tmp_path / "country.csv") + '"\nlag_years = 1'))
    lagged = load_inputs(load_config(path))["gdp_per_capita"].sel(country="KEN")
    assert np.isnan(lagged.sel(time="2000-12-01"))
    assert float(lagged.sel(time="2001-12-01")) == 100.0  # the 2000 value, a year on


def test_country_cube_is_yearly(tmp_path: Path) -> None:
    _write_tables(tmp_path)
    cube = build_country_cube(_config(tmp_path, admin=False))
    assert cube.sizes == {"year": 4, "country": 2}
    assert np.isnan(cube["gdp_growth"].sel(year=2000)).all()
    np.testing.assert_allclose(cube["gdp_growth"].sel(year=2001, country="BRA"),
                               np.log(1.1), rtol=1e-6)
    with pytest.raises(ConfigError, match="country-level"):
        build_country_cube(_config(tmp_path, admin=True))


@pytest.mark.parametrize("change, expected", [
    ({"end_year": 1990}, "end_year (1990) is before start_year (2000)"),
    ({"boundaries": "c"}, "boundaries = 'c' is not a geojson input"),
    ({"mode": "grid"}, "grid mode needs [sources.grid] and `boundaries`"),
    ({"inputs": {"c": {"reader": "csv", "path": "a.csv",
                       "variables": {"x": {"column": "a", "units": "1"}}},
                 "d": {"reader": "csv", "path": "b.csv",
                       "variables": {"x": {"column": "b", "units": "1"}}}}},
     "variable 'x' comes from both inputs 'c' and 'd'"),
    ({"inputs": {"c": {"reader": "excel", "path": "a.xlsx"}}}, "inputs.c"),
])
def test_sources_config_errors(change: dict, expected: str) -> None:
    spec = {"start_year": 2000, "end_year": 2003,
            "inputs": {"c": {"reader": "csv", "path": "a.csv",
                             "variables": {"x": {"column": "a", "units": "1"}}}}}
    spec.update(change)
    with pytest.raises(Exception) as err:
        SourcesConfig.model_validate(spec)
    assert expected in str(err.value)


def test_unknown_excluded_feature_is_a_config_error(tmp_path: Path) -> None:
    _write_tables(tmp_path)
    path = _config(tmp_path, admin=False)
    text = Path(path).read_text().replace("end_year = 2003",
                                          'end_year = 2003\nexclude_features = ["nope"]')
    Path(path).write_text(text)
    with pytest.raises(ConfigError, match=r"unknown feature\(s\) \['nope'\]"):
        build_country_cube(path)


def test_malformed_table_one_line_and_no_cube(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _write_tables(tmp_path)
    with (tmp_path / "country.csv").open("a") as fh:
        fh.write("KEN,2001,5,2\n")  # a second row for KEN 2001
    out = tmp_path / "cube.nc"
    with pytest.raises(SystemExit) as exit_:
        main(["features", "build", "--config", _config(tmp_path, admin=False),
              "--cube", str(out)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "country.csv: rows 3 and 10 both have key KEN 2001" in err[0]
    assert not out.exists() and not list(tmp_path.glob(".cube.nc*"))


def test_build_notices_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_tables(tmp_path)
    out = tmp_path / "cube.nc"
    with pytest.raises(SystemExit) as exit_:
        main(["features", "build", "--config", _config(tmp_path, admin=False),
              "--cube", str(out)])
    assert exit_.value.code == 0 and out.exists()
    err = capsys.readouterr().err
    assert "notice: feature drought_spatial_lag skipped: grid-only" in err
    with xr.open_dataset(out) as cube:
        assert "drought_spatial_lag" in json.loads(cube.attrs["skipped_features"])


def test_cli_builds_the_admin1_cube(tmp_path: Path) -> None:
    _write_tables(tmp_path)
    out = tmp_path / "cube.nc"
    with pytest.raises(SystemExit) as exit_:
        main(["features", "build", "--config", _config(tmp_path, admin=True),
              "--cube", str(out), "--quiet"])
    assert exit_.value.code == 0
    with xr.open_dataset(out) as cube:
        assert cube["inspection_coverage"].dims == ("time", "admin1")
        assert cube.sizes["time"] == 48
