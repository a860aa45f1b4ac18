"""Opportunity ranking with modelled risk: weighting, latest time, order, reasons."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from riskmodel.errors import InputError
from riskmodel.targeting import assess, country_risk, open_risk, rank_opportunities
from riskmodel.targeting.inputs import ACCELERATION_FACTORS, Event, Programme


def _load_tiny_risk():
    path = Path(__file__).parent / "data" / "targeting" / "risk_grid.py"
    spec = importlib.util.spec_from_file_location("targeting_risk_grid", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tiny_risk


tiny_risk = _load_tiny_risk()  # see tests/data/targeting/risk_grid.py for its numbers
ALL = frozenset(ACCELERATION_FACTORS)
EVENTS = [
    Event("XAA", 2022, "observation", "C029"), Event("XAA", 2022, "cas", "C029"),
    Event("XAA", 2021, "ta_request", "C105"),   # need 1.0, TA 1.0, no programme 1.0
    Event("XAB", 2023, "observation", "C105"),  # need .75, no TA .5, unfocused .6
    Event("XAC", 2021, "observation", "C029"),
    Event("XAC", 2021, "ta_request", "C029"),   # not in the risk grid
    Event("XAD", 2021, "observation", "C138"),  # focused, all six factors: no gap
    Event("XAE", 2021, "observation", "C182"),
    Event("XAE", 2022, "ta_request", "C182"),   # focused, 2 of 6 factors missing
]
PROGRAMMES = [
    Programme("XAB", "B1", 2020, 2024, "CL", frozenset({"knowledge"})),
    Programme("XAD", "D1", 2020, 2024, "CL", ALL),
    Programme("XAE", "E1", 2020, 2024, "FL+CL", ALL - {"financing", "innovation"}),
]


def test_country_risk_is_population_weighted_at_the_latest_time() -> None:
    fl = country_risk(tiny_risk(), "fl")
    assert fl == {"XAA": 0.53125, "XAB": 0.75, "XAE": 0.5}  # XZZ: no population
    assert country_risk(tiny_risk(), "cl")["XAA"] == 0.265625


def test_latest_time_is_found_whatever_the_stored_order() -> None:
    ds = tiny_risk().isel(time=[1, 0])
    assert country_risk(ds, "fl")["XAA"] == 0.53125


def test_ranking_order_scores_and_reasons() -> None:
    opps = rank_opportunities(assess(EVENTS, PROGRAMMES, (2021, 2023)), tiny_risk())
    got = [(o["rank"], o["iso3"], o["group"], o["score"], o["risk"]) for o in opps]
    assert got == [
        (1, "XAA", "forced_labour", 0.53125, 0.53125),       # 1 x 1 x 1 x .53125
        (2, "XAB", "forced_labour", 0.16875, 0.75),          # .75 x .5 x .6 x .75
        (3, "XAE", "child_labour", 0.01875, 0.25),           # .75 x 1 x .1 x .25
        (4, "XAC", "forced_labour", None, None),             # no risk: after all scored
    ]
    by_iso = {o["iso3"]: o for o in opps}
    assert "XAD" not in by_iso  # focused programming covering all six factors
    assert by_iso["XAC"]["priority"] == 0.75
    assert any("not in the risk grid" in r for r in by_iso["XAC"]["reasons"])
    assert by_iso["XAA"]["reasons"][0].startswith("examined by the Conference Committee")
    assert by_iso["XAA"]["reasons"][0].endswith("in 2021-2023")
    assert "no FPRW programming" in by_iso["XAA"]["reasons"]
    assert "FPRW programming, but none focused on forced labour" in by_iso["XAB"]["reasons"]
    assert any("uncovered: financing, innovation" in r for r in by_iso["XAE"]["reasons"])
    assert any("risk 0.53 (population-weighted mean, 2026-10-01)" in r
               for r in by_iso["XAA"]["reasons"])


def test_child_labour_uses_the_cl_target() -> None:
    opps = rank_opportunities(assess(EVENTS, PROGRAMMES, (2021, 2023)), tiny_risk())
    xae = next(o for o in opps if o["iso3"] == "XAE")
    assert xae["risk"] == 0.25  # cl = fl / 2 = 0.5 / 2


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda ds: ds.drop_vars("population"), "variable 'population' missing"),
    (lambda ds: ds.sel(target=["fl"]), "risk target 'cl' missing"),
    (lambda ds: ds.assign(country_id=ds.country_id.astype("float32")),
     "country_id has dtype float32"),
    (lambda ds: ds.assign(country_id=ds.country_id + 1), "country_id 4 out of range"),
])
def test_bad_risk_dataset_names_file_and_variable(tmp_path: Path, mutate, expected) -> None:
    path = tmp_path / "risk.nc"
    mutate(tiny_risk()).to_netcdf(path)
    with pytest.raises(InputError, match=f"{path}: .*{expected}"):
        open_risk(path)


def test_unreadable_risk_file(tmp_path: Path) -> None:
    path = tmp_path / "risk.nc"
    path.write_text("not netcdf")
    with pytest.raises(InputError, match=f"{path}: cannot read as NetCDF"):
        open_risk(path)
    with pytest.raises(InputError, match="missing.nc: risk file not found"):
        open_risk(tmp_path / "missing.nc")
