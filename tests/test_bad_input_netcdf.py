"""Bad-input campaign, the world/NetCDF input path (`riskmodel run --inputs world.nc`):
truncated or bit-flipped files, and inputs with NaN/inf storms, duplicated or unordered
months, wrong units, huge values and wrong dtypes. Each ends in one clear `InputError` (or
the check that names the variable), never a traceback and never altered numbers scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from riskmodel.checks.coverage import check_coverage, missing_share
from riskmodel.checks.reader import open_inputs
from riskmodel.checks.run import run_checks
from riskmodel.checks.schema import INPUTS, check_time, check_variable
from riskmodel.cli import main
from riskmodel.config import ChecksConfig, load_config
from riskmodel.errors import InputError
from riskmodel.world import make_world

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
CFG = ChecksConfig()


@pytest.fixture(scope="module")
def world() -> xr.Dataset:
    cfg = load_config(ROOT / "configs" / "tiny.toml")
    return make_world(cfg.world, cfg.seed)


@pytest.fixture(scope="module")
def world_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, xr.Dataset]:
    """world.nc as `riskmodel world` writes it, its bytes, and what it reads back as."""
    out = tmp_path_factory.mktemp("world")
    with pytest.raises(SystemExit) as info:
        main(["world", "--config", str(ROOT / "configs" / "tiny.toml"), "--world-dir", str(out),
              "--quiet"])
    assert info.value.code == 0
    path = out / "world.nc"
    return path, path.read_bytes(), open_inputs(path)


def test_the_written_world_reads_back_whole(world_file, world: xr.Dataset) -> None:
    _, _, back = world_file
    for v in ("temperature", "gdp_per_capita", "country_id"):
        np.testing.assert_array_equal(back[v].values, world[v].values)


@SETTINGS
@given(cut=st.floats(0.0, 0.999))
def test_truncated_file_is_a_clear_error(tmp_path: Path, world_file, cut: float) -> None:
    _, raw, _ = world_file
    path = tmp_path / "cut.nc"
    path.write_bytes(raw[:int(len(raw) * cut)])
    with pytest.raises(InputError, match=f"^{path}: "):
        open_inputs(path)


@SETTINGS
@given(where=st.floats(0.0, 0.999), bit=st.integers(0, 7))
def test_flipped_bit_is_an_error_or_changes_nothing(tmp_path: Path, world_file, where: float,
                                                    bit: int) -> None:
    # world.nc carries fletcher32 checksums: a flip in data fails the read; a flip in
    # unused space changes nothing. What must never happen is altered numbers read back.
    _, raw, clean = world_file
    data = bytearray(raw)
    data[int(len(raw) * where)] ^= 1 << bit
    path = tmp_path / "flip.nc"
    path.write_bytes(bytes(data))
    try:
        got = open_inputs(path)
    except InputError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    for name in clean.variables:
        assert got[name].equals(clean[name]), name
        assert got[name].attrs == clean[name].attrs, name
    assert got.attrs == clean.attrs


def test_foreign_and_missing_files(tmp_path: Path) -> None:
    for name, data in (("empty.nc", b""), ("text.nc", "temperature,1\n".encode()),
                       ("latin1.nc", "präzipitation".encode("latin-1"))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match="not a readable NetCDF"):
            open_inputs(tmp_path / name)
    with pytest.raises(InputError, match="not found"):
        open_inputs(tmp_path / "absent.nc")


GRIDDED = [n for n, s in INPUTS.items() if s.dims == ("time", "lat", "lon")]
ANY_INPUT = sorted(INPUTS)


def fails_for(ds: xr.Dataset, subject: str) -> list[str]:
    """Schema failures about `subject` (one variable's checks, or the time axis)."""
    found = check_time(ds) if subject == "time" else check_variable(ds, subject)
    return [f.message for f in found if f.subject == subject and f.status == "fail"]


@SETTINGS
@given(name=st.sampled_from(ANY_INPUT), n=st.integers(1, 50), seed=st.integers(0, 99),
       sign=st.sampled_from([1.0, -1.0]))
def test_inf_storm_is_named(world: xr.Dataset, name: str, n: int, seed: int,
                            sign: float) -> None:
    ds = world.copy()
    v = ds[name].values.copy().ravel()
    idx = np.random.default_rng(seed).choice(v.size, size=min(n, v.size), replace=False)
    v[idx] = sign * np.inf
    ds[name] = (ds[name].dims, v.reshape(ds[name].shape), ds[name].attrs)
    assert any("infinite" in m for m in fails_for(ds, name))


@SETTINGS
@given(name=st.sampled_from(ANY_INPUT), value=st.one_of(
    st.floats(1e7, 1e300), st.floats(-1e300, -100.0)))
def test_huge_or_negative_values_are_named(world: xr.Dataset, name: str, value: float) -> None:
    spec = INPUTS[name]
    ds = world.copy()
    v = ds[name].values.astype(np.float64)  # float64: 1e300 stays finite
    v.flat[v.size // 2] = value
    ds[name] = (ds[name].dims, v, ds[name].attrs)
    bad = value > spec.hi or value < spec.lo
    assert bool(fails_for(ds, name)) == bad
    if bad:
        assert "plausible" in fails_for(ds, name)[0]


@pytest.mark.parametrize("name,change", [
    ("temperature", lambda v: v + 273.15),        # Kelvin labelled degC
    ("precipitation", lambda v: v * 1000.0),      # metres read as mm... the other way
    ("poverty_rate", lambda v: v * 100.0),        # percent instead of a share
    ("population", lambda v: v * 1e4),            # per km2 x area mix-up
])
def test_wrong_units_show_as_implausible_values(world: xr.Dataset, name: str, change) -> None:
    ds = world.copy()
    ds[name] = (ds[name].dims, change(ds[name].values), ds[name].attrs)
    assert any("wrong units?" in m for m in fails_for(ds, name))


@SETTINGS
@given(name=st.sampled_from(ANY_INPUT), units=st.text(max_size=8))
def test_units_attribute_must_match(world: xr.Dataset, name: str, units: str) -> None:
    ds = world.copy()
    ds[name] = ds[name].copy()
    ds[name].attrs = {**ds[name].attrs, "units": units}
    assert bool(fails_for(ds, name)) == (units != world[name].attrs["units"])


@pytest.mark.parametrize("dtype", ["int32", "U3", "object", "bool"])
def test_wrong_dtypes_are_named(world: xr.Dataset, dtype: str) -> None:
    ds = world.copy()
    ds["temperature"] = (ds["temperature"].dims,
                         np.nan_to_num(ds["temperature"].values).astype(dtype),
                         ds["temperature"].attrs)
    assert "expected floating point" in fails_for(ds, "temperature")[0]


@SETTINGS
@given(kind=st.sampled_from(["duplicate", "swap", "mid-month", "gap"]),
       i=st.integers(1, 178))
def test_duplicated_unordered_or_irregular_months(world: xr.Dataset, kind: str,
                                                  i: int) -> None:
    t = world["time"].values.copy()
    if kind == "duplicate":
        t[i] = t[i - 1]
    elif kind == "swap":
        t[i], t[i - 1] = t[i - 1], t[i]
    elif kind == "mid-month":
        t[i] = t[i] + np.timedelta64(14, "D")
    else:  # a month missing from the axis
        ds = world.isel(time=np.r_[0:i, i + 1:world.sizes["time"]])
        assert "gap in months" in fails_for(ds, "time")[0]
        return
    ds = world.assign_coords(time=t)
    msg = fails_for(ds, "time")
    expected = {"duplicate": "duplicated timestamp", "swap": "out of order",
                "mid-month": "not the first day"}[kind]
    assert msg and expected in msg[0]


@SETTINGS
@given(name=st.sampled_from(GRIDDED), share=st.floats(0.0, 1.0), seed=st.integers(0, 99))
def test_nan_storm_fails_coverage_exactly_when_above_the_limit(
        world: xr.Dataset, name: str, share: float, seed: int) -> None:
    ds = world.copy()
    last = ds.sizes["time"] - 1
    v = ds[name].values.copy()
    land = np.flatnonzero((ds["country_id"].values >= 0).ravel())
    rng = np.random.default_rng(seed)
    hit = rng.choice(land, size=int(round(share * land.size)), replace=False)
    v[last].ravel()[hit] = np.nan
    ds[name] = (ds[name].dims, v, ds[name].attrs)
    _, found = check_coverage(ds, [name], last, CFG.max_missing_share)
    true_share = missing_share(ds[name], last, ds["country_id"].values >= 0)
    assert true_share == pytest.approx(hit.size / land.size)
    assert bool(found) == (true_share > CFG.max_missing_share)
    assert fails_for(ds, name) == []  # NaN is a coverage matter, not a schema error


def test_run_checks_on_a_nan_storm_names_the_variable(world: xr.Dataset) -> None:
    ds = world.copy()
    v = ds["precipitation"].values.copy()
    v[-1, ::2] = np.nan  # every other row of the as-of month
    ds["precipitation"] = (ds["precipitation"].dims, v, ds["precipitation"].attrs)
    report = run_checks(ds, None, ds.sizes["time"] - 1, "2024-12", CFG)
    assert [(f.kind, f.subject) for f in report.failures()] == [("coverage", "precipitation")]
