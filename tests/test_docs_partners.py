"""docs/partners.md holds: every column the code writes is in its dictionary (in order), the
shipped feedback template and the page's example are accepted by `alerts feedback`, and
the page's standard-library verifier accepts a real signed delivery, run without
riskmodel or any third-party package, and refuses a tampered one."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from local_endpoint import LocalEndpoint
from test_alerts_fakes import make_risk

from riskmodel.alerts.csvout import COLUMNS
from riskmodel.alerts.deliver import deliver
from riskmodel.alerts.geojson import properties
from riskmodel.alerts.partners import load_partners
from riskmodel.alerts.publish import publish_alerts
from riskmodel.commands.alerts import main as cli
from riskmodel.config import AlertsConfig

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "partners.md"
TEMPLATE = ROOT / "docs" / "feedback-template.csv"
SENT = datetime(2026, 6, 2, 1, tzinfo=timezone.utc)
KEY = "whsec_" + base64.b64encode(b"partner-key-0123456789abcdef").decode()


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def _table_column(section: str, header: str) -> list[str]:
    """First cells (backquoted names) of the table whose header row starts with `header`."""
    lines = section.splitlines()
    i = next(k for k, x in enumerate(lines) if x.startswith(f"| {header} |"))
    out = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        out.append(re.match(r"\| `([^`]+)` \|", line).group(1))
    return out


def test_every_written_column_is_documented_in_order() -> None:
    documented = _table_column(_section("The CSV and GeoJSON columns"), "column")
    assert documented == list(COLUMNS)
    # The GeoJSON properties are the same names: a property added there must be a column.
    rec = {"alert_id": "fl-XAA-01-2026-05", "identifier": "fl-XAA-01-2026-05.1",
           "msg_type": "Alert", "state": "new", "acknowledged_at": None, "target": "fl",
           "area_kind": "admin1", "area_key": "XAA-01", "name": "A", "country": "XAA",
           "country_name": "Aland", "admin1": ["XAA-01"], "as_of": "2026-05",
           "opened_as_of": "2026-05", "risk": 0.5, "risk_lo": 0.4, "risk_hi": 0.6, "rank": 1,
           "priority": 0.5, "exposed": 10.0, "n_cells": 3, "model_id": "abc",
           "synthetic": 1, "drivers": [("spi3", "climatic", 0.2)], "domains": {}}
    assert set(properties(rec)) == set(COLUMNS)


@pytest.fixture()
def store(tmp_path: Path) -> tuple[Path, list[str]]:
    (tmp_path / "partners.toml").write_text(
        '[[partner]]\nid = "pa"\nname = "A"\ncountries = ["XAA"]\n')
    cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"), partners=str(tmp_path / "partners.toml"))
    publish_alerts(make_risk({"XAA-01": 0.7}), run_dir=tmp_path / "run", cfg=cfg,
                   run_id="r1", sent=SENT)
    return tmp_path, ["--store", cfg.store, "--partners", cfg.partners]


def test_template_and_example_are_accepted(store, capsys) -> None:
    tmp, c = store
    assert cli(["alerts", "feedback", *c, str(TEMPLATE), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recorded"] == 0
    # The page's example, with its ids and partner moved to this store's alert and partner.
    example = re.search(r"```csv\n(.*?)```", _section("Sending outcomes back"), re.S).group(1)
    head, *rows = example.splitlines()
    assert head == TEMPLATE.read_text().strip()
    assert [r.split(",")[0] for r in rows] == ["cl-XLI-03-2024-11.1", "cl-XLI-04-2024-11"]
    rows = [r.replace("cl-XLI-03-2024-11", "fl-XAA-01-2026-05")
             .replace("cl-XLI-04-2024-11", "cl-XAA-01-2026-05")
             .replace("xli-inspectorate", "pa") for r in rows]
    filled = tmp / "filled.csv"
    filled.write_text("\n".join([head, *rows]) + "\n")
    assert cli(["alerts", "feedback", *c, str(filled), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["recorded"] == 2 and res["errors"] == []
    assert res["precision"]["all"]["precision"] == pytest.approx(0.5)


class Capture(LocalEndpoint):
    """Keeps the first delivery's headers and body."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: list[tuple[dict[str, str], bytes]] = []
        super().__init__(self.handle)

    def handle(self, partner: str, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            self.got.append((headers, body))
        return 200


def test_stdlib_verifier_on_a_real_delivery(tmp_path: Path, monkeypatch) -> None:
    code = re.search(r"```python\n(.*?)```", _section("Checking a delivery is genuine"),
                     re.S).group(1)
    ep = Capture()
    try:
        (tmp_path / "partners.toml").write_text(
            '[delivery]\nmax_attempts = 1\ntimeout_s = 5.0\n\n[[partner]]\nid = "pa"\n'
            'name = "A"\ncountries = ["XAA"]\nsecret_env = "TEST_PARTNER_KEY"\n'
            f'channels = [{{ kind = "webhook", url = "{ep.url}/pa" }}]\n')
        monkeypatch.setenv("TEST_PARTNER_KEY", KEY)
        cfg = AlertsConfig(store=str(tmp_path / "a.sqlite"),
                           partners=str(tmp_path / "partners.toml"))
        publish_alerts(make_risk({"XAA-01": 0.7}), run_dir=tmp_path / "run", cfg=cfg,
                       run_id="r1", sent=SENT)
        deliver(cfg.store, load_partners(cfg.partners))
    finally:
        ep.close()
    assert ep.got, "the deliverer posted nothing"
    headers, body = ep.got[0]
    (tmp_path / "body").write_bytes(body)
    (tmp_path / "headers.json").write_text(json.dumps(headers))
    driver = code + (  # one file: -I leaves the script's folder off sys.path
        "\nimport json, sys\n"
        "headers = json.load(open('headers.json'))\n"
        "body = open('body', 'rb').read()\n"
        "if sys.argv[1] == 'tamper':\n"
        "    body = body.replace(b'XAA', b'XAB', 1)\n"
        "try:\n"
        "    print(verify(sys.argv[2], headers, body))\n"
        "except ValueError as exc:\n"
        "    print('refused:', exc)\n")
    (tmp_path / "driver.py").write_text(driver)

    def run(mode: str) -> str:
        # -I: no PYTHONPATH, no user site; -S: no site-packages. Only the standard library.
        out = subprocess.run([sys.executable, "-I", "-S", "driver.py", mode, KEY],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert run("ok") == headers["webhook-id"]
    assert run("tamper") == "refused: signature does not match"
