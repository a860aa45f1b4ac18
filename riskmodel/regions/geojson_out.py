"""`regions.geojson`: one RFC 7946 Feature per region with its scores, estimates and drivers.

For a GIS or a dashboard: each region of the region risk dataset with its GDL polygon
(null geometry when GDL has none) and flat properties for one year (the run's `as_of` by
default): per target the relative risk score and its interval, the modelled estimate and
interval with its units spelled out, the top drivers in words with their direction, or
the reason the region is not scored. The collection carries the plain statement of what
the numbers are. Key-sorted JSON, identical bytes for identical input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.errors import InputError
from riskmodel.io.atomic import write_text
from riskmodel.regions.risk_dataset import (RATE_UNITS_TEXT, STATEMENT, driver_words,
                                            validate_region_risk)


def _num(v: float, digits: int = 4) -> float | None:
    return round(float(v), digits) if math.isfinite(float(v)) else None


def region_properties(ds: xr.Dataset, year: int) -> list[dict[str, Any]]:
    """The flat properties of every region in `year` (dataset order)."""
    y = {"year": year}
    targets = [str(t) for t in ds["target"].values]
    reasons = [str(x) for x in ds["status_reason"].values]
    pop = ds["population"].sel(y).values
    cols: dict[str, np.ndarray] = {}
    for t in targets:
        for v in ("risk", "risk_lo", "risk_hi", "score_status"):
            cols[f"{t}_{v}"] = ds[v].sel(target=t, **y).values
        for v in ("rate", "rate_lo", "rate_hi", "rate_standard_detection"):
            if f"{t}_{v}" in ds:
                cols[f"{t}_{v}"] = ds[f"{t}_{v}"].sel(y).values
    words = {t: driver_words(ds, t, year) for t in targets}
    out = []
    for i, code in enumerate(str(c) for c in ds["region"].values):
        p: dict[str, Any] = {"gdlcode": code, "iso3": str(ds["iso3"].values[i]),
                             "name": str(ds["region_name"].values[i]), "year": int(year),
                             "population": _num(pop[i], 0)}
        for t in targets:
            status = int(cols[f"{t}_score_status"][i])
            p[f"{t}_scored"] = status == 0
            p[f"{t}_unscored_reason"] = None if status == 0 else reasons[status]
            for v in ("risk", "risk_lo", "risk_hi"):
                p[f"{t}_{v}"] = _num(cols[f"{t}_{v}"][i])
            for v in ("rate", "rate_lo", "rate_hi", "rate_standard_detection"):
                if f"{t}_{v}" in cols:
                    p[f"{t}_{v}"] = _num(cols[f"{t}_{v}"][i], 3)
            p[f"{t}_rate_units"] = RATE_UNITS_TEXT[t]
            p[f"{t}_drivers"] = words[t][i] if status == 0 else []
        out.append(p)
    return out


def region_collection(ds: xr.Dataset, polygons: Mapping[str, Mapping[str, Any]],
                      year: int | None = None) -> dict[str, Any]:
    """The FeatureCollection dict of every region of `ds` in `year` (default `as_of`);
    `polygons` maps gdlcode to a GeoJSON Polygon/MultiPolygon geometry (lon, lat)."""
    validate_region_risk(ds)
    y = int(ds.attrs["as_of"]) if year is None else int(year)
    feats = []
    for props in region_properties(ds, y):
        geom = polygons.get(props["gdlcode"])
        if geom is not None and geom.get("type") not in ("Polygon", "MultiPolygon"):
            raise InputError(f"polygon of {props['gdlcode']}: type {geom.get('type')!r}; "
                             f"expected Polygon or MultiPolygon")
        feats.append({"type": "Feature", "id": props["gdlcode"],
                      "geometry": ({"type": geom["type"], "coordinates": geom["coordinates"]}
                                   if geom is not None else None),
                      "properties": props})
    return {"type": "FeatureCollection", "as_of": str(y), "synthetic": False,
            "statement": STATEMENT,
            "model_ids": {str(t): str(ds.attrs.get(f"model_id_{t}", ""))
                          for t in ds["target"].values},
            "features": feats}


def write_regions_geojson(ds: xr.Dataset, polygons: Mapping[str, Mapping[str, Any]],
                          dest: Path | str, year: int | None = None) -> Path:
    """Write `regions.geojson` (see `region_collection`) atomically at `dest`."""
    fc = region_collection(ds, polygons, year)
    dest = Path(dest)
    write_text(dest, json.dumps(fc, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False, allow_nan=False) + "\n")
    return dest
