"""The synthetic world: deterministic in (config, seed), contract-shaped, and honest about
under-reporting (identified <= incidence, detection rising with inspection coverage)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from riskmodel.config import WorldConfig
from riskmodel.world import make_world
from riskmodel.world.truth import detection_probability

SMALL = WorldConfig(ny=16, nx=20, resolution=0.5, n_countries=3, n_admin1=6, n_months=48)


@pytest.fixture(scope="module")
def world() -> xr.Dataset:
    return make_world(SMALL, seed=11)


def test_same_seed_identical(world: xr.Dataset) -> None:
    again = make_world(SMALL, seed=11)
    for name in world.data_vars:
        np.testing.assert_array_equal(world[name].values, again[name].values, err_msg=name)
    assert world.attrs["events"] == again.attrs["events"]


def test_different_seed_differs(world: xr.Dataset) -> None:
    other = make_world(SMALL, seed=12)
    for name in ("temperature", "precipitation", "identified_fl", "population"):
        assert not np.array_equal(np.nan_to_num(world[name].values),
                                  np.nan_to_num(other[name].values)), name


def test_contract(world: xr.Dataset) -> None:
    assert world.sizes["lat"] == SMALL.ny and world.sizes["lon"] == SMALL.nx
    assert np.all(np.diff(world["lat"].values) > 0) and np.all(np.diff(world["lon"].values) > 0)
    assert world["time"].dtype == np.dtype("datetime64[ns]")
    assert (world["time"].dt.day == 1).all()
    codes = world["country"].values
    assert all(len(c) == 3 and c.startswith("X") and c.isupper() for c in codes)
    land = world["land"].values.astype(bool)
    assert (world["country_id"].values[~land] == -1).all()
    assert (world["country_id"].values[land] >= 0).all()
    assert np.isnan(world["temperature"].values[:, ~land]).all()
    for name, var in world.data_vars.items():
        assert "units" in var.attrs and "long_name" in var.attrs or var.attrs.get("role") == \
            "region", name
        assert var.attrs.get("role") in {"driver", "label", "truth", "region"}, name
    assert world.attrs["synthetic"] == 1


def test_identified_never_exceed_incidence(world: xr.Dataset) -> None:
    for t in ("fl", "cl"):
        ident, inc = world[f"identified_{t}"].values, world[f"incidence_{t}"].values
        assert (ident <= inc).all()
        assert ident.sum() < inc.sum(), "some cases go unidentified"


def test_detection_rises_with_coverage(world: xr.Dataset) -> None:
    grid = np.linspace(0, 1, 21)
    assert np.all(np.diff(detection_probability(grid)) > 0)
    # and in the world itself: admin-1 units with more coverage identify a larger share
    cov = world["inspection_coverage"].values
    admin = world["admin1_id"].values
    inc = world["incidence_cl"].values + world["incidence_fl"].values
    ident = world["identified_cl"].values + world["identified_fl"].values
    shares, covs = [], []
    for a in range(world.sizes["admin1"]):
        m = admin == a
        if inc[:, m].sum() > 20:
            shares.append(ident[:, m].sum() / inc[:, m].sum())
            covs.append(cov[:, a].mean())
    assert np.corrcoef(covs, shares)[0, 1] > 0.5


def test_survey_sparse(world: xr.Dataset) -> None:
    s = world["survey_cl_prevalence"].values
    assert 0 < np.isfinite(s).mean() < 0.2
    assert np.nanmin(s) >= 0 and np.nanmax(s) <= 1


def test_tables_follow_targeting_contract(world: xr.Dataset) -> None:
    events = json.loads(world.attrs["events"])
    kinds = {e[2] for e in events}
    assert kinds <= {"observation", "direct_request", "cas", "ta_request", "ratification",
                     "tip_watchlist"}
    assert "observation" in kinds
    for iso, year, _, _ in events:
        assert iso in set(world["country"].values) and isinstance(year, int)
    for iso, pid, start, end, focus, factors in json.loads(world.attrs["programmes"]):
        assert start <= end and focus in {"FL", "CL", "FL+CL", "FPRW"}
        assert set(factors.split(";")) <= {"political_commitment", "root_causes",
                                           "vulnerable_populations", "knowledge",
                                           "financing", "innovation"}


def test_truth_never_a_feature() -> None:
    import features

    truth = {"incidence_fl", "incidence_cl", "true_rate_fl", "true_rate_cl",
             "true_prevalence_fl", "true_prevalence_cl", "detection_prob",
             "identified_fl", "identified_cl", "survey_cl_prevalence", "country_id",
             "admin1_id"}
    for f in features.CATALOGUE.values():
        assert not set(f.inputs) & truth, f.name
