"""Shared set-up for the nightly-operations tests (no tests of its own).

The model registry is the one the shared `tiny_run` fixture (tests/conftest.py) trains
once per session, so the ops tests add no training of their own; each test gets a tiny config whose run folders and alert store live in its own tmp folder, with
alert rules that need persistence (2 of the last 3 runs) at a threshold the tiny world
crosses, and one partner covering every country so the outbox fills. `fast_world` memoises
the synthetic world and its feature cube inside the test process, so an in-process run costs
only checks, scoring, alerts and report.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import xarray as xr

import features
import riskmodel.pipeline as pipeline
from conftest import ROOT, write_tiny_config
from riskmodel.world import make_world

RULES = """
targets = ["fl", "cl"]
resolve_after = 2
[threshold]
enter = 0.2
leave = 0.15
[persistence]
k = 2
n = 3
"""
PARTNERS = """
[[partner]]
id = "all-countries"
name = "Every country of the tiny world (test)"
countries = ["XJO", "XKN", "XOM", "XRA"]
targets = ["fl", "cl"]
formats = ["cap", "geojson", "csv"]
channels = [{{ kind = "directory", path = "{path}" }}]
"""
def ops_config(folder: Path, registry: Path, **overrides: Any) -> Path:
    """A tiny config in `folder` using the shared `registry`, persistence rules, a partner."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.toml").write_text(RULES)
    (folder / "partners.toml").write_text(PARTNERS.format(path=folder / "delivered"))
    alerts = {"rules": str(folder / "rules.toml"), "partners": str(folder / "partners.toml"),
              **overrides.pop("alerts", {})}
    model = {"registry": str(registry), **overrides.pop("model", {})}
    path = write_tiny_config(folder, model=model, alerts=alerts, **overrides)
    # write_tiny_config names the store alerts.sqlite in `folder`; keep it there.
    return path


@pytest.fixture(scope="session")
def registry(tiny_run: dict) -> Path:
    """The model registry trained by the session's tiny run (fl and cl, tiny.toml models)."""
    return Path(tiny_run["folder"]) / "models"


_WORLDS: dict[Any, xr.Dataset] = {}
_CUBES: dict[int, xr.Dataset] = {}


@pytest.fixture
def fast_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memoise world generation and the feature cube within this test process."""
    build_cube = features.build_cube

    def world(cfg: Any, seed: int) -> xr.Dataset:
        key = (cfg.model_dump_json(), seed)
        if key not in _WORLDS:
            _WORLDS[key] = make_world(cfg, seed)
        return _WORLDS[key]

    def cube(inputs: xr.Dataset, *args: Any, **kw: Any) -> xr.Dataset:
        if args or kw or not any(inputs is w for w in _WORLDS.values()):
            return build_cube(inputs, *args, **kw)
        if id(inputs) not in _CUBES:
            _CUBES[id(inputs)] = build_cube(inputs)
        return _CUBES[id(inputs)]

    monkeypatch.setattr(pipeline, "make_world", world)
    monkeypatch.setattr(features, "build_cube", cube)


def store_counts(store: Path) -> dict[str, Any]:
    """Rows per table of the alert store, and the duplicates that must never exist."""
    with sqlite3.connect(store) as db:
        q = lambda sql: db.execute(sql).fetchall()  # noqa: E731
        return {
            "runs": [r[0] for r in q("SELECT as_of FROM runs ORDER BY as_of")],
            "alerts": q("SELECT count(*) FROM alerts")[0][0],
            "messages": q("SELECT count(*) FROM messages")[0][0],
            "outbox": q("SELECT count(*) FROM outbox")[0][0],
            "history": q("SELECT count(*) FROM history")[0][0],
            "observations": q("SELECT count(*) FROM observations")[0][0],
            # an alert opened twice, or two messages for one alert and step
            "dup_new": q("SELECT count(*) FROM (SELECT alert_id FROM history WHERE "
                         "from_state IS NULL GROUP BY alert_id HAVING count(*) > 1)")[0][0],
            "dup_outbox": q("SELECT count(*) FROM (SELECT partner, channel, filename FROM "
                            "outbox GROUP BY 1, 2, 3 HAVING count(*) > 1)")[0][0],
            "orphan_messages": q("SELECT count(*) FROM messages m LEFT JOIN alerts a USING "
                                 "(alert_id) WHERE a.alert_id IS NULL")[0][0],
        }


__all__ = ["ROOT", "fast_world", "ops_config", "registry", "store_counts"]
