"""Targeting: where need, an enabling environment and missing programmes meet.

Public API (see each function's docstring):
`load_events(path)`, `load_programmes(path)`, `load_inputs(events, programmes)` read and
validate the CSVs; `summarize(events, programmes, window) -> dict` gives the
published counts; `assess(...)` the per-country facts behind them; `rank_opportunities(assessment,
risk_ds) -> list` ranks countries with modelled risk; `render_html(assessment, summary,
opportunities, note) -> str` the report; `run_targeting(...)` does all of it and writes the
outputs atomically.
"""

from riskmodel.targeting.inputs import (ACCELERATION_FACTORS, Event, Programme, load_events,
                                        load_inputs, load_programmes)
from riskmodel.targeting.opportunities import country_risk, rank_opportunities
from riskmodel.targeting.pipeline import (TargetingResult, build_targeting, open_risk,
                                          run_targeting)
from riskmodel.targeting.report import render_html
from riskmodel.targeting.summary import GROUPS, Assessment, assess, summarize

__all__ = [
    "ACCELERATION_FACTORS", "GROUPS", "Assessment", "Event", "Programme", "TargetingResult",
    "assess", "build_targeting", "country_risk", "load_events", "load_inputs",
    "load_programmes", "open_risk", "rank_opportunities", "render_html", "run_targeting",
    "summarize",
]
