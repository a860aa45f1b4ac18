"""The run report a manager acts on: every alert in a table with its state, risk interval
and drivers in words (meaning, level, direction, units), alert areas outlined on the maps,
the interactive map's data (admin-1 areas with their tooltips, alert outlines) and the
vendored Leaflet beside it, with hostile area names kept as text."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from features import CATALOGUE
from riskmodel.checks.rows import FeatureRows
from riskmodel.report.drivers import area_levels, describe_driver, level_word
from riskmodel.report.interactive import LEAFLET_DIR, json_for_script
from riskmodel.report.run_report import (DEFAULT_SECTIONS, ReportContext, admin1_polygons,
                                         write_run_report)


def map_docs(page: str) -> dict[str, dict]:
    """The JSON of every interactive map of a report page, by map id."""
    found = re.findall(r"<script type='application/json' id='([^']+)-data'>(.*?)</script>",
                       page, flags=re.S)
    return {mid: json.loads(text) for mid, text in found}


def test_levels_compare_each_area_with_the_others() -> None:
    names = ("a", "b")
    # 4 areas of 2 cells each; feature a rises with the area, b is NaN in area 3.
    groups = np.repeat(np.arange(4), 2)
    values = np.stack([groups * 10.0, np.where(groups == 3, np.nan, 5.0 - groups)], axis=1)
    weights = np.ones(8)
    lv = area_levels(names, values, groups, weights, 4)
    assert np.allclose(lv.means[:, 0], [0, 10, 20, 30])
    assert np.allclose(lv.pct[:, 0], [0, 100 / 3, 200 / 3, 100])
    assert lv.of(3, "b") is None and lv.of(0, "missing") is None
    assert lv.of(0, "b") == (5.0, 100.0)  # highest of the three known areas
    # Weights: a cell with no people does not move its area's mean.
    lv2 = area_levels(names, values + np.array([[0, 0], [100, 0]] * 4), groups,
                      np.array([1.0, 0.0] * 4), 4)
    assert np.allclose(lv2.means[:, 0], [0, 10, 20, 30])
    assert [level_word(p) for p in (0, 50, 100)] == ["low", "middling", "high"]


def test_driver_in_words_has_meaning_level_units_and_direction() -> None:
    entry = CATALOGUE["log_gdp_per_capita"]
    text = describe_driver("log_gdp_per_capita", 0.4213, (6.123, 10.0))
    assert text == (f"{entry.meaning}: low (6.12 {entry.units}, below 90% of areas); "
                    f"raises risk (+0.42 log-odds)")
    assert describe_driver("poverty_rate", -0.2, (0.61, 95.0)).endswith(
        ": high (0.61, above 95% of areas); lowers risk (-0.20 log-odds)")
    assert describe_driver("unknown_feature", None, None) == "unknown_feature"


def test_json_in_a_script_element_cannot_close_it() -> None:
    text = json_for_script({"name": "</script><script>alert(1)</script> & <b>"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script> & <b>"}


@pytest.fixture(scope="module")
def report(tiny_run: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny run's folder (report written by the night) and what the report reads."""
    run_dir = Path(tiny_run["run_dir"])
    with xr.open_dataset(run_dir / "risk.nc") as ds:
        risk = ds.load()
    geo = json.loads((run_dir / "alerts.geojson").read_text())
    return {"run_dir": run_dir, "risk": risk, "alerts": geo["features"],
            "page": (run_dir / "report.html").read_text(encoding="utf-8"),
            "manifest": json.loads((run_dir / "manifest.json").read_text())}


def test_every_alert_is_a_row_with_state_interval_and_drivers_in_words(report: dict) -> None:
    page, alerts = report["page"], report["alerts"]
    assert alerts, "the tiny run should raise alerts (tests/conftest.py tiny_run)"
    table = page[page.index("<table class='alerts'>"):]
    table = table[:table.index("</table>")]
    rows = table.split("<tr>")[2:]
    assert len(rows) == len(alerts)
    backfilled = set(report["manifest"]["backfilled"])
    for f in alerts:
        p = f["properties"]
        row = next(r for r in rows if p["alert_id"] in r)
        assert p["name"] in row and p["country_name"] in row and p["country"] in row
        assert f"{p['risk']:.2f}" in row and f"{p['risk_lo']:.2f}-{p['risk_hi']:.2f}" in row
        assert f"{p['priority']:.2f}" in row
        if p["state"] == "ongoing" and p["opened_as_of"] in backfilled:
            assert "new (opened " + p["opened_as_of"] in row  # first delivery to partners
        else:
            assert f">{p['state']}<" in row
        # Drivers in words: the catalogue's meaning, low/high with units, the direction.
        entry = CATALOGUE[p["driver_1"]]
        assert entry.meaning in row and p["driver_1"] not in row
        assert re.search(r": (low|middling|high) \(", row)
        assert f"raises risk (+{p['driver_1_contrib']:.2f} log-odds)" in row
    assert page.count("<h2>Warnings</h2>") == 1 and "<a id='warnings'></a>" in page


def test_maps_outline_the_alert_areas_and_hover_data_covers_every_area(report: dict) -> None:
    page, risk, run_dir = report["page"], report["risk"], report["run_dir"]
    docs = map_docs(page)
    assert sorted(docs) == ["map-cl-live", "map-fl-live"]
    shared = re.search(r"<script type='application/json' id='admin1-shapes'>(.*?)</script>",
                       page, flags=re.S)
    shapes = {f["properties"]["key"] for f in json.loads(shared.group(1))["features"]}
    assert all(d["shapes"] == "admin1-shapes" for d in docs.values())
    land_units = {int(u) for u in np.unique(risk["admin1_id"].values) if u >= 0}
    for t in ("fl", "cl"):
        doc = docs[f"map-{t}-live"]
        assert (run_dir / doc["image"]).is_file()
        keys = set(doc["area_props"])
        assert keys == {str(risk["admin1"].values[u]) for u in land_units} == shapes
        mine = sorted(f["properties"]["alert_id"] for f in report["alerts"]
                      if f["properties"]["target"] == t
                      and f["properties"]["state"] != "resolved")
        assert sorted(f["properties"]["alert_id"] for f in doc["alerts"]["features"]) == mine
        for p in doc["area_props"].values():
            assert "risk" in p["risk"] and "80% interval" in p["risk"]
            assert p["title"].startswith(str(risk["admin1_name"].values[
                list(risk["admin1"].values).index(p["key"])]))
        # An alerted area's tooltip names its alert.
        for aid in mine:
            assert any(aid in a for p in doc["area_props"].values() for a in p["alerts"])
    for name in ("leaflet.js", "leaflet.css", "LICENSE"):
        assert (run_dir / "maps" / "leaflet" / name).read_bytes() == \
            (LEAFLET_DIR / name).read_bytes()
    assert "src='maps/leaflet/leaflet.js'" in page and "href='maps/leaflet/leaflet.css'" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from a network


def test_static_map_draws_the_alert_outline(report: dict, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    from riskmodel.report.maps import OUTLINE_COLOUR

    alerted = {f["properties"]["target"] for f in report["alerts"]
               if f["properties"]["state"] != "resolved"}
    assert alerted
    rgb = tuple(int(OUTLINE_COLOUR[i:i + 2], 16) / 255 for i in (1, 3, 5))
    for t in ("fl", "cl"):
        img = mpimg.imread(report["run_dir"] / "maps" / f"risk_{t}.png")[..., :3]
        hits = int((np.abs(img - np.array(rgb)).max(axis=-1) < 0.02).sum())
        # The outline colour appears only where an alert area is drawn (and in its legend).
        assert (hits > 200) == (t in alerted), (t, hits)


def test_admin1_polygons_cover_each_unit_exactly() -> None:
    lab = np.array([[0, 0, 1], [0, -1, 1], [2, 2, 2]])
    ds = xr.Dataset({"admin1_id": (("lat", "lon"), lab)},
                    coords={"lat": [0.5, 1.5, 2.5], "lon": [10.5, 11.5, 12.5]})
    polys = admin1_polygons(ds)
    assert sorted(polys) == [0, 1, 2]
    assert polys[1] == [[[(12.0, 0.0), (13.0, 0.0), (13.0, 2.0), (12.0, 2.0), (12.0, 0.0)]]]
    assert polys[2] == [[[(10.0, 2.0), (13.0, 2.0), (13.0, 3.0), (10.0, 3.0), (10.0, 2.0)]]]


def test_hostile_names_stay_text_and_levels_come_from_feature_rows(report: dict,
                                                                   tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(report["run_dir"], run_dir)
    evil = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"
    risk = report["risk"].copy(deep=True)
    names = risk["admin1_name"].values.astype(object)
    names[:] = evil
    risk["admin1_name"] = ("admin1", names)
    geo = json.loads((run_dir / "alerts.geojson").read_text())
    for f in geo["features"]:
        f["properties"]["name"] = evil
    (run_dir / "alerts.geojson").write_text(json.dumps(geo))
    # Feature rows of the land cells: the first feature equal to the cell's admin-1 index,
    # so levels must rank the units in index order.
    land = np.flatnonzero(risk["country_id"].values.ravel() >= 0)
    admin = risk["admin1_id"].values.ravel()[land].astype(float)
    names_f = tuple(str(n) for n in risk["feature"].values)
    values = np.tile(admin[:, None], (1, len(names_f)))
    page = write_run_report(run_dir, risk, report["manifest"],
                            report["manifest"]["summary"]["alerts"], None,
                            features=FeatureRows(names_f, values.astype(np.float32)))
    text = page.read_text(encoding="utf-8")
    assert evil not in text and "<img src=x" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # shown, escaped
    # Leaflet, the map script, the shared outlines and each map's data; nothing else.
    assert text.count("<script") == 3 + len(map_docs(text))
    index = {str(c): i for i, c in enumerate(risk["admin1"].values)}
    for f in geo["features"]:  # each alert's level is its unit's value: the unit index
        p = f["properties"]
        assert re.search(rf": (low|middling|high) \({index[p['area_key']]}\.00[ ,]", text)
    docs = map_docs(text)
    assert all(p["title"].startswith(evil) for d in docs.values()
               for p in d["area_props"].values())


def test_sections_are_a_sequence_a_new_one_joins(report: dict, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(report["run_dir"], run_dir)

    def kpis(ctx: ReportContext) -> str:
        return f"<h2>KPIs</h2><p>{len(ctx.alert_features)} alerts</p>"

    page = write_run_report(run_dir, report["risk"], report["manifest"],
                            report["manifest"]["summary"]["alerts"], None,
                            sections=(*DEFAULT_SECTIONS, kpis)).read_text()
    assert f"<h2>KPIs</h2><p>{len(report['alerts'])} alerts</p>" in page
    assert page.index("<h2 id='alerts'>") < page.index("<h2>KPIs</h2>")
