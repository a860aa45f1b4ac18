"""GeoJSON (RFC 7946) FeatureCollection of alerts: lon/lat order, exteriors counter-clockwise.

One Feature per alert with a MultiPolygon (holes kept, unlike CAP) and flat properties a GIS
or dashboard reads directly: risk and its interval, rank and priority, the top drivers,
state and CAP message, model id, and `synthetic` so a map of the test world can never be
mistaken for a real one. Region alerts add the modelled estimate behind their score (year,
rate, interval and units) and the collection of yearly region alerts says what they are.
Output is key-sorted JSON, identical bytes for identical alerts.
"""

from __future__ import annotations

import json
from typing import Any

from riskmodel.alerts.cap import REAL_NOTE, SYNTHETIC_NOTE

# Feature domains of the catalogue; contributions per domain explain an alert at a glance.
DOMAINS = ("climatic", "economic", "demographic", "supervisory")


def properties(rec: dict[str, Any]) -> dict[str, Any]:
    """The flat properties shared by GeoJSON and CSV for one alert record."""
    drivers = rec["drivers"]
    props: dict[str, Any] = {
        "alert_id": rec["alert_id"],
        "identifier": rec["identifier"],
        "msg_type": rec["msg_type"],
        "state": rec["state"],
        "acknowledged": bool(rec.get("acknowledged_at")),
        "target": rec["target"],
        "area_kind": rec["area_kind"],
        "area_key": rec["area_key"],
        "name": rec["name"],
        "country": rec["country"],
        "country_name": rec["country_name"],
        "admin1": " ".join(rec["admin1"]),
        "as_of": rec["as_of"],
        "opened_as_of": rec["opened_as_of"],
        "risk": round(rec["risk"], 4),
        "risk_lo": round(rec["risk_lo"], 4),
        "risk_hi": round(rec["risk_hi"], 4),
        "rank": rec["rank"],
        "priority": round(rec["priority"], 4),
        "exposed": round(rec["exposed"], 1),
        "n_cells": rec["n_cells"],
        "model_id": rec["model_id"],
        "synthetic": bool(rec["synthetic"]),
    }
    doms = rec.get("domains") or {}
    for d in DOMAINS:
        props[f"contrib_{d}"] = doms.get(d)
    for i in range(3):
        f, d, c = drivers[i] if i < len(drivers) else ("", "", None)
        props[f"driver_{i + 1}"] = f
        props[f"driver_{i + 1}_domain"] = d
        props[f"driver_{i + 1}_contrib"] = c
    est = rec.get("estimates") or {}
    if est:  # region alerts only: grid alerts keep exactly the properties above
        props["year"] = est.get("year")
        for k in ("rate", "rate_lo", "rate_hi", "rate_standard_detection"):
            props[k] = est.get(k)
        props["rate_units"] = est.get("units")
    return props


def feature_collection(records: list[dict[str, Any]], *, as_of: str, synthetic: bool
                       ) -> dict[str, Any]:
    """The FeatureCollection dict for `records` (already ranked and filtered)."""
    feats = []
    for rec in records:
        coords = [[[[x, y] for x, y in ring] for ring in poly] for poly in rec["geometry"]]
        feats.append({"type": "Feature", "id": rec["alert_id"],
                      "geometry": {"type": "MultiPolygon", "coordinates": coords},
                      "properties": properties(rec)})
    fc: dict[str, Any] = {"type": "FeatureCollection", "as_of": as_of, "synthetic": synthetic,
                          "features": feats}
    if synthetic:
        fc["note"] = SYNTHETIC_NOTE
    elif len(as_of) == 4:  # a year: the real world's region alerts
        fc["note"] = REAL_NOTE
    return fc


def dumps(fc: dict[str, Any]) -> str:
    """Stable text for a FeatureCollection."""
    return json.dumps(fc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
