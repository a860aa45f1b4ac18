"""The canonical inputs of `riskmodel.contract`: the synthetic world holds exactly them,
and real inputs share their monthly axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from riskmodel.config import WorldConfig, load_config
from riskmodel.contract import REGIONS, VARIABLES, month_starts
from riskmodel.sources import load_inputs
from riskmodel.world import make_world

SMALL = WorldConfig(ny=12, nx=16, resolution=0.5, n_countries=3, n_admin1=6, n_months=36)


def test_the_world_holds_every_contract_variable_as_declared() -> None:
    world = make_world(SMALL, seed=3)
    assert list(world.data_vars) == [*VARIABLES, *REGIONS]
    for name, var in VARIABLES.items():
        da = world[name]
        assert da.dims == var.dims, name
        assert (da.attrs["units"], da.attrs["long_name"], da.attrs["role"]) == \
            (var.units, var.long_name, var.role), name
        assert da.attrs.get("standard_name") == var.standard_name, name
    for name, dims in REGIONS.items():
        assert world[name].dims == dims and world[name].attrs["role"] == "region", name
    np.testing.assert_array_equal(world["time"].values, month_starts(SMALL.start_year, SMALL.n_months))


def test_month_starts_is_the_nanosecond_monthly_axis() -> None:
    t = month_starts(2019, 14)
    assert t.dtype == np.dtype("datetime64[ns]")
    assert [str(x)[:10] for x in t[[0, 1, 11, 12, 13]]] == [
        "2019-01-01", "2019-02-01", "2019-12-01", "2020-01-01", "2020-02-01"]


def test_real_inputs_are_on_the_contract_time_axis(tmp_path: Path) -> None:
    rows = ["iso3,year,gdp"] + [f"KEN,{y},{100 + y - 2000}" for y in range(1999, 2003)]
    (tmp_path / "gdp.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "run.toml").write_text(f"""
name = "contract"
[sources]
start_year = 2000
end_year = 2002
[sources.inputs.c]
reader = "csv"
path = "{tmp_path / 'gdp.csv'}"
[sources.inputs.c.variables]
gdp_per_capita = {{ column = "gdp", units = "USD" }}
""")
    inputs = load_inputs(load_config(str(tmp_path / "run.toml")))
    assert inputs["time"].dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(inputs["time"].values, month_starts(2000, 36))

