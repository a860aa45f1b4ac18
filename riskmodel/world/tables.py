"""The synthetic world's supervisory records as the targeting CSVs `riskmodel targeting` reads:
`events.csv` (iso3, year, event, instrument) and `programmes.csv` (iso3, programme_id,
start_year, end_year, focus, acceleration_factors)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import xarray as xr

from riskmodel.io.atomic import write_text

EVENT_COLUMNS = ("iso3", "year", "event", "instrument")
PROGRAMME_COLUMNS = ("iso3", "programme_id", "start_year", "end_year", "focus",
                     "acceleration_factors")


def _csv(columns: tuple[str, ...], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    return buf.getvalue()


def write_tables(world: xr.Dataset, folder: Path | str) -> tuple[Path, Path]:
    """Write `events.csv` and `programmes.csv` of `world` into `folder`; return their paths."""
    folder = Path(folder)
    events = folder / "events.csv"
    programmes = folder / "programmes.csv"
    write_text(events, _csv(EVENT_COLUMNS, json.loads(world.attrs["events"])))
    write_text(programmes, _csv(PROGRAMME_COLUMNS, json.loads(world.attrs["programmes"])))
    return events, programmes
