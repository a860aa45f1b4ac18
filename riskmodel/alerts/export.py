"""Export the store's current alerts (or one partner's) as CAP files, GeoJSON and CSV.

For partners joining late, a lost feed or an analyst's look: renders the open alerts as
they stand now, ranked by priority, with the same writers as the nightly run, and the
feedback labels for training as CSV.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from riskmodel.alerts import geojson
from riskmodel.alerts.csvout import cell, to_csv
from riskmodel.alerts.feedback import labels
from riskmodel.alerts.partners import PartnersConfig
from riskmodel.alerts.publish import _record, partner_records
from riskmodel.alerts.store import ACTIVE_STATES, AlertStore
from riskmodel.io.atomic import write_text


def current_records(store: AlertStore) -> list[dict[str, Any]]:
    """Open alerts as records, ranked by priority, `as_of` = the latest processed month."""
    as_of = store.latest_as_of() or ""
    return [_record(store, al, i, as_of)
            for i, al in enumerate(store.alerts(states=ACTIVE_STATES), 1)]


def export(store: AlertStore, out: Path, *, partners: PartnersConfig,
           partner: str | None = None, formats: tuple[str, ...] = ("cap", "geojson", "csv")
           ) -> dict[str, int]:
    """Write current alerts into `out` (only `partner`'s when given); returns file counts."""
    recs = current_records(store)
    if partner is not None:
        recs = partner_records(partners.get(partner), recs)
    synthetic = any(r["synthetic"] for r in recs)
    as_of = store.latest_as_of() or ""
    n = {"cap": 0, "geojson": 0, "csv": 0}
    if "cap" in formats:
        for r in recs:
            msg = store.get_message(r["identifier"])
            assert msg is not None
            write_text(out / "cap" / f"{r['identifier']}.xml", msg["xml"])
            n["cap"] += 1
    if "geojson" in formats:
        write_text(out / "alerts.geojson", geojson.dumps(
            geojson.feature_collection(recs, as_of=as_of, synthetic=synthetic)))
        n["geojson"] = 1
    if "csv" in formats:
        write_text(out / "alerts.csv", to_csv(recs))
        n["csv"] = 1
    return n


def labels_csv(store: AlertStore, partners: PartnersConfig, partner: str | None = None) -> str:
    """Feedback labels as CSV (admin1 and cells as JSON lists): outcomes of configured
    partners on their own alerts, only `partner`'s when given."""
    if partner is not None:
        partners.get(partner)  # ConfigError for an unknown partner
    rows = labels(store, partners, partner)
    cols = ("alert_id", "target", "area_kind", "area_key", "admin1", "cells", "opened_as_of",
            "observed_on", "partner", "outcome", "label")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (cell(r[k]) if k not in ("admin1", "cells")
                        else json.dumps(json.loads(r[k]))) for k in cols})
    return buf.getvalue()
