"""Supervisory features: ratifications, the ILO supervisory record, TIP status, inspection
and programmes, each per country (or admin-1) put on the grid.

Decayed counts weigh an observation or CAS case 1/2 after `half_life` months, so the
record's signal of need fades unless renewed.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

import kernels
from features._apply import MONTHS_PER_STEP, along_time, frequency, steps, to_grid
from features.catalogue import feature

CONVENTIONS = ("C029", "C105", "P029", "C138", "C182")


def _register_ratification(conv: str) -> None:
    @feature(f"ratified_{conv}", domain="supervisory", inputs=(f"ratified_{conv}",),
             kernels=("broadcast_regions",), units="1",
             meaning=f"{conv} ratified by the country (0/1)")
    def ratified(inputs: xr.Dataset) -> xr.DataArray:
        return to_grid(inputs[f"ratified_{conv}"], inputs)

    @feature(f"years_since_{conv}", domain="supervisory", inputs=(f"ratified_{conv}",),
             kernels=("event_decay",), units="year",
             meaning=f"years since the country ratified {conv} (NaN if it has not)")
    def years_since(inputs: xr.Dataset) -> xr.DataArray:
        status = inputs[f"ratified_{conv}"]
        # The ratification month is the first month with status 1; a record that starts
        # ratified counts from its first month.
        onset = (status - along_time(kernels.lag, status, k=1).fillna(0.0)).clip(min=0)
        since = along_time(lambda a: kernels.event_decay(a, np.inf)[1], onset)
        return to_grid(since / (12.0 / MONTHS_PER_STEP[frequency(inputs)]), inputs)


for _conv in CONVENTIONS:
    _register_ratification(_conv)


def _register_decayed(var: str, what: str, half_life: float = 24.0) -> None:
    @feature(f"{var}_decayed", domain="supervisory", inputs=(var,), kernels=("event_decay",),
             units="1", half_life=half_life,
             meaning=f"decayed count of {what} (half-life {half_life:g} months)")
    def decayed(inputs: xr.Dataset, half_life: float) -> xr.DataArray:
        hl = steps(inputs, half_life)
        d = along_time(lambda a: kernels.event_decay(a, hl)[0], inputs[var])
        return to_grid(d, inputs)


for _var, _what in (
    ("observations_fl", "CEACR observations on forced-labour conventions"),
    ("observations_cl", "CEACR observations on child-labour conventions"),
    ("cas_fl", "CAS cases on forced-labour conventions"),
    ("cas_cl", "CAS cases on child-labour conventions"),
    ("ta_request_fl", "technical-assistance requests on forced labour"),
    ("ta_request_cl", "technical-assistance requests on child labour"),
):
    _register_decayed(_var, _what)


@feature("inspection_coverage", domain="supervisory", inputs=("inspection_coverage",),
         kernels=("broadcast_regions",), units="1",
         meaning="share of workplaces within reach of labour inspection (admin-1); set to a "
                 "reference level when scoring risk at standard detection")
def inspection_coverage(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["inspection_coverage"], inputs)


@feature("tip_watchlist", domain="supervisory", inputs=("tip_watchlist",),
         kernels=("broadcast_regions",), units="1",
         meaning="country on the TIP Tier 2 Watch List or Tier 3 (0/1)")
def tip_watchlist(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["tip_watchlist"], inputs)


def _register_programme(var: str, what: str) -> None:
    @feature(var, domain="supervisory", inputs=(var,), kernels=("broadcast_regions",), units="1",
             meaning=f"{what} is active in the country (0/1)")
    def programme(inputs: xr.Dataset) -> xr.DataArray:
        return to_grid(inputs[var], inputs)


for _var, _what in (("programme_fl", "an ILO programme focused on FL or FL+CL"),
                    ("programme_cl", "an ILO programme focused on CL or FL+CL"),
                    ("programme_fprw", "any ILO FPRW programme")):
    _register_programme(_var, _what)


@feature("tip_tier", domain="supervisory", inputs=("tip_tier",), kernels=("broadcast_regions",),
         units="1",
         meaning="TIP report tier as an ordinal: 1 Tier 1, 2 Tier 2, 3 Watch List, 4 Tier 3 "
                 "(government response to trafficking; higher = weaker)")
def tip_tier(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["tip_tier"], inputs)


@feature("ratified_palermo", domain="supervisory", inputs=("ratified_palermo",),
         kernels=("broadcast_regions",), units="1",
         meaning="UN Palermo Protocol on trafficking in persons ratified (0/1)")
def ratified_palermo(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["ratified_palermo"], inputs)


@feature("cl_advancement", domain="supervisory", inputs=("cl_advancement",),
         kernels=("broadcast_regions",), units="1",
         meaning="assessed government advancement against the worst forms of child labour: "
                 "0 none, 1 minimal, 2 moderate, 3 significant")
def cl_advancement(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["cl_advancement"], inputs)


LEGAL_STANDARDS = ("legal_min_age_ok", "legal_hazardous_age_ok", "legal_education_age_ok",
                   "legal_fl_prohibition_ok", "legal_trafficking_prohibition_ok")


@feature("legal_gaps", domain="supervisory", inputs=LEGAL_STANDARDS, kernels=(),
         units="1",
         meaning="number of child- and forced-labour legal standards (minimum age, hazardous "
                 "work age, compulsory education, FL and child-trafficking prohibitions) "
                 "judged below international standards; NaN where none was assessed")
def legal_gaps(inputs: xr.Dataset) -> xr.DataArray:
    ok = xr.concat([inputs[v] for v in LEGAL_STANDARDS], dim="standard")
    gaps = (1.0 - ok).sum("standard", skipna=True, min_count=1)
    return to_grid(gaps, inputs)
