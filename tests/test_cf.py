"""CF-1.8 compliance of the engine's NetCDF outputs and the rules of the shared writer.

The IOOS compliance checker (`compliance-checker --test=cf:1.8`, run here through its
Python API) must find no error and no warning in the tiny run's risk.nc and in a
(target, year, region) dataset as the real-world run writes it. The writer's rules are
also checked one by one, so a rule that breaks names itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from compliance_checker.runner import CheckSuite, ComplianceChecker

from riskmodel.io.netcdf import write_netcdf

CheckSuite.load_all_available_checkers()


def cf_issues(path: Path, tmp_path: Path) -> dict[str, list[str]]:
    """The checker's cf:1.8 messages for `path`: `errors` (its high priority) and
    `warnings` (medium), as its text report lists them."""
    report = tmp_path / f"{path.stem}-cf.json"
    ComplianceChecker.run_checker(str(path), ["cf:1.8"], 0, "normal",
                                  output_filename=str(report), output_format="json")
    result = json.loads(report.read_text())["cf:1.8"]
    return {kind: [f"{g['name']}: {m}" for g in result[key] for m in g["msgs"]]
            for kind, key in (("errors", "high_priorities"), ("warnings", "medium_priorities"))}


def region_year_risk() -> xr.Dataset:
    """A small risk dataset on (target, year, region) with region codes as strings, an
    integer year and no time dimension, as the real-world run writes it."""
    rng = np.random.default_rng(0)
    regions = np.array(["AFGr101", "AFGr102", "KENr105", "KENr106", "PERr112"], dtype=object)
    shape = (2, 3, len(regions))
    risk = rng.uniform(0.05, 0.9, shape).astype(np.float32)
    risk[0, 0, 1] = np.nan  # a region without inputs that year
    prob = {"units": "1", "valid_min": 0.0, "valid_max": 1.0}
    return xr.Dataset(
        {
            "risk": (("target", "year", "region"), risk,
                     {**prob, "long_name": "modelled probability of child or forced labour"}),
            "risk_lo": (("target", "year", "region"), risk * 0.8,
                        {**prob, "long_name": "lower bound of the risk interval"}),
            "population": (("year", "region"), rng.uniform(1e5, 1e7, shape[1:]),
                           {"units": "1", "long_name": "persons living in the region"}),
            "n_inputs": (("year", "region"), np.arange(15, dtype=np.int64).reshape(shape[1:]),
                         {"units": "1", "long_name": "inputs available",
                          "valid_min": 0, "valid_max": 40}),
        },
        coords={
            "target": ("target", np.array(["fl", "cl"], dtype=object),
                       {"long_name": "risk target"}),
            "year": ("year", np.array([2017, 2018, 2019], dtype=np.int64),
                     {"long_name": "calendar year of the score", "units": "1"}),
            "region": ("region", regions, {"long_name": "GDL sub-national region code"}),
            "region_iso3": ("region", np.array([r[:3] for r in regions], dtype=object),
                            {"long_name": "ISO 3166-1 alpha-3 code of the region's country"}),
        },
        attrs={"title": "riskmodel risk scores", "Conventions": "CF-1.8", "horizon": 1,
               "synthetic": False},
    )


def test_tiny_run_risk_nc_passes_cf_checker(tiny_run, tmp_path):
    issues = cf_issues(tiny_run["run_dir"] / "risk.nc", tmp_path)
    assert issues == {"errors": [], "warnings": []}


def test_region_year_layout_passes_cf_checker(tmp_path):
    ds = region_year_risk()
    write_netcdf(ds, tmp_path / "risk.nc")
    assert cf_issues(tmp_path / "risk.nc", tmp_path) == {"errors": [], "warnings": []}
    with xr.open_dataset(tmp_path / "risk.nc") as back:
        assert back["risk"].dims == ("target", "year", "region")
        assert list(back["region"].values) == list(ds["region"].values)
        assert list(back["year"].values) == [2017, 2018, 2019]
        assert back["year"].dtype == np.int32
        assert back.attrs["synthetic"] == 0
        np.testing.assert_array_equal(back["risk"].values, ds["risk"].values)
        np.testing.assert_array_equal(back["n_inputs"].values, ds["n_inputs"].values)


def test_checker_sees_what_the_writer_fixes(tmp_path):
    # The same dataset written by plain xarray fails: the checker and the test can fail.
    ds = region_year_risk().assign_attrs(synthetic=0)  # plain xarray refuses bool attrs
    ds.to_netcdf(tmp_path / "plain.nc", engine="netcdf4")
    issues = cf_issues(tmp_path / "plain.nc", tmp_path)
    assert any("int64" in m for m in issues["errors"]), issues
    assert any("history" in m for m in issues["warnings"]), issues


def test_writer_rules(tmp_path):
    ds = region_year_risk()
    ds["lat"] = ("lat", np.array([-1.0, 1.0]), {"units": "degrees_north",
                                                "standard_name": "latitude"})
    ds["time"] = ("time", np.array(["2024-11-01", "2024-12-01"], dtype="datetime64[ns]"),
                  {"standard_name": "time"})
    ds["field"] = (("lat", "time", "target"), np.zeros((2, 2, 2), np.float32),
                   {"units": "1", "long_name": "a gridded field", "valid_range": [0, 1]})
    before = ds.copy(deep=True)
    write_netcdf(ds, tmp_path / "x.nc")
    xr.testing.assert_identical(ds, before)  # the caller's dataset is left alone
    with xr.open_dataset(tmp_path / "x.nc", decode_times=False, mask_and_scale=False) as raw:
        assert raw["field"].dims == ("target", "time", "lat")  # other dims first, then T, Y
        assert raw["time"].dtype == np.int32 and raw["time"].attrs["units"].startswith("days")
        for coord in ("lat", "year", "time", "target", "region"):
            assert "_FillValue" not in raw[coord].attrs, coord
        assert "_FillValue" in raw["risk"].attrs  # float data keep their NaN fill
        assert "_FillValue" not in raw["n_inputs"].attrs
        assert raw["risk"].attrs["valid_max"].dtype == np.float32
        assert raw["n_inputs"].attrs["valid_max"].dtype == np.int32
        assert raw["field"].attrs["valid_range"].dtype == np.float32
        assert raw["n_inputs"].dtype == np.int32
        assert raw.attrs["horizon"].dtype == np.int32
        assert raw.attrs["history"] == "riskmodel: written by riskmodel.io.netcdf"
    with xr.open_dataset(tmp_path / "x.nc") as back:
        np.testing.assert_array_equal(back["time"].values, ds["time"].values)
    write_netcdf(ds, tmp_path / "y.nc", cf_order=False)  # a contract with its own order
    with xr.open_dataset(tmp_path / "y.nc") as back:
        assert back["field"].dims == ("lat", "time", "target")


def test_writer_keeps_history_and_refuses_what_does_not_fit(tmp_path):
    ds = region_year_risk().assign_attrs(history="made by a test")
    write_netcdf(ds, tmp_path / "h.nc")
    with xr.open_dataset(tmp_path / "h.nc") as back:
        assert back.attrs["history"] == "made by a test"
    big = ds.assign(n_inputs=ds["n_inputs"] + 2**40)
    with pytest.raises(ValueError, match="n_inputs.*32-bit"):
        write_netcdf(big, tmp_path / "big.nc")
    assert not (tmp_path / "big.nc").exists()
    bad = ds.assign(n_inputs=ds["n_inputs"].assign_attrs(valid_max=0.5))
    with pytest.raises(ValueError, match="n_inputs.*valid_max"):
        write_netcdf(bad, tmp_path / "bad.nc")
    assert list(tmp_path.glob(".*.tmp")) == []  # nothing half-written left behind


def test_writer_bytes_depend_only_on_values_and_attrs(tmp_path):
    ds = region_year_risk()
    write_netcdf(ds, tmp_path / "a.nc", compress=True, checksum=True)
    write_netcdf(ds, tmp_path / "b.nc", compress=True, checksum=True)
    assert (tmp_path / "a.nc").read_bytes() == (tmp_path / "b.nc").read_bytes()
    # Read back (encodings inherited from the file: chunks, filters, dtypes) and written
    # again without compression: the same bytes as the dataset written directly.
    with xr.open_dataset(tmp_path / "a.nc") as back:
        back.load()
        assert back["risk"].encoding.get("zlib") and back["risk"].encoding.get("fletcher32")
        write_netcdf(back, tmp_path / "c.nc")
    write_netcdf(ds, tmp_path / "d.nc")
    assert (tmp_path / "c.nc").read_bytes() == (tmp_path / "d.nc").read_bytes()
    assert (tmp_path / "c.nc").stat().st_size != (tmp_path / "a.nc").stat().st_size
