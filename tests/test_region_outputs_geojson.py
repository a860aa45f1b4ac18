"""regions.geojson: every region with its polygon, scores, estimates with units, drivers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from region_fixtures import CODES, polygons, region_risk  # noqa: E402

from riskmodel.errors import InputError  # noqa: E402
from riskmodel.regions.geojson_out import region_collection, write_regions_geojson  # noqa: E402


def test_every_region_is_a_feature_with_scores_units_and_drivers(tmp_path: Path) -> None:
    ds, polys = region_risk(), polygons()
    path = write_regions_geojson(ds, polys, tmp_path / "regions.geojson")
    fc = json.loads(path.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and fc["as_of"] == "2019"
    assert fc["synthetic"] is False and "not validated at region level" in fc["statement"]
    assert [f["id"] for f in fc["features"]] == list(CODES)
    ghana = fc["features"][0]
    assert ghana["geometry"] == polys["GHAr101"]
    p = ghana["properties"]
    assert p["iso3"] == "GHA" and p["name"] == "Western" and p["year"] == 2019
    assert p["cl_risk"] == round(float(ds["risk"].sel(target="cl", year=2019)[0]), 4)
    assert p["cl_risk_lo"] <= p["cl_risk"] <= p["cl_risk_hi"]
    assert p["cl_rate_units"] == "% of children aged 5-17"
    assert p["fl_rate_units"] == "per 100,000 population"
    assert p["fl_rate_standard_detection"] is not None and "cl_rate_standard_detection" not in p
    assert p["cl_drivers"][0].startswith("mean years of schooling")
    assert " the estimate (" in p["cl_drivers"][0]
    togo = fc["features"][CODES.index("TGOr103")]["properties"]
    assert togo["cl_scored"] is False and togo["cl_risk"] is None and togo["cl_drivers"] == []
    assert togo["cl_unscored_reason"] == "no outcome-model inputs for this country"
    assert togo["fl_scored"] is True
    # Same input, same bytes; an earlier year on request.
    again = write_regions_geojson(ds, polys, tmp_path / "again.geojson")
    assert again.read_bytes() == path.read_bytes()
    assert region_collection(ds, polys, 2017)["features"][0]["properties"]["year"] == 2017


def test_region_without_polygon_has_null_geometry_and_bad_geometry_is_refused() -> None:
    polys = polygons()
    del polys["GHAr102"]
    fc = region_collection(region_risk(), polys)
    assert fc["features"][1]["geometry"] is None
    polys["GHAr102"] = {"type": "Point", "coordinates": [0, 0]}
    with pytest.raises(InputError, match="polygon of GHAr102: type 'Point'"):
        region_collection(region_risk(), polys)
