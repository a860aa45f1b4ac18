"""A small alert store for the KPI tests, with every number of it chosen by hand (no tests).

Partners: `pa` covers XAA (both targets), `pd` only FL in XAA-01, `pb` only CL in XAB-02.
Runs 2026-01..2026-03. Alerts (target, area, month opened, people counted for coverage,
first CAP message sent):

    a1 fl XAA-01 2026-01 population 1000  sent 2026-02-01T00:00Z
    a2 cl XAA-02 2026-01 children    800  sent 2026-02-01T00:00Z
    a3 fl XAA-01 2026-03 population 1000  sent 2026-04-01T00:00Z
    a4 cl XAB-02 2026-02 children    300  sent 2026-03-01T00:00Z
    a5 cl XAB-01 2026-02 children    100  sent 2026-03-01T00:00Z (no partner covers it)

Acknowledgements: pa a1 +0.5 d, pa a2 +2 d, pb a4 +1 d. Outcomes (through
`record_feedback`): pa a1 confirmed 2026-02-11 (+10 d), pa a2 not_found 2026-02-21
(+20 d), pa a3 confirmed 2026-04-05 (+4 d), pb a4 confirmed 2026-03-31 (+30 d), pd a1
not_found 2026-02-15 (+14 d); and a row of pb on a5 written straight into the table (an
outcome no gate would accept: it must not count).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from riskmodel.alerts.ack import acknowledge
from riskmodel.alerts.feedback import record_feedback
from riskmodel.alerts.partners import load_partners
from riskmodel.alerts.store import AlertStore

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
id = "pd"
name = "Province office A-01"
countries = ["XAA"]
admin1 = ["XAA-01"]
targets = ["fl"]
"""

ALERTS = [  # id, target, area, month, population, child population, first message sent
    ("a1", "fl", "XAA-01", "2026-01", 1000.0, 400.0, "2026-02-01T00:00:00+00:00"),
    ("a2", "cl", "XAA-02", "2026-01", 2000.0, 800.0, "2026-02-01T00:00:00+00:00"),
    ("a3", "fl", "XAA-01", "2026-03", 1000.0, 400.0, "2026-04-01T00:00:00+00:00"),
    ("a4", "cl", "XAB-02", "2026-02", 500.0, 300.0, "2026-03-01T00:00:00+00:00"),
    ("a5", "cl", "XAB-01", "2026-02", 700.0, 100.0, "2026-03-01T00:00:00+00:00"),
]
ACKS = [("a1", "pa", "2026-02-01T12:00:00+00:00"), ("a2", "pa", "2026-02-03T00:00:00+00:00"),
        ("a4", "pb", "2026-03-02T00:00:00+00:00")]
FEEDBACK = """alert_id,partner,outcome,observed_on
a1,pa,confirmed,2026-02-11
a2,pa,not_found,2026-02-21
a3,pa,confirmed,2026-04-05
a4,pb,confirmed,2026-03-31
a1,pd,not_found,2026-02-15
"""


def _alert_row(aid: str, target: str, area: str, month: str, pop: float,
               child: float) -> dict:
    return {"alert_id": aid, "target": target, "area_key": area, "area_kind": "admin1",
            "country": area[:3], "country_name": f"Country {area[:3]}", "admin1": [area],
            "name": f"Province {area}", "state": "ongoing", "opened_as_of": month,
            "last_as_of": "2026-03", "closed_as_of": None, "risk": 0.7, "risk_lo": 0.6,
            "risk_hi": 0.8, "risk_max": 0.8, "risk_at_message": 0.7, "priority": 0.5,
            "priority_parts": {}, "exposed": pop / 2, "population": pop,
            "child_population": child, "n_cells": 3, "drivers": [], "reasons": [],
            "geometry": {}, "cells": [], "model_id": "m", "horizon": 3, "synthetic": 1,
            "below_runs": 0}


def build_kpi_store(folder: Path) -> dict:
    """Write the store, the partners file and a run config into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "partners.toml").write_text(PARTNERS_TOML)
    partners = load_partners(folder / "partners.toml")
    path = folder / "alerts.sqlite"
    with AlertStore(path) as store:
        with store.transaction():
            for m in ("2026-01", "2026-02", "2026-03"):
                store.add_run(m, f"r-{m}", f"{m}-05T00:00:00+00:00", True, {}, {}, [])
            for aid, target, area, month, pop, child, sent in ALERTS:
                store.insert_alert(_alert_row(aid, target, area, month, pop, child))
                store.add_history(aid, "new", sent, from_state=None, as_of=month,
                                  run_id=f"r-{month}", detail={})
                store.add_message(f"{aid}.1", aid, 1, "Alert", sent, month, f"r-{month}",
                                  "<alert/>")
        for aid, partner, at in ACKS:
            assert acknowledge(store, aid, partner, partners=partners,
                               at=datetime.fromisoformat(at))
        (folder / "feedback.csv").write_text(FEEDBACK)
        res = record_feedback(store, folder / "feedback.csv", partners=partners)
        assert res.errors == [] and res.recorded == 5, res.errors
        with store.transaction():  # no gate accepts this: the KPIs must ignore it
            store.db.execute("INSERT INTO feedback VALUES (?,?,?,?,?,?,?)",
                             ("a5", "pb", "confirmed", "2026-03-10", None,
                              "2026-03-10T00:00:00+00:00", "raw"))
    (folder / "run.toml").write_text(
        f'name = "kpitest"\nout = "{folder / "runs"}"\n'
        f'[alerts]\nstore = "{path}"\npartners = "{folder / "partners.toml"}"\n')
    return {"store": path, "partners": partners, "config": folder / "run.toml"}
