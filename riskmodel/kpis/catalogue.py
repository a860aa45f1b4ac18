"""The KPI catalogue: one registry of named, documented indicators of what alerts lead to.

Every key performance indicator has a name, a one-line definition, its formula in words
over the alert store's tables, a unit, the direction that is good (`higher` or `lower`),
its source (the store tables it reads) and what its value is when the denominator is
empty (the reason printed instead of a number: an empty denominator is never a 0). A
`neutral` direction marks a volume figure that is read beside the others, not ranked. The
computation (`riskmodel.kpis.compute`), the command line, the run report, the partner
portal and docs/kpis.md all read this one table, so every output names the same
indicators in the same order. Intervention results that partners report
(`riskmodel.kpis.interventions`) have their own harmonised table, `INDICATORS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["higher", "lower", "neutral"]


@dataclass(frozen=True)
class Kpi:
    """One catalogue entry; `empty` is the reason given when the KPI has no value."""

    name: str
    label: str
    definition: str
    formula: str
    unit: str
    direction: Direction
    source: str
    empty: str

    def describe(self) -> dict[str, Any]:
        """The entry as plain JSON-able data (for `riskmodel kpis --json`)."""
        return {"name": self.name, "label": self.label, "definition": self.definition,
                "formula": self.formula, "unit": self.unit, "direction": self.direction,
                "source": self.source}


_ENTRIES = (
    Kpi("alert_precision", "alert precision",
        "Share of visited alerts where the visit confirmed a case.",
        "alerts with a `confirmed` outcome / alerts with a `confirmed` or `not_found` "
        "outcome",
        "share (0-1)", "higher", "alerts, feedback", "no visited alert"),
    Kpi("share_visited", "share of alerts visited",
        "Share of the alerts opened in the period that partners visited.",
        "alerts with a `confirmed` or `not_found` outcome / alerts opened",
        "share (0-1)", "higher", "alerts, feedback", "no alert opened"),
    Kpi("time_to_acknowledge", "time to acknowledge",
        "Median time from an alert's first CAP message to its acknowledgement.",
        "median over acknowledged alerts of (first acknowledgement `at` - first message "
        "`sent`), in days",
        "days", "lower", "alerts, messages, history", "no acknowledged alert"),
    Kpi("time_to_visit", "time to visit",
        "Median time from an alert's first CAP message to the visit it led to.",
        "median over visited alerts with an `observed_on` date of (first visit "
        "`observed_on` - first message `sent` date), in days",
        "days", "lower", "alerts, messages, feedback", "no visit with an observed_on date"),
    Kpi("lead_time", "lead time",
        "Median time from the first alert on an area to the first case identified there.",
        "median over areas with a confirmed case of (first `confirmed` `observed_on` on "
        "any alert of the area - first day of the month the area's first alert opened), "
        "in days",
        "days", "higher", "alerts, feedback", "no area with a confirmed case"),
    Kpi("cases_per_visit", "cases found per visit",
        "Visits that identified a case per visit made, counting each partner's visit.",
        "partner outcomes `confirmed` / partner outcomes `confirmed` or `not_found` "
        "(one per alert and partner; an outcome records whether a case was found, not "
        "how many, so this is a lower bound of cases per visit)",
        "cases per visit", "higher", "feedback", "no visit"),
    Kpi("population_covered", "share of the high-risk population covered by visits",
        "Share of the people living in alerted areas (children for child labour) whose "
        "area was visited.",
        "sum of the area population (`child_population` for cl, `population` for fl) of "
        "visited alerts / the same sum over all alerts opened",
        "share (0-1)", "higher", "alerts, feedback", "no population in alerted areas"),
    Kpi("alerts_per_period", "alerts per partner per period",
        "Alerts opened per period for the partner (every alert in rows of all partners).",
        "alerts opened / periods a nightly run published in the range (periods recorded as "
        "history only, before a store's first delivery, do not count)",
        "alerts per period", "neutral", "alerts, runs", "no period processed"),
)

CATALOGUE: dict[str, Kpi] = {k.name: k for k in _ENTRIES}
