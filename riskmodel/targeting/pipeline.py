"""One call from input files to the targeting outputs, for the CLI and the nightly run.

`run_targeting` reads and validates both CSVs (and the risk dataset when given) before it
computes anything, builds the JSON and the HTML in memory, and only then writes them
atomically, so an input error leaves no output file behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from riskmodel.errors import InputError
from riskmodel.io.atomic import write_text
from riskmodel.targeting.inputs import Event, Programme, load_inputs
from riskmodel.targeting.opportunities import check_risk_dataset, latest_time, rank_opportunities
from riskmodel.targeting.report import render_html
from riskmodel.targeting.summary import Window, assess, check_window, summary_from


@dataclass(frozen=True)
class TargetingResult:
    """The JSON-ready dict (`window`, `groups`, optionally `opportunities`) and the HTML."""

    data: dict[str, Any]
    html: str


def open_risk(path: Path | str) -> xr.Dataset:
    """Open and load a risk NetCDF, raising `InputError` naming the file if it is unusable."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: risk file not found")
    try:
        with xr.open_dataset(p) as ds:
            loaded = ds.load()
    except (OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"{p}: cannot read as NetCDF ({exc})") from None
    loaded.encoding["source"] = str(p)  # keep the file name for later error messages
    check_risk_dataset(loaded)
    return loaded


def build_targeting(events: list[Event], programmes: list[Programme], window: Window,
                    risk_ds: xr.Dataset | None = None, note: str | None = None
                    ) -> TargetingResult:
    """Summary, opportunities (when `risk_ds` is given) and HTML for validated inputs.

    `data` is the summary JSON: `{"window", "groups"}` plus `"opportunities"` (see
    `rank_opportunities`) and `"risk_time"` (the risk time step used) with risk.
    """
    assessment = assess(events, programmes, check_window(window))
    data = summary_from(assessment)
    opportunities = None
    if risk_ds is not None:
        opportunities = rank_opportunities(assessment, risk_ds)
        data["opportunities"] = opportunities
        data["risk_time"] = latest_time(risk_ds)
    return TargetingResult(data, render_html(assessment, data, opportunities, note))


def run_targeting(events_path: Path | str, programmes_path: Path | str, window: Window, *,
                  json_path: Path | str | None = None, html_path: Path | str | None = None,
                  risk: Path | str | xr.Dataset | None = None,
                  note: str | None = None) -> TargetingResult:
    """Validate everything, compute, then write JSON and HTML atomically; return both.

    `risk` is a path to risk.nc or an already open Dataset (the nightly run has one in
    memory). Raises `InputError` (nothing written) on any bad row, a bad window or an
    unusable risk dataset.
    """
    window = check_window(window)
    events, programmes = load_inputs(events_path, programmes_path)
    risk_ds = None
    if risk is not None:
        risk_ds = risk if isinstance(risk, xr.Dataset) else open_risk(risk)
        check_risk_dataset(risk_ds)
    result = build_targeting(events, programmes, window, risk_ds, note)
    if json_path is not None:
        write_text(json_path, json.dumps(result.data, indent=2) + "\n")
    if html_path is not None:
        write_text(html_path, result.html)
    return result
