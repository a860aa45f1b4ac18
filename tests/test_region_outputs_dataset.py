"""The region risk dataset: assembly from arrays, the contract's checks, the CF NetCDF."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from region_fixtures import CODES, YEARS, region_risk  # noqa: E402

from riskmodel.errors import InputError  # noqa: E402
from riskmodel.regions import risk_dataset as rd  # noqa: E402


def test_percentile_rank_is_hazen_and_monotone() -> None:
    v = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert rd.percentile_rank(v, v)[:4].tolist() == [0.125, 0.375, 0.625, 0.875]
    assert np.isnan(rd.percentile_rank(v, v)[4])
    at = np.array([0.0, 1.5, 2.0, 9.0])
    assert rd.percentile_rank(v, at).tolist() == [0.0, 0.25, 0.375, 1.0]


def test_assembled_dataset_follows_the_contract() -> None:
    ds = region_risk()
    assert ds["region"].values.tolist() == list(CODES)
    assert ds["year"].dtype == np.int32 and ds["year"].values.tolist() == list(YEARS)
    assert ds["cl_rate"].attrs["units"] == "percent"
    assert ds["fl_rate"].attrs["units"] == "1e-5"
    assert ds.attrs["synthetic"] == 0 and ds.attrs["as_of"] == "2019"
    assert ds.attrs["Conventions"] == "CF-1.8"
    r = ds["risk"].sel(target="cl", year=2019).values
    scored = np.isfinite(r)
    # Percentiles of the 9 scored regions: (k + 0.5) / 9, each once.
    assert sorted(np.round(r[scored] * 9 - 0.5, 6).tolist()) == list(range(9))
    assert np.all(ds["risk_lo"].values[np.isfinite(ds["risk"].values)]
                  <= ds["risk"].values[np.isfinite(ds["risk"].values)])
    # Forced labour ranks the standard-detection estimate, not the detected rate.
    fl_std = ds["fl_rate_standard_detection"].sel(year=2019).values
    order = np.argsort(fl_std[np.isfinite(fl_std)])
    rf = ds["risk"].sel(target="fl", year=2019).values
    assert np.all(np.diff(rf[np.isfinite(rf)][order]) > 0)
    st = ds["score_status"]
    assert st.attrs["flag_meanings"].split()[0] == "scored"
    assert int(st.sel(target="cl", year=2019, region="TGOr103")) == 1
    assert ds["status_reason"].values[1] == "no outcome-model inputs for this country"


def test_unscored_regions_are_listed_with_their_reason() -> None:
    rows = rd.unscored_regions(region_risk())
    assert [(r["target"], r["region"]) for r in rows] == [("cl", "TGOr103"),
                                                          ("fl", "RUSr107")]
    assert rows[0]["reason"] == "no outcome-model inputs for this country"
    assert rows[0]["iso3"] == "TGO" and rows[0]["name"] == "Plateaux"


def test_driver_words_say_direction_and_units() -> None:
    ds = region_risk()
    words = rd.driver_words(ds, "cl", 2019)[0]
    c = ds["driver_contrib"].sel(target="cl", year=2019, region="GHAr101").values
    assert len(words) == 2  # rank 3 has no driver
    assert words[0].startswith("mean years of schooling, adults 25+ (msch) "
                               + ("raises" if c[0] > 0 else "lowers"))
    assert f"{c[0]:+.2f} percentage points" in words[0]


def test_missing_reason_is_refused() -> None:
    from region_fixtures import estimate
    rng = np.random.default_rng(1)
    cl = estimate(rng, 5.0, (2,), "m", "pp")
    reasons = cl.reasons.copy()
    reasons[1, 2] = ""
    with pytest.raises(InputError, match="GHAr103 year 2018: a reason is required"):
        _assemble({"cl": dataclasses.replace(cl, reasons=reasons)})
    reasons = cl.reasons.copy()
    reasons[0, 0] = "left out"
    with pytest.raises(InputError, match="GHAr101 year 2017"):
        _assemble({"cl": dataclasses.replace(cl, reasons=reasons)})


def _assemble(est: dict) -> xr.Dataset:
    from region_fixtures import FEATURE_NAMES, FEATURES, names
    iso3, nm = names()
    return rd.assemble_region_risk(
        years=YEARS, regions=CODES, iso3=iso3, region_name=nm, features=FEATURES,
        feature_long_name=FEATURE_NAMES, population=np.ones((3, len(CODES))),
        estimates=est, country_name={}, as_of=2019, config_hash="c", code_version="v", history="h")


def test_bad_arrays_are_refused_with_their_name() -> None:
    from region_fixtures import estimate
    cl = estimate(np.random.default_rng(1), 5.0, (), "m", "pp")
    with pytest.raises(InputError, match="cl rate has shape"):
        _assemble({"cl": dataclasses.replace(cl, rate=cl.rate[:, :3])})
    bad = cl.driver_feature.copy()
    bad[0, 0, 0] = 9
    with pytest.raises(InputError, match="driver_feature outside -1..3"):
        _assemble({"cl": dataclasses.replace(cl, driver_feature=bad)})
    with pytest.raises(InputError, match="interval does not contain"):
        _assemble({"cl": dataclasses.replace(cl, lo=cl.hi)})
    with pytest.raises(InputError, match="estimates for \\['xx'\\]"):
        _assemble({"cl": cl, "xx": cl})


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.assign_coords(region=["GHA101", *CODES[1:]]), "region\\[0\\] 'GHA101'"),
    (lambda d: d.assign_coords(iso3=("region", ["gh", *["GHA"] * 9])), "iso3\\[0\\]"),
    (lambda d: d.assign_coords(iso3=("region", ["GHB", *["GHA"] * 9])), "not on the country"),
    (lambda d: d.assign_attrs(synthetic=1), "synthetic is 1"),
    (lambda d: d.assign_attrs(as_of="2030"), "as_of '2030'"),
    (lambda d: d.drop_vars("population"), "missing variable 'population'"),
    (lambda d: d.assign(risk=d["risk"] * 2), "risk outside \\[0, 1\\]"),
    (lambda d: d.assign(risk_lo=d["risk_hi"] + 0.01), "risk_lo <= risk"),
    (lambda d: d.assign(score_status=d["score_status"] * 0), "score_status 0"),
    (lambda d: d.assign(cl_rate=d["cl_rate"].assign_attrs(units="%")), "cl_rate units"),
    (lambda d: d.assign_coords(region_name=("region", ["a\x07", *["b"] * 9])),
     "control character"),
])
def test_validate_names_what_is_wrong(change, message) -> None:  # type: ignore[no-untyped-def]
    ds = region_risk()
    with pytest.raises(InputError, match=message):
        rd.validate_region_risk(change(ds))
    no_history = ds.copy()
    no_history.attrs = {k: v for k, v in ds.attrs.items() if k != "history"}
    with pytest.raises(InputError, match="missing attribute 'history'"):
        rd.validate_region_risk(no_history)


def test_netcdf_round_trip_and_cf_checker(tmp_path: Path) -> None:
    path = rd.write_region_risk_nc(region_risk(), tmp_path / "risk.nc")
    with xr.open_dataset(path) as back:
        assert back["driver_feature"].dtype == np.int16  # no fill value: -1 stays -1
        assert int(back["driver_feature"].min()) == -1
        assert back["region"].values.tolist() == list(CODES)
        np.testing.assert_array_equal(back["risk"].values, region_risk()["risk"].values)
        assert "_FillValue" not in back["year"].encoding
    first = path.read_bytes()
    rd.write_region_risk_nc(region_risk(), tmp_path / "again.nc")
    assert (tmp_path / "again.nc").read_bytes() == first
    checker = Path(sys.executable).with_name("compliance-checker")
    if not checker.exists():
        pytest.skip("compliance-checker is not installed")
    out = subprocess.run([str(checker), "--test=cf:1.8", "--format=text", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert "All tests passed" in out.stdout, out.stdout[-2000:]
