"""The portal page in a real browser: headless Chromium (the Debian package) driven by
Playwright. A partner opens the page with its token, sees its alerts on the map, reads
one, acknowledges it and reports a visit's outcome; the store then holds those rows.

Skipped only when Chromium or Playwright is absent and CI is not set; under CI=true a
missing browser fails the test. `RISKMODEL_PORTAL_SHOTS=DIR` keeps the screenshots there.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from portal_fixtures import build_store

from riskmodel.alerts.store import AlertStore

CHROMIUM = os.environ.get("RISKMODEL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _need(ok: bool, why: str) -> None:
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{why} (CI is set: the browser test must run; .ci/run installs chromium)")
    pytest.skip(why)


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[dict]:
    """The portal on a free 127.0.0.1 port, served by uvicorn in a thread."""
    _need(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
        import uvicorn

        from riskmodel.portal.app import create_app
    except ImportError as exc:
        _need(False, f"portal test dependencies missing: {exc.name}")
    from riskmodel.portal.tokens import create_token

    s = build_store(tmp_path)
    with AlertStore(s["store"]) as store:
        _, s["token"] = create_token(store, "pa")
        s["mine"] = sorted(a["alert_id"] for a in store.alerts()
                           if s["partners"].get("pa").covers(a))
        s["drivers"] = store.get_alert("fl-XAA-02-2026-05")["drivers"]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = uvicorn.Server(uvicorn.Config(create_app(s["store"], s["partners"]), host="127.0.0.1",
                                        port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline and th.is_alive(), "portal did not start"
        time.sleep(0.05)
    s["url"] = f"http://127.0.0.1:{port}/"
    yield s
    srv.should_exit = True
    th.join(10)


def test_partner_reads_acknowledges_and_reports_in_browser(server, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("RISKMODEL_PORTAL_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    aid = "fl-XAA-02-2026-05"
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            # Requests that leave the portal's origin (a CDN, a tile server) are failures.
            page.on("request", lambda r: None if r.url.startswith(server["url"]) or
                    r.url.startswith("data:") else problems.append("external: " + r.url))

            page.goto(server["url"] + "#token=" + server["token"])
            page.wait_for_selector("body[data-ready='1']", timeout=20000)
            assert "token=" not in page.url  # the token leaves the address bar at once
            assert page.locator("#partner-name").inner_text() == "Ministry A"
            assert page.locator("#synthetic-banner").is_visible()

            def shown() -> list[str]:
                areas = page.locator("path.alert-area")
                ids = sorted(areas.nth(i).get_attribute("data-alert-id")
                             for i in range(areas.count()))
                assert sorted(page.locator("#alert-list li").evaluate_all(
                    "els => els.map(e => e.dataset.alertId)")) == ids
                return ids

            # One target at a time (FL first); together the partner's alerts, no others.
            assert page.locator("#target-filter").input_value() == "fl"
            fl = shown()
            page.screenshot(path=str(shots / "portal-map.png"))
            page.select_option("#target-filter", "cl")
            cl = shown()
            assert fl and cl and all(a.startswith("fl-") for a in fl)
            assert sorted(fl + cl) == server["mine"]
            page.select_option("#target-filter", "fl")

            # Read the alert: click its area on the map.
            page.locator(f"path.alert-area[data-alert-id='{aid}']").click(force=True)
            page.wait_for_selector(f"#detail[data-alert-id='{aid}']")
            assert page.locator("#d-title").inner_text() == "Province XAA-02 (Alphaland)"
            assert page.locator("#d-drivers tbody tr").count() == len(server["drivers"])
            assert "spi3" in page.locator("#d-drivers").inner_text()

            page.fill("#ack-note", "inspection team informed")
            page.click("#ack-button")
            page.wait_for_selector("#ack-status:has-text('Acknowledged.')")
            assert page.locator("#ack-button").is_disabled()
            assert "acknowledged by you" in page.locator("#d-sub").inner_text()

            page.check("input[name=outcome][value=confirmed]")
            page.fill("#observed-on", "2026-06-20")
            page.fill("#outcome-note", "two minors found at the site")
            page.click("#outcome-button")
            page.wait_for_selector("#outcome-status:has-text('Recorded: confirmed')")
            assert "confirmed on 2026-06-20" in page.locator("#d-facts").inner_text()

            page.click("#d-messages button.cap-link")
            page.wait_for_selector("#cap-view:not([hidden])")
            assert "<identifier>fl-XAA-02-2026-05.1</identifier>" in page.locator(
                "#cap-view").inner_text()
            page.screenshot(path=str(shots / "portal-detail.png"), full_page=True)
            page.locator("aside").screenshot(path=str(shots / "portal-panel.png"))

            # A wrong token gets the sign-in form back, and no data.
            page.click("#sign-out")
            page.goto(server["url"] + "#token=rmp_nottherightone")
            page.wait_for_selector("#sign-in:not([hidden])")
            assert page.locator("#alert-list li").count() == 0 or page.locator(
                "#portal").is_hidden()
        finally:
            browser.close()
    assert [p for p in problems if "401" not in p] == []

    with sqlite3.connect(server["store"]) as db:
        hist = db.execute("SELECT to_state, detail FROM history WHERE alert_id=? "
                          "ORDER BY seq", (aid,)).fetchall()
        fb = db.execute("SELECT partner, outcome, observed_on, note FROM feedback").fetchall()
        audit = db.execute("SELECT action, alert_id, remote FROM portal_audit WHERE "
                           "action IN ('acknowledge', 'outcome') ORDER BY seq").fetchall()
    assert hist[-1][0] == "acknowledged" and '"note":"inspection team informed"' in hist[-1][1]
    assert fb == [("pa", "confirmed", "2026-06-20", "two minors found at the site")]
    assert audit == [("acknowledge", aid, "127.0.0.1"), ("outcome", aid, "127.0.0.1")]
