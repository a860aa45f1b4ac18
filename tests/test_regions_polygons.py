"""GDL region polygons: every feature read (none dropped), invalid outlines repaired with a
notice, and broken copies of the shipped GeoJSON refused with one line naming file, feature
and code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

from riskmodel.datasets import dataset_path
from riskmodel.errors import InputError
from riskmodel.regions import RegionSet, read_regions
from riskmodel.sources.codes import is_country_code
from riskmodel.sources.notices import Notices

GDL = dataset_path("gdl_subnational/gdl_regions.geojson")


@pytest.fixture(scope="module")
def doc() -> dict:
    return json.loads(GDL.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def read() -> tuple[RegionSet, Notices]:
    notices = Notices()
    return read_regions(GDL, notices), notices


def test_every_feature_is_a_region(read: tuple[RegionSet, Notices], doc: dict) -> None:
    regions, _ = read
    codes = [f["properties"]["gdlcode"] for f in doc["features"]]
    assert regions.codes == tuple(sorted(codes)) and len(regions.codes) == 1755
    assert all(is_country_code(c) for c in regions.iso3)
    assert len(regions.countries) == 185
    i = regions.codes.index("KENr101")
    assert regions.iso3[i] == "KEN" and regions.names[i] == "Nairobi"
    assert regions.iso3[regions.codes.index("KSVr101")] == "XKX"  # Kosovo's GDL prefix


def test_invalid_outlines_are_repaired_with_a_notice(read: tuple[RegionSet, Notices],
                                                     doc: dict) -> None:
    regions, notices = read
    raw = {f["properties"]["gdlcode"]: shape(f["geometry"]) for f in doc["features"]}
    invalid = sorted(c for c, g in raw.items() if not g.is_valid)
    assert len(invalid) == 60  # SOURCE.md: 54 self-intersections, 4 holes, 2 others
    assert [c for c, _ in regions.repaired] == invalid
    assert any("repaired 60 feature(s)" in line for line in notices.lines)
    for code in invalid:
        fixed = shape(regions.geometries[regions.codes.index(code)])
        assert fixed.is_valid and fixed.geom_type in ("Polygon", "MultiPolygon")
        # Repair keeps the region: its area within 5 % of the drawn outline's (bow ties of
        # simplification are small).
        assert abs(fixed.area - raw[code].area) <= 0.05 * raw[code].area + 1e-3, code
    untouched = regions.codes.index("KENr101")
    assert regions.geometries[untouched] == raw_geometry(doc, "KENr101")


def raw_geometry(doc: dict, code: str) -> dict:
    (geom,) = [f["geometry"] for f in doc["features"] if f["properties"]["gdlcode"] == code]
    return geom


def test_without_repair_a_crossing_ring_is_refused(tmp_path: Path, doc: dict) -> None:
    (feat,) = [f for f in doc["features"] if f["properties"]["gdlcode"] == "NLDr102"]
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}))
    with pytest.raises(InputError, match=r"one.geojson: feature 0 \(NLDr102\): .*crosses "
                                         r"itself"):
        read_regions(path, Notices(), repair=False)
    assert read_regions(path, Notices()).repaired[0][0] == "NLDr102"


def _broken(tmp_path: Path, doc: dict, change) -> Path:
    copy = json.loads(json.dumps(doc))
    change(copy["features"])
    path = tmp_path / "gdl_regions.geojson"
    path.write_text(json.dumps(copy))
    return path


def _set(k: int, key: str, value: object):
    def change(feats: list) -> None:
        feats[k]["properties"][key] = value
    return change


def _geometry(k: int, geom: object):
    def change(feats: list) -> None:
        feats[k]["geometry"] = geom
    return change


@pytest.mark.parametrize("change, expected", [
    (_geometry(3, {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}),
     r"feature 3 \(AFGr104\): polygon 0 ring 0 has 3 position\(s\)"),
    (_geometry(3, {"type": "Point", "coordinates": [0, 0]}),
     r"feature 3 \(AFGr104\): geometry type 'Point', expected Polygon or MultiPolygon"),
    (_geometry(3, {"type": "Polygon", "coordinates": [[[0, 0], [0, 91], [1, 91], [0, 0]]]}),
     r"feature 3 \(AFGr104\): coordinates outside lon \[-180, 180\], lat \[-90, 90\]"),
    (_set(5, "gdlcode", "AFG r106"), r"feature 5: gdlcode 'AFG r106' is not a region code"),
    (_set(5, "iso3", "AFX"), r"feature 5 \(AFGr106\): iso3 'AFX' is not an ISO 3166-1"),
    (_set(6, "gdlcode", "AFGr101"), r"feature 6: code AFGr101 repeats feature 0"),
    (_set(7, "gdlcode", None), r"feature 7: no property 'gdlcode'"),
])
def test_broken_copies_are_refused_in_one_line(tmp_path: Path, doc: dict, change,
                                               expected: str) -> None:
    path = _broken(tmp_path, doc, change)
    with pytest.raises(InputError) as err:
        read_regions(path, Notices())
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    assert __import__("re").search(expected, message), message


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gdl_regions.geojson"
    path.write_text(GDL.read_text(encoding="utf-8")[:5000])
    with pytest.raises(InputError, match=r"gdl_regions.geojson: invalid JSON at line 1"):
        read_regions(path, Notices())


def test_repaired_geometries_rasterise_like_shapely(read: tuple[RegionSet, Notices]) -> None:
    # The kernel's even-odd fill of a repaired geometry covers the same points as shapely.
    import numpy as np

    import kernels
    regions, _ = read
    code, _ = regions.repaired[0]
    geom = regions.geometries[regions.codes.index(code)]
    g = shape(geom)
    x0, y0, x1, y1 = g.bounds
    lon = np.linspace(x0, x1, 60)
    lat = np.linspace(y0, y1, 50)
    labels = kernels.rasterize_polygons([geom], lon, lat)
    xx, yy = np.meshgrid(lon, lat)
    inside = shapely.contains_xy(g, xx, yy)
    assert (labels == 0).sum() > 0
    assert ((labels == 0) != inside).mean() < 0.01
