"""The interval's refit at scoring: no label window after the scored month, the spread of a
known Poisson world recovered, the fold's calibration kept when too few windows, and the
record of which spread was used."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel.models.interval import (
    REFIT_MONTHS,
    IntervalCalibration,
    LabelledRows,
    fit_interval,
    labelled_months,
    monthly_bands,
    monthly_refits,
    predict_band,
    probability,
    refit_interval,
)

H = 3
FALLBACK = IntervalCalibration(0.8, np.array([0.0]), np.array([0.25]), 1.0, 1.3)


def _world(sigma_by_month: dict[int, float], cells: int, seed: int = 0) -> LabelledRows:
    """Rows of a Poisson world whose log-rate error has spread sigma_by_month[t] in month t
    (no member spread): the count of a row is Poisson(L_hat x exp(e)), e ~ N(-s^2/2, s^2)."""
    rng = np.random.default_rng(seed)
    parts = []
    for t, s in sigma_by_month.items():
        lam_hat = np.exp(rng.uniform(np.log(0.05), np.log(3.0), cells))
        lam_true = lam_hat * np.exp(s * rng.standard_normal(cells) - s ** 2 / 2)
        parts.append((probability(lam_hat), rng.poisson(lam_true).astype(float),
                      np.full(cells, t)))
    risk, count, month = (np.concatenate(x) for x in zip(*parts, strict=True))
    return LabelledRows(risk, np.zeros(len(risk)), count, month)


def test_labelled_months_are_those_whose_window_closed() -> None:
    month = np.repeat(np.arange(30), 2)
    np.testing.assert_array_equal(labelled_months(month, 20, H, 4), [14, 15, 16, 17])
    np.testing.assert_array_equal(labelled_months(month, 2, H, 4), [])
    np.testing.assert_array_equal(labelled_months(month, 40, H, 4), [26, 27, 28, 29])


def test_refit_reads_no_window_that_ends_after_the_scored_month() -> None:
    """Months whose windows are still open at the scored month carry a huge error; the
    refit must not move when they are there, and must read the month closing exactly at
    the scored month (t + H = m)."""
    scored = 20
    closed = {t: 0.4 for t in range(5, scored - H + 1)}
    open_ = {t: 3.0 for t in range(scored - H + 1, scored + 6)}
    past = _world(closed, 4000, seed=1)
    everything = _world({**closed, **open_}, 4000, seed=1)
    a = refit_interval(past, scored, H, FALLBACK, months=6, scale=1.0)
    b = refit_interval(everything, scored, H, FALLBACK, months=6, scale=1.0)
    assert a.refit.source == "newest labelled months"
    assert b.refit.months == [scored - H - 5, scored - H]
    assert b.sigma.tolist() == a.sigma.tolist()
    assert b.refit.rows == a.refit.rows == 6 * 4000
    # scored one month later, the month whose window closes then (huge error) comes in
    c = refit_interval(everything, scored + 1, H, FALLBACK, months=6, scale=1.0)
    assert c.refit.months == [scored - H - 4, scored - H + 1]
    assert c.sigma[0] > a.sigma[0] + 0.3


def test_monthly_bands_use_each_months_own_refit() -> None:
    rows = _world({t: (0.2 if t < 12 else 1.0) for t in range(24)}, 3000, seed=2)
    risk = np.full(4, 0.2)
    month = np.array([14, 14, 26, 26])
    refits = monthly_refits(month, rows, H, FALLBACK, months=3, scale=1.0)
    lo, hi = monthly_bands(risk, np.zeros(4), month, refits)
    records = [c.refit for c in refits.values()]
    assert [r.scored_month for r in records] == [14, 26]
    assert records[0].months == [9, 11] and records[1].months == [21, 23]
    assert records[0].sigma < 0.45 < 0.75 < records[1].sigma
    assert hi[2] - lo[2] > hi[0] - lo[0]


@settings(max_examples=15, deadline=None)
@given(sigma=st.floats(0.2, 1.0), months=st.integers(2, 8), seed=st.integers(0, 10_000))
def test_refit_recovers_the_spread_of_a_poisson_world(sigma: float, months: int,
                                                      seed: int) -> None:
    """Against the reference: the spread the world was drawn with, and the calibration
    fold's estimator applied to the same rows by hand."""
    rows = _world({t: sigma for t in range(10)}, 60_000 // months, seed=seed)
    cal = refit_interval(rows, 9 + H, H, FALLBACK, months=months, weight_power=2.0,
                         scale=1.0)
    assert cal.refit.source == "newest labelled months"
    assert cal.sigma[0] == pytest.approx(sigma, abs=0.1)
    use = rows.month >= 10 - months
    ref = fit_interval(rows.risk[use], rows.member_sd[use], rows.count[use],
                       np.ones(int(use.sum())), 0.8, bins=1, weight_power=2.0, scale=1.0)
    assert cal.sigma.tolist() == ref.sigma.tolist()
    wide = refit_interval(rows, 9 + H, H, FALLBACK, months=months, weight_power=2.0,
                          scale=1.3)
    assert wide.sigma[0] == pytest.approx(1.3 * cal.sigma[0])


def test_too_few_windows_keep_the_fold_calibration() -> None:
    rows = _world({t: 0.5 for t in range(10)}, 40, seed=3)
    cal = refit_interval(rows, 12, H, FALLBACK, months=3, min_windows=10_000)
    assert cal.sigma.tolist() == FALLBACK.sigma.tolist()
    assert cal.refit.source == "calibration fold"
    assert "fewer than 10000" in cal.refit.reason and cal.refit.months == [7, 9]
    none = refit_interval(rows, 2, H, FALLBACK)   # nothing labelled yet
    assert none.refit.source == "calibration fold" and none.refit.months == []
    assert none.refit.rows == 0
    risk = np.array([0.1, 0.3])
    np.testing.assert_array_equal(predict_band(risk, np.zeros(2), none),
                                  predict_band(risk, np.zeros(2), FALLBACK))


def test_refit_record_round_trips() -> None:
    rows = _world({t: 0.5 for t in range(10)}, 3000, seed=4)
    cal = refit_interval(rows, 12, H, FALLBACK, months=3)
    d = json.loads(json.dumps(cal.as_dict()))
    assert d["refit"] == {"source": "newest labelled months", "scored_month": 12,
                          "months": [7, 9], "rows": 9000,
                          "multi_case_windows": int(np.sum(rows.count[rows.month >= 7] >= 2)),
                          "sigma": cal.sigma[0], "reason": ""}
    back = IntervalCalibration.from_dict(d)
    assert back.refit == cal.refit and back.sigma.tolist() == cal.sigma.tolist()
    # the fold's own calibration (model metadata) carries no refit record
    assert "refit" not in FALLBACK.as_dict()


def test_night_scores_each_month_with_its_refit_and_records_it(tiny_run: dict) -> None:
    """The night's risk.nc: its band is the refit's (months labelled by the as-of month),
    recorded in the attrs; both engines refit alike; without identified cases the fold's
    calibration is kept and says why."""
    import features
    import xarray as xr

    from riskmodel.config import load_config
    from riskmodel.models.table import land_cells
    from riskmodel.scale.score import score_months
    from riskmodel.scoring import band_attrs, scoring_matrix
    from riskmodel.training import ensure_model
    from riskmodel.world import make_world

    cfg = load_config(tiny_run["config"])
    inputs = make_world(cfg.world, cfg.seed)
    cube = features.build_cube(inputs)
    models = {t: ensure_model(cfg, inputs, cube, t)[0] for t in cfg.targets}
    month, h = inputs.sizes["time"] - 1, cfg.model.horizon
    memory = score_months(models, inputs, [month - 1, month], cube=cube, horizon=h)
    bands = memory.bands
    label = lambda i: str(inputs["time"].values[i])[:7]  # noqa: E731
    for m in (month - 1, month):
        for target, cal in bands[m].items():
            assert cal.refit.source == "newest labelled months", cal.refit
            assert cal.refit.months[1] + h == m and cal.refit.scored_month == m
            assert cal.refit.rows == REFIT_MONTHS * len(land_cells(
                inputs["country_id"].values))
    with xr.open_dataset(tiny_run["run_dir"] / "risk.nc") as risk:
        assert {k: v for k, v in risk.attrs.items() if k.startswith("interval_")} == \
            band_attrs(bands[month], label)
        cells = land_cells(inputs["country_id"].values)
        for i, target in enumerate(risk["target"].values):
            reg = models[str(target)]
            X = scoring_matrix(reg.estimator, reg.meta, cube, month, cells)
            _, lo, hi = reg.estimator.predict_interval(X, bands[month][str(target)])
            np.testing.assert_array_equal(
                risk["risk_lo"].values[i, 0].ravel()[cells], lo.astype(np.float32))
            np.testing.assert_array_equal(
                risk["risk_hi"].values[i, 0].ravel()[cells], hi.astype(np.float32))
    blocks = score_months(models, inputs, [month], engine="blocks", block=12, horizon=h)
    xr.testing.assert_identical(memory.risk[month], blocks.risk[month])
    without = score_months(models, inputs.drop_vars("identified_fl"), [month], cube=cube,
                           horizon=h).bands
    assert without[month]["fl"].refit.source == "calibration fold"
    assert "identified_fl" in without[month]["fl"].refit.reason
    assert without[month]["fl"].sigma.tolist() == \
        models["fl"].estimator.interval_.sigma.tolist()
    assert "interval_spread_reason_fl" in band_attrs(without[month], label)
