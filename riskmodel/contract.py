"""The canonical inputs: the variables every input dataset holds, whatever made it.

The synthetic world (`riskmodel.world`), the assembly of real sources (`riskmodel.sources`),
the input checks (`riskmodel.checks`) and the Zarr store (`riskmodel.scale.store`) all
describe the same `xarray.Dataset`, and this module is where it is named: each variable's
units, long name, role and dims, the region layers, the dims of the grid and the tables,
and the monthly time axis. Roles: `driver` (an input a real deployment would have; may
feed features), `label` (identified cases and surveys, what a real system records),
`truth` (known only in the synthetic world; for evaluation, never a feature) and `region`
(the land mask and the country / admin-1 layers). docs/architecture.md ("Data contracts")
describes the grid and the time axis.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

# Dims of the gridded variables and of the region tables.
GRID_T = ("time", "lat", "lon")
GRID = ("lat", "lon")
COUNTRY_T = ("time", "country")
ADMIN1_T = ("time", "admin1")

ROLES = ("driver", "label", "truth", "region")


class Variable(NamedTuple):
    """One canonical variable: `units` (UDUNITS spelling, "1" for counts, shares and
    flags), `long_name`, `role` (one of `ROLES`), `dims`, and the CF `standard_name` where
    CF has one."""

    units: str
    long_name: str
    role: str
    dims: tuple[str, ...]
    standard_name: str | None = None


def _driver(units: str, long_name: str, dims: tuple[str, ...] = COUNTRY_T,
            standard_name: str | None = None) -> Variable:
    return Variable(units, long_name, "driver", dims, standard_name)


# The data variables, in the order a dataset holds them.
VARIABLES: dict[str, Variable] = {
    "temperature": _driver("degC", "monthly mean near-surface air temperature", GRID_T,
                           "air_temperature"),
    "precipitation": _driver("mm", "monthly precipitation total", GRID_T,
                             "precipitation_amount"),
    "gdp_per_capita": _driver("USD", "GDP per capita, current US dollars"),
    "poverty_rate": _driver("1", "share of population below the poverty line"),
    "commodity_price": _driver("1", "export commodity price index (first month = 100)",
                               ("time",)),
    "crop_share": _driver("1", "share of land under export crops", GRID),
    "population": _driver("1", "persons living in the cell", GRID),
    "child_share": _driver("1", "share of the population aged 5-17", GRID),
    "young_child_share": _driver("1", "share of the population aged 5-11", GRID),
    "migrant_share": _driver("1", "share of the population who are recent migrants", GRID_T),
    "displaced_share": _driver("1", "share of the population internally displaced or "
                                    "refugees", GRID_T),
    "crisis": _driver("1", "crisis or conflict in the admin-1 unit (0/1)", ADMIN1_T),
    "ratified_C029": _driver("1", "C029 Forced Labour Convention ratified (0/1)"),
    "ratified_C105": _driver("1", "C105 Abolition of Forced Labour Convention ratified (0/1)"),
    "ratified_P029": _driver("1", "P029 Protocol of 2014 to C029 ratified (0/1)"),
    "ratified_C138": _driver("1", "C138 Minimum Age Convention ratified (0/1)"),
    "ratified_C182": _driver("1", "C182 Worst Forms of Child Labour Convention ratified "
                                  "(0/1)"),
    "observations_fl": _driver("1", "CEACR observations on C029/C105/P029 published this "
                                    "month"),
    "observations_cl": _driver("1", "CEACR observations on C138/C182 published this month"),
    "direct_requests_fl": _driver("1", "CEACR direct requests on C029/C105/P029"),
    "direct_requests_cl": _driver("1", "CEACR direct requests on C138/C182"),
    "cas_fl": _driver("1", "CAS cases on forced labour conventions"),
    "cas_cl": _driver("1", "CAS cases on child labour conventions"),
    "ta_request_fl": _driver("1", "technical-assistance requests on forced labour"),
    "ta_request_cl": _driver("1", "technical-assistance requests on child labour"),
    "tip_watchlist": _driver("1", "on the TIP Tier 2 Watch List or Tier 3 (0/1)"),
    "programme_fl": _driver("1", "an ILO programme focused on FL or FL+CL is active (0/1)"),
    "programme_cl": _driver("1", "an ILO programme focused on CL or FL+CL is active (0/1)"),
    "programme_fprw": _driver("1", "any ILO FPRW programme is active (0/1)"),
    "inspection_coverage": _driver("1", "share of workplaces within reach of labour "
                                        "inspection", ADMIN1_T),
    "identified_fl": Variable("1", "forced-labour cases identified in the month", "label",
                              GRID_T),
    "identified_cl": Variable("1", "child-labour cases identified in the month", "label",
                              GRID_T),
    "survey_cl_prevalence": Variable("1", "surveyed child-labour prevalence (share of "
                                          "children 5-17)", "label", ADMIN1_T),
    "incidence_fl": Variable("1", "true new forced-labour cases in the month", "truth",
                             GRID_T),
    "incidence_cl": Variable("1", "true new child-labour cases in the month", "truth",
                             GRID_T),
    "true_rate_fl": Variable("1", "expected true new FL cases per month", "truth", GRID_T),
    "true_rate_cl": Variable("1", "expected true new CL cases per month", "truth", GRID_T),
    "true_prevalence_fl": Variable("1", "true share of workers in forced labour", "truth",
                                   GRID_T),
    "true_prevalence_cl": Variable("1", "true share of children in child labour", "truth",
                                   GRID_T),
    "detection_prob": Variable("1", "probability that a true case is identified", "truth",
                               GRID_T),
}

# The region layers and their dims: the land mask (0/1), and integer indices into the
# `country` and `admin1` coordinates (-1 at sea).
REGIONS: dict[str, tuple[str, ...]] = {
    "land": GRID, "country_id": GRID, "admin1_id": GRID, "admin1_country": ("admin1",),
}


def month_starts(start_year: int, n_months: int) -> np.ndarray:
    """The monthly time axis: the first day of each of `n_months` months from January
    `start_year`, as datetime64[ns]."""
    # pandas 3 defaults to microseconds; the data contract says nanoseconds.
    return pd.date_range(f"{start_year}-01-01", periods=n_months,
                         freq="MS").values.astype("datetime64[ns]")


# Time steps of the canonical inputs: months per step. The synthetic world is monthly; real
# yearly data may run on a yearly axis (`[sources] frequency`), labelled by the first day
# of each year. A dataset says which in attrs["frequency"] (absent: monthly).
FREQUENCIES: dict[str, int] = {"monthly": 1, "yearly": 12}


def period_starts(start_year: int, n_periods: int, frequency: str = "monthly") -> np.ndarray:
    """The time axis of `n_periods` steps of `frequency` from January `start_year`: the
    first day of each month or year, datetime64[ns]."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"unknown frequency {frequency!r}; expected one of "
                         f"{sorted(FREQUENCIES)}")
    if frequency == "monthly":
        return month_starts(start_year, n_periods)
    return pd.date_range(f"{start_year}-01-01", periods=n_periods,
                         freq="YS").values.astype("datetime64[ns]")
