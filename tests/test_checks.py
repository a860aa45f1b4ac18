"""Input checks on small hand-made and tiny-world datasets: PSI arithmetic, drift against a
saved training distribution, freshness, coverage, the report's exit codes and overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from riskmodel.checks.coverage import check_coverage, check_feature_coverage
from riskmodel.checks.drift import bin_shares, check_drift, feature_distribution, psi
from riskmodel.checks.findings import CheckReport, Finding
from riskmodel.checks.freshness import check_freshness
from riskmodel.checks.rows import FeatureRows
from riskmodel.checks.run import reference_distribution, run_checks
from riskmodel.checks.schema import check_schema, required_inputs
from riskmodel.config import ChecksConfig, load_config
from riskmodel.errors import (EXIT_BAD_INPUT, EXIT_DRIFT, EXIT_STALE_INPUT, DriftError,
                              InputError, StaleInputError)
from riskmodel.models.fitting import training_months
from riskmodel.world import make_world
from test_ops_support import ROOT

CFG = ChecksConfig()


@pytest.fixture(scope="module")
def world() -> xr.Dataset:
    cfg = load_config(ROOT / "configs" / "tiny.toml")
    return make_world(cfg.world, cfg.seed)


def cube_of(values: np.ndarray, country_id: np.ndarray) -> xr.Dataset:
    """A one-feature cube (time, lat, lon) with sea cells NaN."""
    v = np.where(country_id[None] >= 0, values, np.nan).astype(np.float32)
    t = pd.date_range("2000-01-01", periods=v.shape[0], freq="MS")
    return xr.Dataset({"f": (("time", "lat", "lon"), v)}, coords={"time": t})


def test_psi_zero_for_same_distribution_and_known_value() -> None:
    e = np.array([0.25, 0.25, 0.25, 0.25])
    assert psi(e, 0.0, e, 0.0) == pytest.approx(0.0)
    a = np.array([0.1, 0.2, 0.3, 0.4])
    expected = float(np.sum((a - e) * np.log(a / e)))
    assert psi(e, 0.0, a, 0.0) == pytest.approx(expected)
    # an empty bin gives a large but finite value, and missingness counts as a bin
    assert np.isfinite(psi(e, 0.0, np.array([1.0, 0, 0, 0]), 0.0))
    assert psi(e, 0.0, e, 0.5) > 0.25


def test_bin_shares_use_reference_edges() -> None:
    shares, missing = bin_shares(np.array([0.0, 1.0, 2.0, np.nan]), np.array([0.5, 1.5]))
    assert shares.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert missing == pytest.approx(0.25)


def test_drift_fails_on_a_shifted_month_and_passes_a_typical_one() -> None:
    rng = np.random.default_rng(0)
    cid = np.zeros((10, 10), dtype=np.int32)
    cid[0, :] = -1  # a row of sea
    values = rng.normal(size=(40, 10, 10))
    values[-1] += 6.0  # the last month far outside anything seen
    cube = cube_of(values, cid)
    ref = feature_distribution(cube, np.arange(0, 36), cid)
    assert ref["features"]["f"]["missing"] == 0.0  # sea is not counted as missing
    n, found, values_psi = check_drift(FeatureRows.from_cube(cube, 37, cid), ref, CFG)
    assert n == 1 and not [f for f in found if f.status == "fail"]
    n, found, values_psi = check_drift(FeatureRows.from_cube(cube, 39, cid), ref, CFG)
    assert [f.subject for f in found if f.status == "fail"] == ["f"]
    assert values_psi["f"] > 2 * ref["features"]["f"]["monthly_psi_max"]


def test_drift_fails_for_a_feature_without_reference() -> None:
    cid = np.zeros((4, 4), dtype=np.int32)
    cube = cube_of(np.ones((3, 4, 4)), cid)
    ref = {"features": {}}
    _, found, _ = check_drift(FeatureRows.from_cube(cube, 2, cid), ref, CFG)
    assert found[0].status == "fail" and "no training distribution" in found[0].message


def test_freshness_names_the_stale_input_and_honours_overrides(world: xr.Dataset) -> None:
    w = world.copy()
    w["poverty_rate"] = w["poverty_rate"].where(w["time"] < w["time"][-3])
    last = w.sizes["time"] - 1
    n, found = check_freshness(w, ["poverty_rate", "temperature"], last, CFG)
    assert n == 2 and [f.subject for f in found] == ["poverty_rate"]
    assert found[0].value == 3 and "2024-09" in found[0].message
    lenient = CFG.model_copy(update={"max_age_by_variable": {"poverty_rate": 3}})
    assert check_freshness(w, ["poverty_rate"], last, lenient)[1] == []


def test_coverage_counts_land_only_and_features_beyond_training(world: xr.Dataset) -> None:
    w = world.copy()
    last = w.sizes["time"] - 1
    assert check_coverage(w, ["temperature"], last, 0.05)[1] == []  # sea is NaN anyway
    land = w["country_id"].values >= 0
    t = w["temperature"].values.copy()
    t[last][land & (np.arange(land.shape[1])[None, :] < 16)] = np.nan  # about half the land
    w["temperature"] = (w["temperature"].dims, t, w["temperature"].attrs)
    found = check_coverage(w, ["temperature"], last, 0.05)[1]
    assert found[0].subject == "temperature" and 0.2 < found[0].value < 0.8
    # a feature missing by meaning as often as in training is fine; more is not
    cid = w["country_id"].values
    cube = cube_of(np.where(np.arange(4)[:, None, None] < 3, np.nan, 1.0)
                   * np.ones((4, *cid.shape)), cid)
    rows = FeatureRows.from_cube(cube, 2, cid)
    ref = {"features": {"f": {"missing": 1.0}}}
    assert check_feature_coverage(rows, ref, 0.05) == (1, [])
    ref = {"features": {"f": {"missing": 0.0}}}
    assert check_feature_coverage(rows, ref, 0.05)[1][0].subject == "f"


def test_schema_of_the_synthetic_world_is_clean(world: xr.Dataset) -> None:
    from features.cube import plan_features

    n, found = check_schema(world, required_inputs(plan_features(world)[0]))
    assert n > 20 and found == []


def test_report_raises_by_kind_and_overrides_let_through() -> None:
    def report(kind: str, overrides: list[str] = []) -> CheckReport:
        r = CheckReport(as_of="2024-12", overrides=overrides)
        r.add(kind, 1, [Finding(kind, "x", "fail", "bad")])  # type: ignore[arg-type]
        return r

    for kind, err, code in (("schema", InputError, EXIT_BAD_INPUT),
                            ("freshness", StaleInputError, EXIT_STALE_INPUT),
                            ("coverage", InputError, EXIT_BAD_INPUT),
                            ("drift", DriftError, EXIT_DRIFT)):
        with pytest.raises(err) as info:
            report(kind).raise_for("checks.json")
        assert info.value.exit_code == code and "checks.json" in str(info.value)
    r = report("freshness", ["allow_stale"])
    r.raise_for()
    assert r.status == "overridden" and r.warnings()[0].subject == "x"
    with pytest.raises(InputError):  # schema problems cannot be overridden
        report("schema", ["allow_stale", "allow_missing", "allow_drift"]).raise_for()
    # schema first: the most basic failure decides the exit code
    r = report("drift")
    r.add("schema", 1, [Finding("schema", "time", "fail", "dup")])
    with pytest.raises(InputError):
        r.raise_for()


def test_fallback_reference_equals_saved_one(world: xr.Dataset) -> None:
    import features

    cube = features.build_cube(world)
    labels = [str(pd.Timestamp(t).strftime("%Y-%m")) for t in world["time"].values]
    months = training_months(world.sizes["time"], 3)
    saved = feature_distribution(cube, months, world["country_id"].values)
    meta = {"training_window": [labels[months[0]], labels[months[-1]]]}
    ref, source = reference_distribution([meta], cube, world, labels.__getitem__, 10)
    assert ref == saved and "recomputed" in source
    ref, source = reference_distribution([{**meta, "feature_distribution": saved}], cube,
                                         world, labels.__getitem__, 10)
    assert source == "saved with the model"
    # without the whole cube (block-wise scoring) there is nothing to recompute it from
    ref, source = reference_distribution([meta], None, world, labels.__getitem__, 10)
    assert ref is None and "block by block" in source
    ref, source = reference_distribution([meta], cube, world, labels.__getitem__, 10)
    last = world.sizes["time"] - 1
    rows = FeatureRows.from_cube(cube, last, world["country_id"].values)
    report = run_checks(world, rows, last, labels[-1], CFG, reference=ref, source=source)
    assert report.status in ("ok", "warnings") and report.checked["drift"] == len(cube)
    assert set(report.psi) == set(rows.names) and "recomputed" in report.notes[0]
