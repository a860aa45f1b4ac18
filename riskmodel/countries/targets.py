"""What each real target is: its quantity, units, modelling scale, the hyper-parameter
candidates its nested selection tries, and (forced labour) the detection proxies with the
reference level that defines "standard detection".

Scales: child labour is a share, modelled on its log-odds (clipped to [0.5%, 99.5%]);
detected forced-labour victims per 100,000 are skewed counts per capita with exact zeros,
modelled on log(1 + rate). The forced-labour candidates also include a LightGBM Tweedie
objective fitted on the rate itself; nested cross-validation inside the training rows
chooses between them, never the test rows.

Standard detection (fl): the prediction with every detection proxy the feature cube has set
to one reference level: a TIP Tier 2 country (the most common tier, so the model has seen
it at every income level), not on the watch list, Palermo Protocol ratified, moderate ILAB
advancement, no legal gaps, and a country that has reported forced-labour victims before.
Income is not a proxy here: it also drives prevalence. The assumption is that these proxies
act on detection only; where a proxy also tracks true prevalence (a Tier 3 ranking can
follow a visible problem), the correction removes real signal too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from riskmodel.countries.model import from_logit, to_logit


def _log1p(v: np.ndarray) -> np.ndarray:
    return np.log1p(np.maximum(np.asarray(v, np.float64), 0.0))


def _expm1(z: np.ndarray) -> np.ndarray:
    return np.maximum(np.expm1(np.asarray(z, np.float64)), 0.0)


@dataclass(frozen=True)
class Scale:
    """A monotone map between the reported value and the scale a model is fitted on."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray]


LOGIT = Scale("log-odds of the share", to_logit, from_logit)
LOG1P = Scale("log(1 + rate)", _log1p, _expm1)

# History features derived from outcome rows of earlier years (riskmodel.countries.history).
CL_EXTRA = ("hist_wdi_employment_7_14", "hist_wdi_employment_age", "hist_ilostat_15_17")
FL_REPORTED = "hist_fl_reported_before"


@dataclass(frozen=True)
class Target:
    """One real target (module docstring)."""

    name: str
    quantity: str
    units: str
    scale: Scale
    upper: float                                  # largest valid value (percent: 100)
    select_by: str                                # "mae" (lower wins) or "spearman"
    candidates: tuple[dict[str, Any], ...]
    extra: tuple[str, ...] = ()                   # features only some candidates use
    detection: dict[str, float] = field(default_factory=dict)
    note: str = ""


CL = Target(
    name="cl", quantity="share of children aged 5-17 in child labour (ILO, SDG 8.7.1)",
    units="percent of children aged 5-17", scale=LOGIT, upper=100.0, select_by="mae",
    candidates=tuple({"num_leaves": leaves, "extra": extra}
                     for leaves in (3, 7) for extra in (False, True)),
    extra=CL_EXTRA,
    note=("ILOSTAT CLD_XCHL_SEX_AGE_RT 5-17 both sexes, SDG 8.7.1 SL_TLF_CHLDEA where "
          "ILOSTAT has no row; surveys 2001-2017, mostly low- and middle-income countries: "
          "values for never-surveyed countries are extrapolations."))

FL = Target(
    name="fl", quantity="detected victims of trafficking for forced labour (SDG 16.2.2)",
    units="detected victims per 100,000 population", scale=LOG1P, upper=float("inf"),
    select_by="spearman",
    candidates=tuple({"num_leaves": leaves, "objective": obj}
                     for leaves in (3, 7) for obj in ("regression", "tweedie")),
    detection={"tip_tier": 2.0, "tip_watchlist": 0.0, "ratified_palermo": 1.0,
               "cl_advancement": 2.0, "legal_gaps": 0.0, FL_REPORTED: 1.0},
    note=("Identified cases, not prevalence: detection and reporting thin them. "
          "value_standard_detection sets the detection proxies to one reference level "
          "(TIP Tier 2, not on the watch list, Palermo ratified, moderate ILAB advancement, "
          "no legal gaps, victims reported before)."))

TARGETS = {"cl": CL, "fl": FL}


def target(name: str) -> Target:
    """The target called `name` ("cl" or "fl"); `ValueError` otherwise."""
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; use one of {sorted(TARGETS)}")
    return TARGETS[name]
