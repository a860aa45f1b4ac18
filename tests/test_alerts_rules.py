"""Rules (persistence, percentile, rise, hysteresis), clusters, priority and budget, outlines."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box
from shapely.ops import unary_union
from test_alerts_fakes import ADMIN1, NX, NY, make_risk, regions

from riskmodel.alerts.areas import Grid, admin1_areas
from riskmodel.alerts.geometry import mask_polygons
from riskmodel.alerts.priority import components, score
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.rules import PriorityWeights, load_rules
from riskmodel.alerts.store import AlertStore
from riskmodel.config import AlertsConfig
from riskmodel.errors import ConfigError

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


class Nights:
    """Publish a sequence of nights into one store."""

    def __init__(self, tmp: Path, rules: str, partners: str | None = None) -> None:
        (tmp / "alerts.toml").write_text(rules)
        pp = None
        if partners is not None:
            pp = tmp / "partners.toml"
            pp.write_text(partners)
        self.cfg = AlertsConfig(store=str(tmp / "a.sqlite"), rules=str(tmp / "alerts.toml"),
                                partners=str(pp) if pp else None)
        self.tmp = tmp
        self.i = 0

    def run(self, ds) -> dict:
        ds.attrs["as_of"] = MONTHS[self.i]
        ds = ds.assign_coords(time=[np.datetime64(f"{MONTHS[self.i]}-01", "ns")]) \
            if ds.sizes["time"] == 1 else ds
        sent = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=31 * self.i)
        s = publish_alerts(ds, run_dir=self.tmp / f"n{self.i}", cfg=self.cfg,
                           run_id=f"n{self.i}", sent=sent)
        self.i += 1
        return s

    def states(self) -> dict[str, str]:
        with AlertStore(self.cfg.store) as stt:
            return {a["area_key"]: a["state"] for a in stt.alerts()}


FL_ONLY = 'targets = ["fl"]\n'


def test_persistence_k_of_n(tmp_path: Path) -> None:
    n = Nights(tmp_path, FL_ONLY + "[persistence]\nk = 2\nn = 3\n")
    hi, lo = {"XAA-01": 0.7}, {"XAA-01": 0.2}
    # Warm-up: a new store has no history, so the first night's triggers open alerts.
    assert n.run(make_risk({"XAC-01": 0.7}))["new"] == 1
    assert n.run(make_risk({"XAC-01": 0.7, **hi}))["new"] == 0  # XAA-01: 1 of 2, not yet
    assert n.run(make_risk({"XAC-01": 0.7, **lo}))["new"] == 0
    assert n.run(make_risk({"XAC-01": 0.7, **hi}))["new"] == 1  # 2 of the last 3
    assert n.states() == {"XAA-01": "new", "XAC-01": "ongoing"}


def test_resolve_after_two_low_nights(tmp_path: Path) -> None:
    n = Nights(tmp_path, FL_ONLY + "resolve_after = 2\n")
    n.run(make_risk({"XAA-01": 0.7}))
    s = n.run(make_risk({"XAA-01": 0.1}))
    assert s["resolved"] == 0 and s["messages"] == 0  # one low night is not enough
    s = n.run(make_risk({"XAA-01": 0.45}))  # back above `leave`: the count restarts
    assert s["resolved"] == 0
    n.run(make_risk({"XAA-01": 0.1}))
    s = n.run(make_risk({"XAA-01": 0.1}))
    assert s["resolved"] == 1 and n.states() == {"XAA-01": "resolved"}


def test_percentile_within_country(tmp_path: Path) -> None:
    rules = FL_ONLY + ("[threshold]\nenabled = false\n[percentile]\nenabled = true\n"
                       "enter_q = 0.9\nleave_q = 0.5\nmin_risk = 0.25\nmin_areas = 2\n")
    n = Nights(tmp_path, rules)
    s = n.run(make_risk({"XAA-01": 0.35, "XAA-02": 0.3, "XAB-01": 0.2, "XAB-02": 0.22}))
    # Top of XAA (0.35 >= min_risk) alerts; XAB's top (0.22) is below min_risk; XAC all 0.1.
    assert s["new"] == 1 and n.states() == {"XAA-01": "new"}


def test_rise_against_previous_months_from_dataset(tmp_path: Path) -> None:
    rules = FL_ONLY + ("[threshold]\nenabled = false\n[rise]\nenabled = true\nmonths = 3\n"
                       "enter_delta = 0.15\nleave_delta = 0.05\nmin_risk = 0.3\n")
    n = Nights(tmp_path, rules)
    ds = make_risk({"XAA-01": 0.45, "XAB-01": 0.45}, months=4,
                   prev_levels={"XAA-01": 0.2, "XAB-01": 0.4}, as_of="2026-01")
    s = n.run(ds)
    assert s["new"] == 1 and n.states() == {"XAA-01": "new"}  # XAB-01 rose only 0.05
    with AlertStore(n.cfg.store) as stt:
        assert "rose +0.25" in stt.alerts()[0]["reasons"][0]


def test_rules_file_errors_are_one_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[threshold]\nenter = 0.3\nleave = 0.5\n")
    with pytest.raises(ConfigError, match="bad.toml: threshold: .*leave"):
        load_rules(p)
    p.write_text("[thresold]\nenter = 0.3\n")
    with pytest.raises(ConfigError, match="thresold: unknown key"):
        load_rules(p)
    assert load_rules(Path(__file__).resolve().parents[1] / "configs" / "alerts.toml").budget > 0


def blob(rows: slice, cols: slice, level: float = 0.8) -> np.ndarray:
    c = np.full((NY, NX), 0.1, dtype=np.float32)
    c[rows, cols] = level
    return c


def test_clusters_span_admin1_keep_identity_and_outline(tmp_path: Path) -> None:
    rules = FL_ONLY + ('[area]\nkind = "cluster"\nmin_cells = 3\n'
                       "[threshold]\nenter = 0.5\nleave = 0.4\n")
    n = Nights(tmp_path, rules)
    # A 4x3 blob in XAA (cols 1-5) straddling its two admin-1 areas (rows 0-5 / 6-11),
    # and a 2-cell speck in XAC below min_cells.
    cells = blob(slice(4, 8), slice(2, 5))
    cells[0, 12:14] = 0.9
    s = n.run(make_risk(cell_levels=cells))
    assert s["new"] == 1
    with AlertStore(n.cfg.store) as stt:
        (al,) = stt.alerts()
    assert al["admin1"] == ["XAA-01", "XAA-02"] and al["n_cells"] == 12
    lat = (np.arange(NY) + 0.5) * 0.25 - 1.0
    lon = (np.arange(NX) + 0.5) * 0.25 + 20.0
    poly = Polygon(al["geometry"][0][0])
    expect = box(lon[2] - 0.125, lat[4] - 0.125, lon[4] + 0.125, lat[7] + 0.125)
    assert poly.symmetric_difference(expect).area < 1e-9
    # Next night the blob drifts one column east: same alert, ongoing, outline follows.
    s = n.run(make_risk(cell_levels=blob(slice(4, 8), slice(3, 6))))
    assert (s["new"], s["ongoing"]) == (0, 1)
    with AlertStore(n.cfg.store) as stt:
        (al2,) = stt.alerts()
    assert al2["alert_id"] == al["alert_id"]
    assert Polygon(al2["geometry"][0][0]).bounds[0] == pytest.approx(lon[3] - 0.125)
    fc = json.loads((tmp_path / "n1" / "alerts.geojson").read_text())
    assert fc["features"][0]["properties"]["area_kind"] == "cluster"


def test_clusters_do_not_cross_borders(tmp_path: Path) -> None:
    rules = FL_ONLY + '[area]\nkind = "cluster"\nmin_cells = 1\n'
    n = Nights(tmp_path, rules)
    s = n.run(make_risk(cell_levels=blob(slice(0, 2), slice(4, 8))))  # XAA cols 4-5, XAB 6-7
    assert s["new"] == 2
    with AlertStore(n.cfg.store) as stt:
        assert sorted(a["country"] for a in stt.alerts()) == ["XAA", "XAB"]


def test_priority_parts_and_gap() -> None:
    ds = make_risk({"XAA-01": 0.6, "XAB-01": 0.6, "XAC-01": 0.6}, programme_fl=(0, 1, 0))
    areas = {a.key: a for a in admin1_areas(Grid(ds, "fl", ds.time.values[-1]))}
    w = PriorityWeights(enabling=0.0)
    a, b, c = (components(areas[k], w) for k in ("XAA-01", "XAB-01", "XAC-01"))
    # XAA: only a non-FL FPRW programme; XAB: an FL programme; XAC: nothing.
    assert (a["gap"], b["gap"], c["gap"]) == (0.5, 0.0, 1.0)
    assert a["risk"] == b["risk"] == pytest.approx(0.6)
    assert 0 < a["exposure"] <= 1 and 0 <= a["enabling"] <= 1
    assert score(areas["XAC-01"], w) > score(areas["XAA-01"], w) > score(areas["XAB-01"], w)


def test_budget_opens_best_first_and_holds(tmp_path: Path) -> None:
    partners = ('[[partner]]\nid = "p"\nname = "P"\ncountries = ["XAA", "XAB", "XAC"]\n'
                "budget = 2\n")
    n = Nights(tmp_path, FL_ONLY, partners)
    levels = {"XAA-01": 0.6, "XAB-01": 0.9, "XAB-02": 0.55, "XAC-01": 0.8}
    s = n.run(make_risk(levels))
    assert (s["new"], s["deferred"]) == (2, 2)
    assert set(n.states()) == {"XAB-01", "XAC-01"}
    s = n.run(make_risk(levels))
    assert (s["new"], s["ongoing"], s["deferred"]) == (0, 2, 2)  # open alerts keep their slots
    levels["XAC-01"] = 0.1
    s = n.run(make_risk(levels))  # XAC-01 resolves, freeing a slot for the next best
    assert (s["resolved"], s["new"]) == (1, 1)
    assert {k for k, v in n.states().items() if v != "resolved"} == {"XAB-01", "XAA-01"}


def cell_union(mask: np.ndarray):
    return unary_union([box(j, i, j + 1, i + 1) for i, j in zip(*np.nonzero(mask), strict=True)])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.2, 0.7))
def test_outline_matches_cells(seed: int, p: float) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((7, 9)) < p
    polys = mask_polygons(mask, np.arange(7) + 0.5, np.arange(9) + 0.5)
    if not mask.any():
        assert polys == []
        return
    shapes = []
    for poly in polys:
        ext = poly[0]
        assert ext[0] == ext[-1] and len(ext) >= 4
        assert Polygon(ext).exterior.is_ccw  # RFC 7946 right-hand rule
        for h in poly[1:]:
            assert not Polygon(h).exterior.is_ccw
        shapes.append(Polygon(ext, poly[1:]))
    got = unary_union(shapes)
    assert got.symmetric_difference(cell_union(mask)).area < 1e-9
    assert sum(s.area for s in shapes) == pytest.approx(mask.sum())  # no overlaps


def test_fake_regions_cover_land() -> None:
    cid, aid = regions()
    assert (cid >= 0).sum() == (aid >= 0).sum() == NY * (NX - 1)
    assert len(ADMIN1) == 6


LIFECYCLE_RULES = FL_ONLY + "[threshold]\nenter = 0.5\nleave = 0.35\n"
LIFECYCLE_PARTNER = ('[[partner]]\nid = "p"\nname = "P"\ncountries = ["XAA", "XAB", "XAC"]\n'
                     "budget = 3\n")


@settings(max_examples=8, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(ADMIN1),
                                st.sampled_from([0.1, 0.3, 0.4, 0.55, 0.7, 0.9])),
                min_size=2, max_size=4),
       st.integers(0, 3))
def test_lifecycle_invariants(nights: list[dict[str, float]], rerun_at: int) -> None:
    import re
    import sqlite3
    import tempfile

    from riskmodel.alerts.cap import check_cap
    with tempfile.TemporaryDirectory() as d:
        n = Nights(Path(d), LIFECYCLE_RULES, LIFECYCLE_PARTNER)
        for i, levels in enumerate(nights):
            s = n.run(make_risk(levels))
            assert s["active"] <= 3  # the partner's budget
            for key, state in n.states().items():
                lv = levels.get(key, 0.1)
                if state == "new":
                    assert lv >= 0.5  # opens only above `enter`
                elif state != "resolved":
                    assert lv >= 0.35  # stays only above `leave`
            if i == rerun_at:  # a rerun of the night changes nothing
                db = sqlite3.connect(n.cfg.store)
                before = db.execute("SELECT count(*) FROM history").fetchone()[0]
                n.i -= 1
                assert "rerun_of" in n.run(make_risk(levels))
                assert db.execute("SELECT count(*) FROM history").fetchone()[0] == before
                db.close()
        with AlertStore(n.cfg.store) as stt:
            for al in stt.alerts():
                msgs = stt.messages(al["alert_id"])
                types = "".join(m["msg_type"][0] for m in msgs)
                assert re.fullmatch(r"AU*C?", types), types
                assert (types[-1] == "C") == (al["state"] == "resolved")
                for j, m in enumerate(msgs):
                    assert check_cap(m["xml"]) == []
                    for prev in msgs[:j]:
                        assert f",{prev['identifier']},{prev['sent']}" in m["xml"]
                hist = stt.history(al["alert_id"])
                chain = [h for h in hist if h["to_state"] != "acknowledged"]
                assert chain[0]["from_state"] is None and chain[0]["to_state"] == "new"
                for a, b in zip(chain, chain[1:]):
                    assert b["from_state"] == a["to_state"]
