"""Country facts per group and window, and the published summary counts built from them.

`assess` turns validated events and programmes into one `CountryStatus` per (group,
country) with any signal in the window: need (CEACR observations, CAS), enabling
environment (technical-assistance requests, TIP Watch List) and programming (any FPRW
programme, a focused one, the acceleration factors covered). `summarize` counts those
facts into the summary JSON; the ranking and the HTML read the same `Assessment`, so
every output agrees on who counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from riskmodel.errors import InputError
from riskmodel.targeting.inputs import ACCELERATION_FACTORS, Event, Programme

Window = tuple[int, int]


@dataclass(frozen=True)
class Group:
    """A group of instruments supervised together, and the programme focuses that serve it."""

    name: str
    label: str
    instruments: frozenset[str]
    focused: frozenset[str]
    target: str  # the risk target ("fl"/"cl") its opportunities are weighted by


GROUPS: tuple[Group, ...] = (
    Group("forced_labour", "forced labour (C029/C105)", frozenset({"C029", "C105"}),
          frozenset({"FL", "FL+CL"}), "fl"),
    Group("forced_labour_protocol", "the Forced Labour Protocol (P029)", frozenset({"P029"}),
          frozenset({"FL", "FL+CL"}), "fl"),
    Group("child_labour", "child labour (C138/C182)", frozenset({"C138", "C182"}),
          frozenset({"CL", "FL+CL"}), "cl"),
)
GROUPS_BY_NAME = {g.name: g for g in GROUPS}


@dataclass
class CountryStatus:
    """What the window records for one country under one group (all flags within the window).

    `fprw_programming` is any programme active in the window (every focus is part of FPRW);
    `focused_programming` one whose focus serves the group; `factors` the acceleration
    factors covered by the country's active programmes of any focus.
    """

    iso3: str
    observed: bool = False
    cas: bool = False
    ta_requested: bool = False
    on_tip_watchlist: bool = False
    fprw_programming: bool = False
    focused_programming: bool = False
    factors: frozenset[str] = frozenset()

    @property
    def need(self) -> bool:
        """A supervisory signal of need: an observation or a CAS case on the group."""
        return self.observed or self.cas


@dataclass
class Assessment:
    """Per group, the status of every country with a need or TA signal in the window.

    `coverage[iso3][factor]` lists the ids of the programmes active in the window that
    cover the factor, for every country that has an active programme or a signal.
    """

    window: Window
    groups: dict[str, dict[str, CountryStatus]]
    coverage: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def check_window(window: Window) -> Window:
    """Return the window as two ints, or raise `InputError` when from > to."""
    start, end = int(window[0]), int(window[1])
    if start > end:
        raise InputError(f"window {start}-{end}: --from is after --to (expected from <= to)")
    return start, end


def assess(events: Iterable[Event], programmes: Iterable[Programme],
           window: Window) -> Assessment:
    """Cross need, enabling environment and programming per group and country in `window`.

    Only events with `window[0] <= year <= window[1]` count; observations count only as
    event `observation` (direct requests do not) and only on the group's instruments. A
    country is a set member, so duplicate events and several years count it once. A
    programme counts when `start_year <= to` and `end_year >= from`.
    """
    start, end = check_window(window)
    in_window = [e for e in events if start <= e.year <= end]
    watchlist = {e.iso3 for e in in_window if e.event == "tip_watchlist"}
    active = [p for p in programmes if p.active_in((start, end))]
    focuses: dict[str, set[str]] = {}
    coverage: dict[str, dict[str, list[str]]] = {}
    for p in active:
        focuses.setdefault(p.iso3, set()).add(p.focus)
        cover = coverage.setdefault(p.iso3, {f: [] for f in ACCELERATION_FACTORS})
        for factor in sorted(p.acceleration_factors):
            if p.programme_id not in cover[factor]:
                cover[factor].append(p.programme_id)

    groups: dict[str, dict[str, CountryStatus]] = {}
    for group in GROUPS:
        statuses: dict[str, CountryStatus] = {}
        for e in in_window:
            if e.instrument not in group.instruments:
                continue
            flag = {"observation": "observed", "cas": "cas",
                    "ta_request": "ta_requested"}.get(e.event)
            if flag is None:
                continue  # direct requests and ratifications are not signals here
            setattr(statuses.setdefault(e.iso3, CountryStatus(e.iso3)), flag, True)
        for iso3, st in statuses.items():
            st.on_tip_watchlist = iso3 in watchlist
            st.fprw_programming = bool(focuses.get(iso3))
            st.focused_programming = bool(focuses.get(iso3, set()) & group.focused)
            st.factors = frozenset(f for f, ids in coverage.get(iso3, {}).items() if ids)
        groups[group.name] = dict(sorted(statuses.items()))
    # Countries with a signal but no programme appear in the matrix too: all six are gaps.
    for statuses in groups.values():
        for iso3 in statuses:
            coverage.setdefault(iso3, {f: [] for f in ACCELERATION_FACTORS})
    return Assessment((start, end), groups, dict(sorted(coverage.items())))


def _programming_counts(members: list[CountryStatus]) -> dict[str, int]:
    fprw = sum(s.fprw_programming for s in members)
    focused = sum(s.focused_programming for s in members)
    return {"with_fprw_programming": fprw, "with_focused_programming": focused,
            "without_fprw_programming": len(members) - fprw,
            "without_focused_programming": len(members) - focused}


def summary_from(assessment: Assessment) -> dict[str, Any]:
    """The JSON summary (docs/targeting.md) from an `Assessment` (see `summarize`)."""
    out: dict[str, Any] = {"window": list(assessment.window), "groups": {}}
    for group in GROUPS:
        statuses = list(assessment.groups[group.name].values())
        observed = [s for s in statuses if s.observed]
        ta = [s for s in statuses if s.ta_requested]
        out["groups"][group.name] = {
            "observed": len(observed),
            # Top-level counts are over the observed countries, as published, so a CAS
            # case without an observation in the window is not counted here; it still
            # counts as need for TA requests and for the opportunity ranking.
            "cas": sum(s.cas for s in observed),
            **_programming_counts(observed),
            "ta": {
                "requested": len(ta),
                "with_observations_or_cas": sum(s.need for s in ta),
                "on_tip_watchlist": sum(s.on_tip_watchlist for s in ta),
                **_programming_counts(ta),
            },
        }
    return out


def summarize(events: Iterable[Event], programmes: Iterable[Programme],
              window: Window) -> dict[str, Any]:
    """Count countries per group for `window` = (from, to), as the summary JSON dict.

    Returns `{"window": [from, to], "groups": {group: {"observed", "cas",
    "with_fprw_programming", "with_focused_programming", "without_fprw_programming",
    "without_focused_programming", "ta": {"requested", "with_observations_or_cas",
    "on_tip_watchlist", "with_fprw_programming", ...}}}}` for the groups forced_labour
    (C029, C105), forced_labour_protocol (P029) and child_labour (C138, C182). Each country
    counts once; top-level counts are over countries with an observation in the window,
    `ta` counts over countries with a TA request in the window.
    """
    return summary_from(assess(events, programmes, window))
