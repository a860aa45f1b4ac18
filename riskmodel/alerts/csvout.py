"""CSV of alerts: one row per alert, the GeoJSON properties as columns (no geometry).

For spreadsheets and partners' case systems. Column order is fixed (below), numbers are
rounded, and a synthetic-world file starts every row with `synthetic=true`, so a copied
row still carries the marking. Text cells that a spreadsheet would run as a formula
(starting with =, +, -, @, tab or CR) are prefixed with a single quote.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from riskmodel.alerts.geojson import properties

COLUMNS = ("synthetic", "rank", "alert_id", "identifier", "msg_type", "state", "acknowledged",
           "target", "area_kind", "area_key", "name", "country", "country_name", "admin1",
           "as_of", "opened_as_of", "risk", "risk_lo", "risk_hi", "priority", "exposed",
           "n_cells", "driver_1", "driver_1_domain", "driver_1_contrib", "driver_2",
           "driver_2_domain", "driver_2_contrib", "driver_3", "driver_3_domain",
           "driver_3_contrib", "contrib_climatic", "contrib_economic", "contrib_demographic",
           "contrib_supervisory", "model_id")


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(v: Any) -> Any:
    """A CSV cell value: text a spreadsheet would evaluate is quoted with a leading '."""
    if isinstance(v, str) and v.startswith(_FORMULA):
        return "'" + v
    return v


def to_csv(records: list[dict[str, Any]]) -> str:
    """CSV text (header + rows, LF line ends) for alert records."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for rec in records:
        p = properties(rec)
        p["synthetic"] = "true" if p["synthetic"] else "false"
        p["acknowledged"] = "true" if p["acknowledged"] else "false"
        w.writerow({k: ("" if p.get(k) is None else cell(p[k])) for k in COLUMNS})
    return buf.getvalue()
