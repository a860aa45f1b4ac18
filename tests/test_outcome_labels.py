"""Visit outcomes as labels: per-partner scope (one partner's outcomes never reach
another's labels), the rows they add, and the area offsets they fit."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from test_alerts_fakes import ADMIN1, make_risk, regions

from riskmodel.alerts.feedback import labels as feedback_labels
from riskmodel.alerts.feedback import record_feedback
from riskmodel.alerts.partners import load_partners
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import AlertStore
from riskmodel.config import AlertsConfig, RunConfig, config_hash
from riskmodel.errors import ModelError
from riskmodel.models.outcomes import (
    Outcome,
    OutcomeSet,
    area_offsets,
    concat_tables,
    from_feedback,
    outcome_rows,
)
from riskmodel.models.table import Table
from riskmodel.training import check_outcome_partners, model_id, partner_outcomes

MONTHS = [f"{2025 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]   # 2025-01 .. 2026-12


@pytest.fixture()
def two_partners(tmp_path: Path) -> RunConfig:
    """A store with FL/CL alerts in XAA-01 and XAB-01; partner pa covers XAA, pb XAB;
    each reports on its own alert, and a forged pb row about pa's alert sits in the table."""
    (tmp_path / "partners.toml").write_text(
        '[[partner]]\nid = "pa"\nname = "A"\ncountries = ["XAA"]\n\n'
        '[[partner]]\nid = "pb"\nname = "B"\ncountries = ["XAB"]\n')
    alerts = AlertsConfig(store=str(tmp_path / "a.sqlite"),
                          partners=str(tmp_path / "partners.toml"))
    publish_alerts(make_risk({"XAA-01": 0.7, "XAB-01": 0.7}), run_dir=tmp_path / "run",
                   cfg=alerts, run_id="r1", sent=datetime(2026, 6, 2, 1, tzinfo=timezone.utc))
    fb = tmp_path / "fb.csv"
    fb.write_text("alert_id,outcome,partner,observed_on\n"
                  "fl-XAA-01-2026-05,confirmed,pa,2026-06-10\n"
                  "fl-XAB-01-2026-05,not_found,pb,2026-06-12\n"
                  "fl-XAA-01-2026-05,not_found,pb,2026-06-12\n")   # not pb's area: refused
    partners = load_partners(alerts.partners)
    with AlertStore(alerts.store) as store:
        res = record_feedback(store, fb, partners=partners)
        assert res.recorded == 2 and [e[0] for e in res.errors] == [4]
        # A row that slipped past the file check (an older store, a hand edit) must still
        # never count for pb: the label gate checks coverage again.
        with store.transaction():
            store.db.execute("INSERT INTO feedback VALUES (?,?,?,?,?,?,?)",
                             ("fl-XAA-01-2026-05", "pb", "confirmed", "2026-06-20", None,
                              "2026-06-21T00:00:00+00:00", "forged"))
    return RunConfig(alerts=alerts)


def _inputs() -> xr.Dataset:
    _, aid = regions()
    return xr.Dataset({"admin1_id": (("lat", "lon"), aid)},
                      coords={"time": np.arange(len(MONTHS)), "admin1": list(ADMIN1)})


def test_outcomes_stay_with_their_partner(two_partners: RunConfig) -> None:
    inputs = _inputs()
    _, aid = regions()
    got = {p: partner_outcomes(two_partners, inputs, p, "fl", lambda i: MONTHS[i])
           for p in ("pa", "pb")}
    xaa = np.flatnonzero(aid.ravel() == ADMIN1.index("XAA-01"))
    xab = np.flatnonzero(aid.ravel() == ADMIN1.index("XAB-01"))
    (a,), (b,) = got["pa"].outcomes, got["pb"].outcomes
    # pa: its confirmed visit in June 2026 informs the forecast month May 2026.
    assert (a.label, MONTHS[a.month], a.area) == (1, "2026-05", ADMIN1.index("XAA-01"))
    np.testing.assert_array_equal(np.sort(a.cells), xaa)
    # pb: only its own not-found visit; the forged row about pa's area is gone.
    assert (b.label, MONTHS[b.month], b.area) == (0, "2026-05", ADMIN1.index("XAB-01"))
    np.testing.assert_array_equal(np.sort(b.cells), xab)
    assert not np.intersect1d(b.cells, xaa).size
    assert got["pa"].summary()["partner"] == "pa" and got["pb"].summary()["outcomes"] == 1
    # Different outcomes, different models: the partner is part of the model id.
    feats = ("a", "b")
    ids = {model_id(two_partners, "fl", feats, got[p]) for p in ("pa", "pb")}
    assert len(ids) == 2 and model_id(two_partners, "fl", feats) not in ids
    assert partner_outcomes(two_partners, inputs, "pa", "cl",
                            lambda i: MONTHS[i]).outcomes == ()


def test_rows_of_another_partner_are_refused(two_partners: RunConfig) -> None:
    partners = load_partners(two_partners.alerts.partners)
    with AlertStore(two_partners.alerts.store) as store:
        rows = feedback_labels(store, partners)   # every partner's: not one scope
    _, aid = regions()
    with pytest.raises(ValueError, match="partner 'p[ab]' offered to"):
        from_feedback(rows, MONTHS, ADMIN1, aid, "pa", "fl")


def test_feedback_without_date_and_off_axis_months() -> None:
    _, aid = regions()
    rows = [{"partner": "pa", "target": "fl", "admin1": json.dumps(["XAA-02"]), "cells": "[]",
             "opened_as_of": "2026-03", "observed_on": None, "label": 1},
            {"partner": "pa", "target": "fl", "admin1": json.dumps(["XAA-02"]), "cells": "[]",
             "opened_as_of": "2026-03", "observed_on": "2031-01-05", "label": 0},
            {"partner": "pa", "target": "fl", "admin1": json.dumps(["XZZ-09"]), "cells": "[]",
             "opened_as_of": "2026-03", "observed_on": "2026-04-01", "label": 0},
            {"partner": "pa", "target": "fl", "admin1": json.dumps(["XAA-02"]),
             "cells": "[97, 98]", "opened_as_of": "2026-03", "observed_on": "2026-05-01",
             "label": 0},
            # cells outside the alert's area, or not indices at all: never placed
            {"partner": "pa", "target": "fl", "admin1": json.dumps(["XAA-02"]),
             "cells": "[5, 100000]", "opened_as_of": "2026-03", "observed_on": "2026-05-01",
             "label": 1},
            {"partner": "pa", "target": "fl", "admin1": json.dumps(["XAA-02"]),
             "cells": '["x"]', "opened_as_of": "2026-03", "observed_on": "2026-05-01",
             "label": 1}]
    got = from_feedback(rows, MONTHS, ADMIN1, aid, "pa", "fl")
    # No visit date: the visit is the month after the alert opened; the forecast month
    # is the alert's own.
    assert [MONTHS[o.month] for o in got.outcomes] == ["2026-03", "2026-04"]
    assert got.skipped == 4
    np.testing.assert_array_equal(got.outcomes[1].cells, [97, 98])   # a cluster's own cells


def test_outcome_rows_sit_at_standard_detection_in_the_fit_fold() -> None:
    rng = np.random.default_rng(0)
    cube = xr.Dataset({n: (("time", "lat", "lon"), rng.random((4, 2, 3)).astype(np.float32))
                       for n in ("poverty", "inspection_coverage")})
    outs = OutcomeSet("pa", (Outcome(month=2, cells=np.array([0, 4]), label=1, area=0),
                             Outcome(month=3, cells=np.array([5]), label=0, area=1)))
    t = outcome_rows(cube, ("poverty", "inspection_coverage"), outs,
                     reference={"inspection_coverage": 0.37}, weight=2.5, fit_month=1)
    np.testing.assert_allclose(t.X[:, 1], 0.37)
    np.testing.assert_allclose(t.X[:, 0], [cube["poverty"].values[2].ravel()[0],
                                           cube["poverty"].values[2].ravel()[4],
                                           cube["poverty"].values[3].ravel()[5]])
    np.testing.assert_array_equal(t.y, [1, 1, 0])
    np.testing.assert_array_equal(t.count, [1, 1, 0])
    np.testing.assert_array_equal(t.month, [1, 1, 1])
    np.testing.assert_allclose(t.weight, 2.5)
    base = Table(np.zeros((1, 2), np.float32), np.zeros(1, np.float32), np.ones(1),
                 np.zeros(1, np.int32), np.zeros(1, np.int64), t.features, np.zeros(1))
    both = concat_tables(base, t)
    assert len(both.y) == 4 and both.count is not None and both.count[1] == 1
    # Digest: a changed outcome is a new model.
    other = OutcomeSet("pa", (outs.outcomes[0],
                              Outcome(month=3, cells=np.array([5]), label=1, area=1)))
    assert other.digest() != outs.digest()


def test_area_offsets_move_only_visited_areas_toward_what_visits_found() -> None:
    # Area 0: the model says 10% but 9 of 10 visits confirm; area 1: the model says 50%
    # and 5 of 10 confirm; area 2 was never visited.
    x = np.log(np.r_[np.full(10, 0.1 / 0.9), np.full(10, 1.0)])
    y = np.r_[np.ones(9), 0, np.ones(5), np.zeros(5)]
    g = np.r_[np.zeros(10, int), np.ones(10, int)]
    b, sd, a = area_offsets(x, y, g, 3, prior_sd=1.0)
    fitted = 1.0 / (1.0 + np.exp(-(a + np.log([0.1 / 0.9, 1.0]) + b[:2])))
    # The intercept takes the common level, the offsets what differs by area: the area the
    # model underrated rises toward its visits' 90%, the other stays near its 50%.
    assert b[0] - b[1] > 1.5 and fitted[0] > 0.7 and abs(fitted[1] - 0.5) < 0.15, (b, a)
    assert b[2] == 0.0 and sd[2] == pytest.approx(1.0)
    assert sd[0] < 1.0 and sd[1] < 1.0
    # A tighter prior shrinks harder.
    b_tight, _, _ = area_offsets(x, y, g, 3, prior_sd=0.2)
    assert 0 < b_tight[0] - b_tight[1] < b[0] - b[1]
    # No outcomes: no correction.
    b0, sd0, _ = area_offsets(np.empty(0), np.empty(0), np.empty(0, int), 2, prior_sd=0.5)
    assert not b0.any() and np.allclose(sd0, 0.5)


def test_the_config_switch_takes_partners_of_other_countries(two_partners: RunConfig) -> None:
    # pa and pb cover different countries: each may have its own model (pa's scores only
    # pa's countries); a partner sharing a country is refused (tests/test_partner_models.py).
    for owners in ("pa", ("pa", "pb")):
        cfg = two_partners.model_copy(update={"model": two_partners.model.model_copy(
            update={"outcomes_partner": owners})})
        assert {p.id for p in check_outcome_partners(cfg).partner} == {"pa", "pb"}
    bare = RunConfig.model_validate({"model": {"outcomes_partner": "pa"}})
    with pytest.raises(ModelError, match="names no partners file"):
        check_outcome_partners(bare)


def test_the_outcome_switch_leaves_config_hashes_alone() -> None:
    plain = RunConfig()
    assert "outcomes_partner" not in plain.model.model_dump()
    assert config_hash(plain) == config_hash(RunConfig.model_validate(
        {"model": {"outcome_weight": 1.0}}))
    on = RunConfig.model_validate({"model": {"outcomes_partner": "pa"}})
    assert config_hash(on) != config_hash(plain)
    with pytest.raises(ValueError, match="outcomes_partner"):
        RunConfig.model_validate({"model": {"outcomes_partner": "../x"}})
    with pytest.raises(ValueError, match="partner id '../x'"):
        RunConfig.model_validate({"model": {"outcomes_partner": ["pa", "../x"]}})
    with pytest.raises(ValueError, match="named twice"):
        RunConfig.model_validate({"model": {"outcomes_partner": ["pa", "pa"]}})
    both = RunConfig.model_validate({"model": {"outcomes_partner": ["pa", "pb"]}})
    assert both.model.outcomes_partner == ("pa", "pb")
    assert config_hash(RunConfig.model_validate(
        {"model": {"outcome_prior_sd": 1.0}})) == config_hash(plain)
