"""The run report's interactive map in a real browser, opened from disk with no network:
headless Chromium (the Debian package) driven by Playwright hovers an alerted admin-1 area
and reads its tooltip (area, risk, interval, drivers, alert), zooms in, and sees no request
leave the run folder.

Skipped only when Chromium or Playwright is absent and CI is not set (as the portal's
browser test). `RISKMODEL_REPORT_SHOTS=DIR` keeps the screenshots there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from test_portal_browser import ARGS, CHROMIUM, _need


def test_hover_an_alert_area_shows_its_tooltip_and_the_map_zooms(tiny_run: dict,
                                                                  tmp_path: Path) -> None:
    _need(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _need(False, f"playwright missing: {exc.name}")
    run_dir = Path(tiny_run["run_dir"])
    alerts = [f["properties"] for f in
              json.loads((run_dir / "alerts.geojson").read_text())["features"]
              if f["properties"]["state"] != "resolved"
              and f["properties"]["area_kind"] == "admin1"]
    assert alerts, "the tiny run should raise admin-1 alerts"
    alert = alerts[0]
    with xr.open_dataset(run_dir / "risk.nc") as risk:
        codes = [str(c) for c in risk["admin1"].values]
        unit = codes.index(alert["area_key"])
        iy, ix = np.argwhere(risk["admin1_id"].values == unit)[0]
        lat, lon = float(risk["lat"].values[iy]), float(risk["lon"].values[ix])
        name = str(risk["admin1_name"].values[unit])
    shots = Path(os.environ.get("RISKMODEL_REPORT_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    map_id = f"map-{alert['target']}-live"
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(
                (run_dir.as_uri(), "data:")) else problems.append("external: " + r.url))
            page.goto((run_dir / "report.html").as_uri())
            page.wait_for_selector("body[data-maps-ready='1']", timeout=20000)
            node = page.locator(f"#{map_id}")
            node.scroll_into_view_if_needed()
            assert page.locator(f"#{map_id} path.map-alert").count() >= 1
            # A cell of the alerted unit, in page pixels (the map knows its projection).
            x, y = page.evaluate(
                "([id, lat, lon]) => { const n = document.getElementById(id);"
                " const p = n.riskmap.latLngToContainerPoint([lat, lon]);"
                " const r = n.getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }",
                [map_id, lat, lon])
            page.mouse.move(x - 3, y - 3)
            page.mouse.move(x, y)
            tip = page.locator(".leaflet-tooltip .area-tip")
            tip.wait_for(state="visible", timeout=10000)
            text = tip.inner_text()
            page.screenshot(path=str(shots / "report-map-hover.png"))
            assert text.startswith(f"{name} ({alert['area_key']})")
            assert "risk" in text and "80% interval" in text
            assert f"Alert {alert['alert_id']}" in text
            # The info panel holds the same and the drivers in words.
            info = page.locator(f"#{map_id} .map-info").inner_text()
            assert info.startswith(text.splitlines()[0]) and "raises risk" in info
            # Zoom: the risk image grows on the + button.
            image = page.locator(f"#{map_id} img.leaflet-image-layer")
            before = image.bounding_box()["width"]
            page.locator(f"#{map_id} .leaflet-control-zoom-in").click()
            page.wait_for_function(
                "([id, w]) => document.querySelector('#' + id + ' img.leaflet-image-layer')"
                ".getBoundingClientRect().width > w * 1.5", arg=[map_id, before])
        finally:
            browser.close()
    assert problems == []
