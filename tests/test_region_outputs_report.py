"""The real world's report: choropleth maps (colours, labels that never overlap) and
report.html (statement, top regions with drivers, coverage, unscored regions)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import xarray as xr
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from region_fixtures import CODES, polygons, region_risk  # noqa: E402

from riskmodel.regions.risk_dataset import STATEMENT  # noqa: E402
from riskmodel.report.choropleth import (exterior_rings, label_point,  # noqa: E402
                                         save_choropleth)
from riskmodel.config import ReportConfig
from riskmodel.report.region_report import write_region_report  # noqa: E402


def square(x: float, y: float, d: float = 1.0) -> dict:
    return {"type": "Polygon",
            "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def test_choropleth_colours_by_value_and_drops_overlapping_labels(tmp_path: Path) -> None:
    polys = {"AAAr101": square(0, 0), "AAAr102": square(1, 0), "AAAr103": square(2, 0)}
    values = {"AAAr101": 0.0, "AAAr102": 1.0, "AAAr103": float("nan")}
    labels = [("first", "AAAr101"), ("first-again", "AAAr101"), ("second", "AAAr102")]
    path, placed = save_choropleth(values, polys, tmp_path / "m.png", title="t",
                                   label="percentile (0-1)", cmap="Greys", labels=labels)
    # The second label on the same spot would overlap the first: left out, never drawn.
    assert placed == ["first", "second"]
    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert img.shape[0] > 100
    # Greys: 0 is white, 1 is black; the unscored square is grey and hatched.
    dark = (img.sum(axis=2) < 60).sum()
    assert dark > 500


def test_label_point_lies_inside_a_crescent() -> None:
    c = {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 3], [3, 3],
                                             [3, 1], [0, 1], [0, 0]]]}
    from matplotlib.path import Path as MPath
    x, y = label_point(c)
    assert MPath(exterior_rings(c)[0]).contains_point((x, y))
    assert not (1 < y < 3 and x < 3)  # not in the notch, where the vertex mean falls


def coverage() -> xr.DataArray:
    a = np.ones((2, 3, 4), dtype=bool)
    a[0, 1, 1:3] = False  # TGO lacks gdl in 2017-2018
    a[1, 2, :] = False  # RUS lacks ucdp entirely
    return xr.DataArray(a, dims=("input", "country", "year"),
                        coords={"input": ["gdl", "ucdp"], "country": ["GHA", "TGO", "RUS"],
                                "year": [2016, 2017, 2018, 2019]})


def test_report_says_what_scores_are_and_lists_everything(tmp_path: Path) -> None:
    ds = region_risk()
    ds = ds.assign_coords(region_name=("region", ["<b>Western</b>", *ds["region_name"]
                                                  .values[1:].tolist()]))
    alerts = [{"target": "fl", "area_key": "TGOr102", "country": "TGO", "state": "new"}]
    path = write_region_report(ds, polygons(), tmp_path, coverage=coverage(), alerts=alerts,
                               options=ReportConfig(top_regions=5, country_maps=2))
    html = path.read_text(encoding="utf-8")
    assert STATEMENT.replace("'", "&#x27;") in html
    assert "<b>Western</b>" not in html and "&lt;b&gt;Western&lt;/b&gt;" in html
    for img in re.findall(r"src='(maps/[^']+)'", html):
        assert (tmp_path / img).is_file(), img
    maps = sorted(p.name for p in (tmp_path / "maps").glob("*.png"))
    # Four world maps; the alert's country first, then the top regions' country.
    assert {"regions-risk-cl.png", "regions-risk-fl.png", "regions-estimate-cl.png",
            "regions-estimate-fl.png"} <= set(maps)
    assert html.index("country-TGO-cl.png") < min(
        html.index(f"country-{c}-cl.png") for c in ("GHA", "RUS") if f"country-{c}-cl" in html)
    assert len([m for m in maps if m.startswith("country-")]) == 4
    # Top regions: the highest score first, with its estimate's units and drivers in words.
    r = ds["risk"].sel(target="cl", year=2019).values
    best = CODES[int(np.nanargmax(r))]
    cl_table = html[html.index("<h3>Child labour</h3>"):html.index("<h3>Forced labour</h3>")]
    assert cl_table.index(best) < min(cl_table.index(c) for c in CODES
                                      if c != best and c in cl_table)
    assert "% of children aged 5-17" in cl_table and "the estimate (" in cl_table
    assert ">new<" in html  # the alert's state beside its region
    # Coverage: gaps with their years, inputs missing entirely.
    assert "TGO (2017–2018)" in html and "RUS" in html[html.index("<td>ucdp"):]
    # Every unscored region with its reason.
    tail = html[html.index("Regions without a score"):]
    assert "TGOr103" in tail and "RUSr107" in tail
    assert "no outcome-model inputs for this country" in tail
    assert "2 region-target pairs have no score for 2019" in tail


def test_report_without_coverage_or_alerts(tmp_path: Path) -> None:
    path = write_region_report(region_risk(), polygons(), tmp_path,
                               options=ReportConfig(country_maps=0))
    html = path.read_text(encoding="utf-8")
    assert "No coverage table was given" in html and "maps/country-" not in html


def test_every_output_of_a_real_night_from_one_dataset(tmp_path: Path) -> None:
    """risk.nc, regions.geojson, alerts and the report from the fixture, as a night
    writes them: the report marks the alerted regions and maps their countries first."""
    import json
    from datetime import datetime, timezone

    from riskmodel.alerts.publish import publish_alerts
    from riskmodel.config import AlertsConfig
    from riskmodel.regions.geojson_out import write_regions_geojson
    from riskmodel.regions.risk_dataset import write_region_risk_nc
    from riskmodel.report.region_report import alerts_from_run

    ds, polys = region_risk(), polygons()
    run = tmp_path / "run"
    write_region_risk_nc(ds, run / "risk.nc")
    write_regions_geojson(ds, polys, run / "regions.geojson")
    assert alerts_from_run(run) == []
    cfg = AlertsConfig(store=str(tmp_path / "alerts.sqlite"),
                       rules=str(Path(__file__).resolve().parents[1] / "configs"
                                 / "alerts-real.toml"))
    s = publish_alerts(ds, run_dir=run, cfg=cfg, run_id="real-2019", polygons=polys,
                       sent=datetime(2026, 3, 1, tzinfo=timezone.utc))
    records = alerts_from_run(run)
    assert len(records) == s["new"] > 0
    html = write_region_report(ds, polys, run, alerts=records,
                               options=ReportConfig(country_maps=1)).read_text()
    first = records[0]
    assert f"country-{first['country']}-cl.png" in html and ">new<" in html
    assert json.loads((run / "regions.geojson").read_text())["as_of"] == "2019"
    (run / "alerts.geojson").write_text("[1, 2]")
    import pytest

    from riskmodel.errors import InputError
    with pytest.raises(InputError, match="alerts.geojson: not an alerts FeatureCollection"):
        alerts_from_run(run)


def test_alert_state_on_a_first_delivery_and_after(tmp_path: Path) -> None:
    """A first delivery's alerts read as new to partners (the grid report's wording);
    later nights say since when an open alert has been open."""
    from riskmodel.report.region_report import alert_state

    new = {"target": "cl", "area_key": "GHAr101", "country": "GHA", "state": "new",
           "opened_as_of": "2019"}
    assert alert_state(new, first_delivery=True) == "new (opened 2019, first delivery)"
    assert alert_state(new) == "new"
    old = {**new, "state": "ongoing", "opened_as_of": "2017"}
    assert alert_state(old) == "ongoing (opened 2017)"
    assert alert_state({**old, "state": "resolved"}) == "resolved"
    path = write_region_report(region_risk(), polygons(), tmp_path, alerts=[new],
                               options=ReportConfig(country_maps=0), first_delivery=True)
    html = path.read_text(encoding="utf-8")
    assert ">new (opened 2019, first delivery)<" in html and "first delivery:" in html
