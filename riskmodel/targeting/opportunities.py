"""Opportunity ranking: need x enabling environment x coverage gap x modelled risk.

Every (country, group) with a need signal (observation, CAS) or a technical-assistance
request in the window is scored with four factors in [0, 1] (weights below, each with its
reason in words) and ranked. Risk is the population-weighted mean over the country's cells
of the latest time of `risk(target, time, lat, lon)` in the nightly risk dataset, target
`fl` for the forced-labour groups and `cl` for child labour. Countries the risk grid does
not cover are not dropped: they are ranked after all modelled countries, by the other three
factors, with `score` null and a reason saying so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from riskmodel.errors import InputError
from riskmodel.targeting.inputs import ACCELERATION_FACTORS, FACTOR_LABELS
from riskmodel.targeting.summary import GROUPS, Assessment, CountryStatus, Group

# Need: a CAS case is the gravest signal, an observation a serious one; a TA request with
# neither still says the government sees a problem, so it keeps a small weight.
NEED_CAS = 1.0
NEED_OBSERVATION = 0.75
NEED_NONE = 0.25
# Enabling environment: a TA request signals political will; without one the country can
# still be approached, at half the priority.
ENABLING_TA = 1.0
ENABLING_NONE = 0.5
# Gap: no programme at all is the full gap; FPRW work that is not focused on the group
# leaves most of it; focused programming leaves only its uncovered acceleration factors.
GAP_NONE = 1.0
GAP_UNFOCUSED = 0.6
GAP_FOCUSED_MAX = 0.3  # times the share of the six factors not covered

REQUIRED_VARS = {"risk": ("target", "time", "lat", "lon"), "population": ("lat", "lon"),
                 "country_id": ("lat", "lon")}


def _source(ds: xr.Dataset) -> str:
    return str(ds.encoding.get("source", "risk dataset"))


def check_risk_dataset(ds: xr.Dataset) -> None:
    """Raise `InputError` naming the file and variable when `ds` breaks the risk contract.

    Needs `risk(target, time, lat, lon)` with targets fl and cl and at least one time,
    `population(lat, lon)`, `country_id(lat, lon)` (integer, -1 at sea) and the coordinate
    `country` that the ids index.
    """
    src = _source(ds)
    for name, dims in REQUIRED_VARS.items():
        if name not in ds.variables:
            raise InputError(f"{src}: variable {name!r} missing (expected {name}"
                             f"({', '.join(dims)}))")
        if set(ds[name].dims) != set(dims):
            raise InputError(f"{src}: {name} has dims ({', '.join(ds[name].dims)}) "
                             f"(expected ({', '.join(dims)}))")
    if "country" not in ds.coords:
        raise InputError(f"{src}: coordinate 'country' missing (expected ISO3 codes)")
    targets = [str(t) for t in ds["target"].values] if "target" in ds.coords else []
    for t in ("fl", "cl"):
        if t not in targets:
            raise InputError(f"{src}: risk target {t!r} missing (got {targets})")
    if ds.sizes["time"] == 0:
        raise InputError(f"{src}: risk has no time steps (expected at least one)")
    if not np.issubdtype(ds["country_id"].dtype, np.integer):
        raise InputError(f"{src}: country_id has dtype {ds['country_id'].dtype} "
                         f"(expected integers, -1 at sea)")
    ids = ds["country_id"].values
    if ids.size and int(ids.max()) >= ds.sizes["country"]:
        raise InputError(f"{src}: country_id {int(ids.max())} out of range "
                         f"(expected < {ds.sizes['country']} countries)")


def latest_time(ds: xr.Dataset) -> str:
    """The latest time of the risk dataset as an ISO date (YYYY-MM-DD)."""
    return str(np.datetime_as_string(ds["time"].values.max(), unit="D"))


def country_risk(ds: xr.Dataset, target: str) -> dict[str, float]:
    """Population-weighted mean risk per country at the latest time, for `target` fl or cl.

    Cells at sea (country_id -1), without population or with NaN risk are left out;
    countries with no populated cell are absent from the result.
    """
    check_risk_dataset(ds)
    t = int(np.argmax(ds["time"].values))  # latest, whatever the stored order
    risk = ds["risk"].sel(target=target).isel(time=t).transpose("lat", "lon").values
    pop = ds["population"].transpose("lat", "lon").values
    cid = ds["country_id"].transpose("lat", "lon").values
    ok = (cid >= 0) & np.isfinite(risk) & np.isfinite(pop) & (pop > 0)
    n = ds.sizes["country"]
    # float64 sums: float32 accumulation over millions of cells loses digits.
    num = np.bincount(cid[ok], weights=(risk[ok].astype(np.float64) * pop[ok]), minlength=n)
    den = np.bincount(cid[ok], weights=pop[ok].astype(np.float64), minlength=n)
    codes = [str(c) for c in ds["country"].values]
    return {codes[i]: float(num[i] / den[i]) for i in range(n) if den[i] > 0}


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _score_parts(st: CountryStatus, group: Group) -> tuple[float, float, float, list[str]]:
    instruments = "/".join(sorted(group.instruments))
    reasons: list[str] = []
    if st.cas:
        need = NEED_CAS
        reasons.append(f"examined by the Conference Committee (CAS) on {instruments}"
                       + (" and observed by the Committee of Experts" if st.observed else ""))
    elif st.observed:
        need = NEED_OBSERVATION
        reasons.append(f"Committee of Experts observation on {instruments}")
    else:
        need = NEED_NONE
        reasons.append(f"no observation or CAS case on {instruments}")
    if st.ta_requested:
        enabling = ENABLING_TA
        reasons.append(f"the government requested technical assistance on {instruments}")
    else:
        enabling = ENABLING_NONE
        reasons.append("no technical-assistance request")
    if st.on_tip_watchlist:
        reasons.append("on the TIP Watch List")
    topic = "child labour" if group.target == "cl" else "forced labour"
    missing = [f for f in ACCELERATION_FACTORS if f not in st.factors]
    if not st.fprw_programming:
        gap = GAP_NONE
        reasons.append("no FPRW programming")
    elif not st.focused_programming:
        gap = GAP_UNFOCUSED
        reasons.append(f"FPRW programming, but none focused on {topic}")
    else:
        gap = GAP_FOCUSED_MAX * len(missing) / len(ACCELERATION_FACTORS)
        if missing:
            reasons.append(f"{topic} programming that leaves {len(missing)} "
                           f"acceleration {_plural(len(missing), 'factor', 'factors')} "
                           f"uncovered: {', '.join(FACTOR_LABELS[f] for f in missing)}")
    return need, enabling, gap, reasons


def rank_opportunities(assessment: Assessment, risk_ds: xr.Dataset) -> list[dict[str, Any]]:
    """Rank (country, group) pairs by need x enabling environment x gap x modelled risk.

    Returns a list of dicts `{"rank", "iso3", "group", "score", "priority", "need",
    "enabling_environment", "gap", "risk", "reasons"}` best first, where `priority` is
    need x enabling x gap and `score` is priority x risk. Pairs whose country is not in the
    risk grid get `risk` and `score` None and follow all scored pairs, ordered by priority.
    Pairs with focused programming covering all six acceleration factors have no gap and
    are left out. Ties are broken by iso3 then group, so the order is deterministic.
    """
    check_risk_dataset(risk_ds)
    window = f"{assessment.window[0]}-{assessment.window[1]}"
    when = latest_time(risk_ds)
    risks = {t: country_risk(risk_ds, t) for t in ("fl", "cl")}
    scored: list[tuple[tuple, dict[str, Any]]] = []
    for group in GROUPS:
        for iso3, st in assessment.groups[group.name].items():
            if not (st.need or st.ta_requested):
                continue
            need, enabling, gap, reasons = _score_parts(st, group)
            priority = need * enabling * gap
            if priority <= 0:
                continue  # fully covered: focused programming with all six factors
            risk = risks[group.target].get(iso3)
            if risk is None:
                reasons.append("not in the risk grid: ranked after the modelled countries "
                               "by need, enabling environment and gap only")
                key: tuple = (1, -priority, iso3, group.name)
                score = None
            else:
                reasons.append(f"modelled {group.target.upper()} risk {risk:.2f} "
                               f"(population-weighted mean, {when})")
                key = (0, -(priority * risk), -priority, iso3, group.name)
                score = round(priority * risk, 6)
            reasons[0] = f"{reasons[0]} in {window}"
            scored.append((key, {
                "iso3": iso3, "group": group.name, "score": score,
                "priority": round(priority, 6), "need": need,
                "enabling_environment": enabling, "gap": round(gap, 6),
                "risk": None if risk is None else round(risk, 6), "reasons": reasons}))
    # Keys of scored and unscored pairs differ in length after the first item; the first
    # item (0 scored, 1 unscored) always decides between them, so comparison is safe.
    scored.sort(key=lambda kv: kv[0])
    return [{"rank": i + 1, **entry} for i, (_, entry) in enumerate(scored)]
