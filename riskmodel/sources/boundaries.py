"""GeoJSON region boundaries: read and check a FeatureCollection of (Multi)Polygons keyed
by a code property, and rasterise it onto a lat/lon grid with `kernels.rasterize_polygons`.

Errors name the file and the feature (index and code): invalid JSON, not a
FeatureCollection, a feature without the code property, an unknown or duplicate code, a
geometry that is not a (Multi)Polygon, coordinates outside WGS 84 lon/lat ranges, and rings
that cannot enclose anything or enclose it ambiguously: fewer than four positions, not
closed, non-finite numbers, zero area, or crossing themselves (a ring that merely touches
itself, as some Natural Earth outlines do, is accepted: its area is the same either way).
Such a ring would silently rasterise to no cells and turn a country's values to NaN. Codes
in `skip_codes` (Natural Earth's -99 for disputed areas) are dropped with a notice.

Sub-national regions (`country_property` given) are keyed by plain region codes (GDL's
`AFGr101`) with each region's ISO alpha-3 country in that property, and optionally a name.
With `repair`, a feature that is not OGC-valid (a ring crossing itself, a hole outside its
shell) is repaired with `shapely.make_valid`, keeping its polygonal parts, and listed in a
notice with the reason, instead of refusing the file: simplified published outlines (GDL's)
have dozens of such features, and dropping them would drop whole regions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import kernels
from riskmodel.errors import InputError
from riskmodel.sources.codes import is_country_code, is_region_code
from riskmodel.sources.notices import Notices


@dataclass(frozen=True)
class Boundaries:
    """Checked boundaries: `codes[i]` (ISO alpha-3, or a region code) has `geometries[i]`
    (GeoJSON mapping); for sub-national regions `countries[i]` is its ISO alpha-3 country
    and `names[i]` its name ("" when the file gives none); `repaired` lists the codes whose
    geometry was repaired (`repair`), each with the reason."""

    path: Path
    codes: tuple[str, ...]
    geometries: tuple[dict[str, Any], ...]
    countries: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    repaired: tuple[tuple[str, str], ...] = ()


def _repaired(geom: Any) -> tuple[dict[str, Any], str] | None:
    """(the repaired geometry as a GeoJSON mapping, why it was invalid) for a geometry (a
    GeoJSON mapping or a shapely geometry) that is not OGC-valid; None when it is valid.
    The "structure" method of `shapely.make_valid` unions the exterior rings and subtracts
    the holes, keeping only polygonal parts. Raises ValueError when nothing is left."""
    import shapely
    from shapely.geometry import mapping, shape
    g = shape(geom) if isinstance(geom, dict) else geom
    if g.is_valid:
        return None
    why = shapely.is_valid_reason(g)
    fixed = shapely.make_valid(g, method="structure", keep_collapsed=False)
    if fixed.is_empty or fixed.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"not OGC-valid ({why}) and nothing polygonal is left when "
                         f"repaired")
    # GeoJSON nesting (lists, not shapely's tuples), as the features read from the file.
    return json.loads(json.dumps(mapping(fixed))), why


def _ring_bounds(coords: Any) -> tuple[float, float, float, float]:
    pts = np.asarray([p for poly in coords for ring in poly for p in ring], dtype=float)
    if pts.ndim != 2 or pts.shape[1] < 2 or len(pts) == 0:
        raise ValueError("coordinates are not rings of (lon, lat) pairs")
    if not np.isfinite(pts[:, :2]).all():
        raise ValueError("coordinates hold NaN or infinite numbers")
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()),
            float(pts[:, 1].max()))


def _check_rings(polys: Any, valid: bool = False, area: bool = True) -> None:
    """Raise ValueError naming the polygon and ring that cannot be rasterised honestly.
    `valid`: the geometry is known to be OGC-valid, so no ring crosses itself (the costly
    repair comparison is skipped); `area=False` checks positions and closure only."""
    import shapely
    from shapely.geometry import Polygon
    for i, poly in enumerate(polys):
        if not isinstance(poly, list) or not poly:
            raise ValueError(f"polygon {i} has no rings")
        for j, ring in enumerate(poly):
            where = f"polygon {i} ring {j}"
            pts = np.asarray(ring, dtype=float)[:, :2]
            if len(pts) < 4:
                raise ValueError(f"{where} has {len(pts)} position(s); a ring needs at "
                                 f"least 4 (closed)")
            if not np.array_equal(pts[0], pts[-1]):
                raise ValueError(f"{where} is not closed (first position != last)")
            if not area:
                continue
            x, y = pts[:, 0], pts[:, 1]
            signed = 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))
            if valid:
                if signed == 0.0:
                    raise ValueError(f"{where} encloses no area")
                continue
            # A crossing ring (a bow tie) has a shoelace area different from the area it
            # encloses when repaired; a ring that only touches itself keeps the same area.
            # Slivers below ~10 m2 (1e-9 square degrees) are too small to matter.
            fixed = float(shapely.make_valid(Polygon(pts)).area)
            if fixed == 0.0:
                raise ValueError(f"{where} encloses no area")
            if abs(fixed - signed) > 1e-6 * fixed + 1e-9:
                raise ValueError(f"{where} crosses itself (area {signed:.6g} read as drawn, "
                                 f"{fixed:.6g} repaired)")


def _validity(text: str, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(OGC validity, shapely geometry) of each of the `n` features, read by GEOS in one
    pass; None when GEOS cannot read the collection whole (each feature is then checked
    alone, which names the broken one)."""
    import shapely
    try:
        parts = shapely.get_parts(shapely.from_geojson(text))
    except Exception:  # noqa: BLE001 - GEOS raises several types; the slow path names it
        return None
    if len(parts) != n:
        return None
    return np.asarray(shapely.is_valid(parts), dtype=bool), parts


def read_geojson(path: Path, code_property: str, skip_codes: tuple[str, ...],
                 notices: Notices, *, country_property: str | None = None,
                 name_property: str | None = None, repair: bool = False) -> Boundaries:
    """Read and check a GeoJSON FeatureCollection; the features sorted by code.

    With `country_property` the codes are sub-national region codes and that property
    gives each one's ISO alpha-3 country; `name_property` names them; `repair` repairs
    invalid polygons with a notice (module docstring). Raises `InputError` naming the file
    and feature on the first problem; skipped codes are added to `notices`.
    """
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputError(f"{path}: not a GeoJSON FeatureCollection")
    feats = doc.get("features")
    if not isinstance(feats, list) or not feats:
        raise InputError(f"{path}: the FeatureCollection has no features")
    validity = _validity(text, len(feats))
    by_code: dict[str, tuple[int, dict[str, Any]]] = {}
    country: dict[str, str] = {}
    name: dict[str, str] = {}
    repaired: list[tuple[str, str]] = []
    skipped = []
    for k, feat in enumerate(feats):
        props = (feat or {}).get("properties") or {}
        code = props.get(code_property)
        where = f"{path}: feature {k}"
        if code is None:
            raise InputError(f"{where}: no property {code_property!r}")
        code = str(code).strip()
        if code in skip_codes:
            skipped.append(f"{k} ({props.get('NAME_EN', props.get('name', code))})")
            continue
        if country_property is None and not is_country_code(code):
            raise InputError(f"{where}: {code_property} {code!r} is not an ISO 3166-1 "
                             f"alpha-3 code")
        if country_property is not None:
            if not is_region_code(code):
                raise InputError(f"{where}: {code_property} {code[:40]!r} is not a region "
                                 f"code (letters, digits, '.', '_' or '-', at most 32)")
            iso = str(props.get(country_property) or "").strip()
            if not is_country_code(iso):
                raise InputError(f"{where} ({code}): {country_property} {iso[:40]!r} is not "
                                 f"an ISO 3166-1 alpha-3 code")
            country[code] = iso
            label = props.get(name_property) if name_property else None
            name[code] = "" if label is None else str(label).strip()
        if code in by_code:
            raise InputError(f"{where}: code {code} repeats feature {by_code[code][0]}")
        geom = feat.get("geometry") or {}
        kind = geom.get("type")
        if kind not in ("Polygon", "MultiPolygon"):
            raise InputError(f"{where} ({code}): geometry type {kind!r}, expected Polygon "
                             f"or MultiPolygon")
        valid = bool(validity[0][k]) if validity is not None else False
        try:
            polys = [geom.get("coordinates")] if kind == "Polygon" else geom.get("coordinates")
            x0, y0, x1, y1 = _ring_bounds(polys)
            # Structure first (positions, closure, area), so a broken ring is named as such
            # rather than as something a repair could not mend.
            _check_rings(polys, area=False)
            fixed = (_repaired(geom if validity is None else validity[1][k])
                     if repair and not valid else None)
            if fixed is not None:
                geom = fixed[0]
                repaired.append((code, fixed[1]))
                polys = ([geom["coordinates"]] if geom["type"] == "Polygon"
                         else geom["coordinates"])
            _check_rings(polys, valid=valid or fixed is not None)
        except (TypeError, ValueError, IndexError, AttributeError) as exc:
            raise InputError(f"{where} ({code}): {exc}") from None
        if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
            raise InputError(f"{where} ({code}): coordinates outside lon [-180, 180], "
                             f"lat [-90, 90] (bounds {x0:g}, {y0:g}, {x1:g}, {y1:g}); "
                             f"expected WGS 84 degrees")
        by_code[code] = (k, geom)
    if skipped:
        notices.add(f"{path}: skipped feature(s) with {code_property} in {list(skip_codes)}: "
                    f"{', '.join(skipped)}")
    if repaired:
        shown = ", ".join(f"{c} ({why})" for c, why in repaired[:5])
        notices.add(f"{path}: repaired {len(repaired)} feature(s) that are not OGC-valid "
                    f"with shapely.make_valid (polygonal parts kept): {shown}"
                    f"{', ...' if len(repaired) > 5 else ''}")
    codes = tuple(sorted(by_code))
    return Boundaries(path, codes, tuple(by_code[c][1] for c in codes),
                      tuple(country[c] for c in codes) if country_property else (),
                      tuple(name[c] for c in codes) if country_property else (),
                      tuple(sorted(repaired)))


def rasterize(bounds: Boundaries, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Region index raster (lat, lon) int32: i where cell centre (lon[j], lat[i]) is inside
    `bounds.geometries[i]`, -1 elsewhere. `lat`/`lon` are cell centres in degrees, `lon`
    strictly increasing."""
    return kernels.rasterize_polygons(list(bounds.geometries), np.asarray(lon, float),
                                      np.asarray(lat, float))
