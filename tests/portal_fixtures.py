"""A small alert store with four partners for the portal tests (no tests here).

Partners: `pa` covers XAA (both targets), `pd` only FL in XAA-01 (so it shares
fl-XAA-01-2026-05 with `pa`), `pb` only CL in XAB-02, `pc` covers XAC. The store is built
by the nightly publisher from the fake risk dataset of `test_alerts_fakes`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from test_alerts_fakes import make_risk

from riskmodel.alerts.partners import load_partners
from riskmodel.alerts.publish import publish_alerts
from riskmodel.config import AlertsConfig

PARTNERS_TOML = """
[[partner]]
id = "pa"
name = "Ministry A"
countries = ["XAA"]

[[partner]]
id = "pb"
name = "Inspectorate B"
countries = ["XAB"]
admin1 = ["XAB-02"]
targets = ["cl"]

[[partner]]
id = "pc"
name = "Ministry C"
countries = ["XAC"]

[[partner]]
id = "pd"
name = "Province office A-01"
countries = ["XAA"]
admin1 = ["XAA-01"]
targets = ["fl"]
"""
LEVELS = {"XAA-01": 0.7, "XAA-02": 0.65, "XAB-01": 0.75, "XAB-02": 0.8, "XAC-02": 0.9}
SENT = datetime(2026, 6, 2, 1, tzinfo=timezone.utc)


def build_store(folder: Path) -> dict:
    """Publish one night into `folder`; returns paths, the partners config and a run
    config naming both (what `--config` takes)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "partners.toml").write_text(PARTNERS_TOML)
    cfg = AlertsConfig(store=str(folder / "alerts.sqlite"),
                       partners=str(folder / "partners.toml"))
    publish_alerts(make_risk(LEVELS), run_dir=folder / "run", cfg=cfg, run_id="r1", sent=SENT)
    (folder / "run.toml").write_text(
        f'[alerts]\nstore = "{cfg.store}"\npartners = "{cfg.partners}"\n')
    return {"store": Path(cfg.store), "partners": load_partners(cfg.partners),
            "config": folder / "run.toml"}
