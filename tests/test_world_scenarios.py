"""Scenario worlds depart from the well-specified world in the one way each documents."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from riskmodel.config import config_hash, load_config
from riskmodel.world import make_world
from riskmodel.world.scenarios import SCENARIOS

CFG = load_config("configs/tiny.toml")


def _world(scenario: str) -> xr.Dataset:
    return make_world(CFG.world.model_copy(update={"scenario": scenario}), CFG.seed)


@pytest.fixture(scope="module")
def worlds() -> dict[str, xr.Dataset]:
    return {s: _world(s) for s in SCENARIOS}


def test_presets_name_every_scenario() -> None:
    for s in SCENARIOS:
        cfg = load_config(f"configs/scenarios/{s}.toml")
        assert cfg.world.scenario == s


def test_default_scenario_keeps_hashes_and_set_one_counts() -> None:
    assert "scenario" not in CFG.world.model_dump()
    drift = CFG.model_copy(update={"world": CFG.world.model_copy(update={"scenario": "drift"})})
    assert config_hash(drift) != config_hash(CFG)


def test_well_specified_is_the_default_world(worlds: dict[str, xr.Dataset]) -> None:
    base = make_world(CFG.world, CFG.seed)
    for name in base.data_vars:
        np.testing.assert_array_equal(worlds["well-specified"][name].values, base[name].values)
    assert "scenario" not in base.attrs
    assert worlds["drift"].attrs["scenario"] == "drift"


def test_hidden_detection_is_not_a_function_of_coverage(worlds: dict[str, xr.Dataset]) -> None:
    for name, varies in (("well-specified", False), ("hidden-detection", True)):
        w = worlds[name]
        d = w["detection_prob"].values[-1]
        unit = w["admin1_id"].values
        spread = max(float(np.nanmax(d[unit == a]) - np.nanmin(d[unit == a]))
                     for a in np.unique(unit[unit >= 0]))
        # One coverage per admin-1 unit and month: detection varies inside a unit only
        # through the unobserved factor.
        assert (spread > 0.05) == varies, (name, spread)


def test_proxies_lag_and_noise_what_is_observed(worlds: dict[str, xr.Dataset]) -> None:
    base, prox = worlds["well-specified"], worlds["proxies"]
    np.testing.assert_array_equal(prox["poverty_rate"].values[12:],
                                  base["poverty_rate"].values[:-12])
    land = base["land"].values.astype(bool)
    a = base["migrant_share"].values[:, land]
    b = prox["migrant_share"].values[:, land]
    assert not np.allclose(a, b)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.3      # a proxy, not noise
    # drivers the scenario leaves alone are stored as they are
    np.testing.assert_array_equal(prox["crop_share"].values, base["crop_share"].values)
    assert not np.allclose(prox["true_prevalence_fl"].values[:, land],
                           base["true_prevalence_fl"].values[:, land])


def test_drift_starts_where_the_world_starts(worlds: dict[str, xr.Dataset]) -> None:
    base, drift = worlds["well-specified"], worlds["drift"]
    land = base["land"].values.astype(bool)
    for t in ("fl", "cl"):
        first = base[f"true_prevalence_{t}"].values[0][land]
        np.testing.assert_allclose(drift[f"true_prevalence_{t}"].values[0][land], first,
                                   rtol=1e-6)
        assert not np.allclose(drift[f"true_prevalence_{t}"].values[-12:][:, land],
                               base[f"true_prevalence_{t}"].values[-12:][:, land])


def test_nonlinear_adds_threshold_terms(worlds: dict[str, xr.Dataset]) -> None:
    base, nl = worlds["well-specified"], worlds["nonlinear"]
    land = base["land"].values.astype(bool)
    p0, p1 = (w["true_prevalence_cl"].values[:, land].astype(np.float64) for w in (base, nl))
    ok = (p0 > 1e-4) & (p0 < 0.99) & (p1 > 1e-4) & (p1 < 0.99)   # float32 keeps the logit
    diff = ((np.log(p1) - np.log1p(-p1)) - (np.log(p0) - np.log1p(-p0)))[ok]
    # The added log-odds take few distinct values (sums of 0/1 interactions, standardised)
    levels = np.unique(np.round(diff, 2))
    assert 2 <= len(levels) <= 12, levels
    assert np.std(diff) == pytest.approx(1.0, rel=0.2)


def test_tiled_generator_refuses_scenarios() -> None:
    from riskmodel.errors import ConfigError
    from riskmodel.world.tiled import plan_world

    with pytest.raises(ConfigError, match="scenario"):
        plan_world(CFG.world.model_copy(update={"scenario": "nonlinear"}), 1)
