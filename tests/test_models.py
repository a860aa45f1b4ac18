"""Risk models: labels, leak-free folds, the interval, the registry's refusals and
byte-for-byte reproducibility (tiny world)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import features
from riskmodel.config import load_config
from riskmodel.errors import ModelError
from riskmodel.models.estimator import TIE_BREAK
from riskmodel.models.evaluate import holdout_split
from riskmodel.models.fitting import reference_values, training_months, training_table
from riskmodel.models.folds import TimeFolds, check_no_overlap, time_folds
from riskmodel.models.interval import (
    IntervalCalibration,
    expected_count,
    fit_interval,
    predict_band,
    probability,
)
from riskmodel.models.labels import future_label, future_sum
from riskmodel.models.registry import FORMAT_VERSION, load_model, model_dir
from riskmodel.models.table import feature_matrix, feature_rows, land_cells
from riskmodel.scale.score import score_months
from riskmodel.training import ensure_model
from riskmodel.world import make_world
from tests.conftest import write_tiny_config


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny world, its feature cube and a config with outputs in a temp folder."""
    folder = tmp_path_factory.mktemp("models")
    # One LightGBM thread: on a shared runner two OpenMP threads can spin for each other.
    cfg = load_config(write_tiny_config(folder, targets=["fl"], model={"threads": 1}))
    inputs = make_world(cfg.world, cfg.seed)
    return {"cfg": cfg, "inputs": inputs, "cube": features.build_cube(inputs),
            "folder": folder}


def test_future_label_and_sum_match_a_loop() -> None:
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.3, (20, 3, 4)).astype(np.float32)
    counts[7, 1, 2] = np.nan
    h = 3
    total = future_sum(counts, h)
    label = future_label(counts, h)
    for t in range(20):
        window = counts[t + 1:t + h + 1]
        if t + h >= 20:
            assert np.isnan(total[t]).all() and np.isnan(label[t]).all()
            continue
        want = window.sum(0)  # NaN wherever a count in the window is missing
        np.testing.assert_array_equal(total[t], want)
        np.testing.assert_array_equal(label[t], np.where(np.isnan(want), np.nan, want > 0))


def test_feature_rows_gather_the_cells_of_each_month_in_order() -> None:
    rng = np.random.default_rng(3)
    grid = xr.Dataset({n: (("time", "lat", "lon"), rng.normal(size=(6, 20, 30)))
                       for n in ("a", "b", "c")})
    cube = grid.isel(lat=slice(2, 18), lon=slice(1, 29))  # a cut-out: strided months
    cells = np.array([0, 5, 13, 40, 53])
    names = ("c", "a")
    got = feature_rows(cube, names, [4, 1, 1], cells)
    want = np.concatenate([np.stack([cube[n].values[m].ravel()[cells] for n in names],
                                    axis=1) for m in (4, 1, 1)]).astype(np.float32)
    assert got.dtype == np.float32 and got.shape == (15, 2)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(feature_matrix(cube, names, 4, cells), want[:5])
    assert feature_rows(cube, names, [], cells).shape == (0, 2)
    # 5 of 448 cells are gathered by index (above), 224 by whole months: the same rows
    many = np.arange(0, 448, 2)
    for picked in (cells, many):
        got = feature_rows(cube, names, [4, 1], picked)
        want = np.concatenate([np.stack([cube[n].values[m].ravel()[picked] for n in names],
                                        axis=1) for m in (4, 1)]).astype(np.float32)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n_months,horizon,cal", [(80, 3, 12), (120, 6, 24), (60, 1, 12)])
def test_no_label_window_overlaps_a_later_fold(n_months: int, horizon: int, cal: int) -> None:
    folds = time_folds(np.arange(10, n_months), horizon, cal)
    check_no_overlap(folds)
    order = [folds.fit, folds.early_stopping, folds.calibration]
    for i, earlier in enumerate(order):
        assert len(earlier)
        window_end = earlier + horizon  # the label of month t looks at (t, t + H]
        for later in order[i + 1:]:
            assert window_end.max() < later.min()
    # The evaluation's held-out period is kept apart the same way.
    split = holdout_split(200, horizon, holdout=24)
    assert split.train_months.max() + horizon < split.test_months.min()
    assert len(split.test_months) == 24 and split.test_months.max() + horizon == 199
    # The training months stop where labels stop being known.
    assert training_months(200, horizon).max() + horizon == 199


def test_overlapping_folds_are_refused() -> None:
    bad = TimeFolds(fit=np.arange(0, 50), early_stopping=np.arange(52, 60),
                    calibration=np.arange(64, 80), horizon=3)
    with pytest.raises(AssertionError, match="month 49"):
        check_no_overlap(bad)


def test_interval_recovers_known_spread_and_covers() -> None:
    rng = np.random.default_rng(1)
    n, sigma = 200_000, 0.7
    lam_hat = np.exp(rng.uniform(np.log(0.1), np.log(2.0), n))
    lam_true = lam_hat * np.exp(sigma * rng.standard_normal(n) - sigma ** 2 / 2)
    count = rng.poisson(lam_true).astype(float)
    risk = probability(lam_hat)
    # Unwidened (scale 1), the estimator recovers the spread of a world whose error does
    # not depend on the score, whichever rows it leans on.
    cal = fit_interval(risk, np.zeros(n), count, np.ones(n), nominal=0.8, bins=3, scale=1.0)
    np.testing.assert_allclose(cal.sigma, sigma, atol=0.06)
    for power in (2.0, 1.0):
        one = fit_interval(risk, np.zeros(n), count, np.ones(n), 0.8, weight_power=power,
                           scale=1.0)
        assert one.sigma[0] == pytest.approx(sigma, abs=0.06), power
    widened = fit_interval(risk, np.zeros(n), count, np.ones(n), 0.8, weight_power=1.0,
                           scale=1.3)
    np.testing.assert_allclose(widened.sigma, 1.3 * fit_interval(
        risk, np.zeros(n), count, np.ones(n), 0.8, weight_power=1.0, scale=1.0).sigma)
    pooled = fit_interval(risk, np.full(n, 0.3), count, np.ones(n), nominal=0.8, scale=1.0)
    assert pooled.sigma.shape == (1,)  # member spread is taken out of the residual
    assert pooled.sigma[0] == pytest.approx(np.sqrt(sigma ** 2 - 0.3 ** 2), abs=0.06)
    lo, hi = predict_band(risk, np.zeros(n), cal)
    covered = np.mean((probability(lam_true) >= lo) & (probability(lam_true) <= hi))
    assert covered == pytest.approx(0.8, abs=0.03)
    assert (lo <= risk).all() and (hi >= risk).all() and (hi < 1).all() and (lo > 0).all()
    # Member spread widens the band; no residual error and no spread gives the point.
    lo2, hi2 = predict_band(risk, np.full(n, 0.5), cal)
    assert (hi2 - lo2 > hi - lo).all()
    zero = IntervalCalibration(0.8, np.array([0.0]), np.array([0.0]))
    lo3, hi3 = predict_band(risk, np.zeros(n), zero)
    np.testing.assert_allclose(lo3, risk)
    np.testing.assert_allclose(hi3, risk)
    back = IntervalCalibration.from_dict(json.loads(json.dumps(widened.as_dict())))
    assert back.sigma.tolist() == widened.sigma.tolist()
    assert (back.weight_power, back.scale) == (1.0, 1.3)
    np.testing.assert_allclose(probability(expected_count(risk)), risk)


def test_table_samples_fit_rows_and_keeps_the_calibration_fold(tiny_world: dict) -> None:
    cfg, inputs, cube = tiny_world["cfg"], tiny_world["inputs"], tiny_world["cube"]
    names = tuple(str(n) for n in cube.data_vars)
    months = training_months(inputs.sizes["time"], cfg.model.horizon)
    table = training_table(cfg, inputs, cube, "fl", names, months)
    folds = time_folds(months, cfg.model.horizon, cfg.model.calibration_months)
    n_cells = len(land_cells(inputs["country_id"].values))
    cal = np.isin(table.month, folds.calibration)
    assert cal.sum() == n_cells * len(folds.calibration) and (table.weight[cal] == 1).all()
    fit = np.isin(table.month, folds.fit)
    negatives = fit & (table.y == 0)
    assert negatives.sum() < 0.7 * n_cells * len(folds.fit)  # sampled at negative_rate 0.5
    assert (table.weight[negatives] == 1 / cfg.model.negative_rate).all()
    assert table.count is not None and ((table.count > 0) == (table.y > 0)).all()
    assert "inspection_coverage" in table.features and table.X.shape[1] == len(names)
    # Standard detection: the reference is the median over all land cell-months of the
    # window, not of the sampled rows.
    land = inputs["country_id"].values >= 0
    full = np.median(cube["inspection_coverage"].values[months][:, land])
    ref = reference_values(cfg, table)["inspection_coverage"]
    assert ref == pytest.approx(full, abs=0.01)


def test_registry_refuses_hash_and_feature_mismatch(tiny_world: dict, tmp_path: Path) -> None:
    cfg = tiny_world["cfg"].model_copy(update={"model": tiny_world["cfg"].model.model_copy(
        update={"registry": str(tmp_path / "reg"), "ensemble": 2, "n_estimators": 15})})
    cube = tiny_world["cube"]
    names = tuple(cube.data_vars)
    registered, trained = ensure_model(cfg, tiny_world["inputs"], cube, "fl")
    assert trained
    folder = model_dir(cfg.model.registry, "fl", registered.model_id)
    assert registered.folder == folder and registered.features == names
    assert registered.target == "fl" and registered.rows > 0
    with pytest.raises(TypeError):   # what the registry holds is read, not changed
        registered.meta["model_id"] = "other"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        registered.folder = Path("elsewhere")  # type: ignore[misc]
    saved = json.loads((folder / "model.json").read_text())
    assert saved["features"] == list(names) and saved["format_version"] == FORMAT_VERSION == 3
    assert saved["interval"]["nominal"] == cfg.model.interval
    assert len(saved["members"]) == 2 and all(len(m["sha256"]) == 64 for m in saved["members"])
    assert saved["reference_values"]["inspection_coverage"] > 0
    for fold in ("early_stopping", "calibration"):
        assert 0.5 < saved["metrics"][fold]["auc"] <= 1 and saved["metrics"][fold]["rows"] > 0
    assert not list(folder.glob("*.pkl")) and not list(folder.glob("*.pickle"))

    with pytest.raises(ModelError, match="feature list differs.*missing \\['tip_watchlist'\\]"):
        load_model(folder, features=tuple(n for n in names if n != "tip_watchlist"))
    with pytest.raises(ModelError, match="different order"):
        load_model(folder, features=names[::-1])
    member = folder / "member-1.txt"
    member.write_text(member.read_text().replace("tree", "Tree", 1))
    with pytest.raises(ModelError, match=r"member-1\.txt: sha256 .* does not match"):
        load_model(folder, features=names)
    (folder / "model.json").unlink()
    with pytest.raises(ModelError, match="model metadata not found"):
        load_model(folder)


def test_same_data_config_seed_give_identical_files_and_scores(tiny_world: dict,
                                                               tmp_path: Path) -> None:
    base = tiny_world["cfg"]
    inputs, cube = tiny_world["inputs"], tiny_world["cube"]
    outputs = []
    for run in ("a", "b"):
        cfg = base.model_copy(update={"model": base.model.model_copy(
            update={"registry": str(tmp_path / run), "ensemble": 2, "n_estimators": 15})})
        registered, _ = ensure_model(cfg, inputs, cube, "fl")
        files = {p.name: p.read_bytes() for p in sorted(registered.folder.iterdir())}
        month = inputs.sizes["time"] - 1
        risk = score_months({"fl": registered}, inputs, [month], cube=cube,
                            attrs=lambda m: {"horizon": 3}).risk[month]
        outputs.append((files, risk))
    (files_a, risk_a), (files_b, risk_b) = outputs
    assert files_a == files_b  # member text files and metadata, byte for byte
    for var in ("risk", "risk_lo", "risk_hi", "driver_contrib", "domain_contrib"):
        a, b = risk_a[var].values, risk_b[var].values
        assert a.tobytes() == b.tobytes(), var
    r = risk_a["risk"].values
    lo, hi = risk_a["risk_lo"].values, risk_a["risk_hi"].values
    land = np.isfinite(r)
    assert (lo[land] <= r[land]).all() and (hi[land] >= r[land]).all()
    assert (hi[land] - lo[land]).max() < 0.9, "the interval must not become [0, 1]"


def test_calibration_keeps_the_ranking_inside_isotonic_steps(tiny_world: dict,
                                                             tmp_path: Path) -> None:
    """Scores are strictly increasing in the members' mean log-odds (no ties for a budget
    to break at random), within TIE_BREAK of the isotonic map; the share is saved, and
    a model of the registry format before it is refused."""
    cfg = tiny_world["cfg"].model_copy(update={"model": tiny_world["cfg"].model.model_copy(
        update={"registry": str(tmp_path / "reg"), "ensemble": 2, "n_estimators": 15})})
    inputs, cube = tiny_world["inputs"], tiny_world["cube"]
    registered, _ = ensure_model(cfg, inputs, cube, "fl")
    model, meta = registered.estimator, registered.meta
    names = tuple(cube.data_vars)
    cells = land_cells(inputs["country_id"].values)
    X = feature_matrix(cube, names, inputs.sizes["time"] - 1, cells)
    logits = model._member_logits(X).mean(0)
    risk = model.predict_proba(X)[:, 1]
    step = np.interp(logits, model.calibration_x_, model.calibration_y_)
    order = np.argsort(logits, kind="stable")
    distinct = np.diff(logits[order]) > 0
    assert distinct.sum() > 10
    assert len(np.unique(step)) < len(np.unique(logits)), "the isotonic map has steps"
    assert (np.diff(risk[order])[distinct] > 0).all()
    assert np.abs(risk - step).max() <= TIE_BREAK
    assert meta["calibration"]["tie_break"] == TIE_BREAK

    # Models of the registry format before the tie-break are refused, not scored differently.
    folder = registered.folder
    saved = json.loads((folder / "model.json").read_text())
    saved["format_version"] = 2
    (folder / "model.json").write_text(json.dumps(saved))
    with pytest.raises(ModelError, match="format_version 2 is not 3; retrain"):
        load_model(folder, features=names)


def test_linear_base_with_platt_round_trips_and_keeps_existing_model_ids(
        tiny_world: dict, tmp_path: Path) -> None:
    """`linear_base` adds a linear term (fitted on every training row) to each member's
    log-odds; `calibration = "platt"` is strictly increasing in them; both survive the
    registry; configs that leave them at their defaults keep their model ids."""
    from riskmodel.training import model_id

    base = tiny_world["cfg"]
    inputs, cube = tiny_world["inputs"], tiny_world["cube"]
    names = tuple(cube.data_vars)
    cfg = base.model_copy(update={"model": base.model.model_copy(update={
        "registry": str(tmp_path / "reg"), "ensemble": 2, "n_estimators": 15,
        "linear_base": True, "calibration": "platt"})})
    registered, trained = ensure_model(cfg, inputs, cube, "fl", retrain=True)
    model = registered.estimator
    assert trained and model.linear_ is not None and model.platt_ is not None
    assert model.platt_[1] > 0
    saved = json.loads((registered.folder / "model.json").read_text())
    assert saved["estimator_params"]["linear_base"] is True
    assert saved["calibration"]["slope"] == model.platt_[1]
    assert len(saved["linear_base"]["coef"]) == len(names)

    cells = land_cells(inputs["country_id"].values)
    X = feature_matrix(cube, names, inputs.sizes["time"] - 1, cells)
    X[::7, names.index("poverty_rate")] = np.nan     # a missing value takes the fill
    trees = np.stack([b.predict(X, raw_score=True, num_iteration=b.best_iteration or None)
                      for b in model.boosters_])
    logits = model._member_logits(X)
    np.testing.assert_allclose(logits, trees + model.linear_.logit(X)[None])
    risk = model.predict_proba(X)[:, 1]
    order = np.argsort(logits.mean(0), kind="stable")
    distinct = np.diff(logits.mean(0)[order]) > 0
    assert (np.diff(risk[order])[distinct] > 0).all()
    # Drivers explain the whole member, linear term included: contributions add up to
    # member 0's log-odds less one constant (the trees' expected value and the linear
    # term at its fill).
    rest = logits[0] - model.predict_contrib(X).sum(1)
    assert np.ptp(rest) < 1e-9
    # Loaded back (ensure_model returns the registry's copy), it scores the same.
    again, trained = ensure_model(cfg, inputs, cube, "fl")
    assert not trained
    np.testing.assert_array_equal(again.estimator.predict_interval(X)[0],
                                  model.predict_interval(X)[0])

    # The options count in the model id only when set: a config without them keeps the
    # id it had before they existed (the key below is the one hashed then).
    import hashlib

    from riskmodel import __version__
    before = {"target": "fl", "world": base.world.model_dump(mode="json"), "seed": base.seed,
              "model": base.model.model_dump(mode="json", exclude={
                  "registry", "threads", "linear_base", "calibration"}),
              "features": list(names), "code_version": __version__,
              "format_version": FORMAT_VERSION}
    text = json.dumps(before, sort_keys=True, separators=(",", ":"))
    assert model_id(base, "fl", names) == hashlib.sha256(text.encode()).hexdigest()[:12]
    assert model_id(cfg, "fl", names) != model_id(base, "fl", names)


def test_linear_base_refuses_compiled_inference() -> None:
    """Compiled members score the trees alone, so a config cannot pair them with the
    linear base."""
    from pydantic import ValidationError

    from riskmodel.config import RunConfig

    with pytest.raises(ValidationError, match="compiled inference scores the trees only"):
        RunConfig.model_validate({"model": {"linear_base": True},
                                  "scale": {"inference": "compiled"}})
    assert RunConfig.model_validate({"model": {"linear_base": True}}).model.linear_base


def test_interval_leans_on_low_risk_rows_when_their_error_is_larger() -> None:
    # Low-risk rows err more (in log rate) than high-risk ones, as on the scenario worlds:
    # the squared-rate weights (power 2) measure the high-risk rows' spread only, the
    # power-1 weights come closer to the typical row's.
    rng = np.random.default_rng(3)
    n = 400_000
    lam_hat = np.exp(rng.uniform(np.log(0.02), np.log(3.0), n))
    spread = np.where(lam_hat < 0.3, 1.0, 0.4)
    lam_true = lam_hat * np.exp(spread * rng.standard_normal(n) - spread ** 2 / 2)
    count = rng.poisson(lam_true).astype(float)
    risk = probability(lam_hat)
    two = fit_interval(risk, np.zeros(n), count, np.ones(n), 0.8, weight_power=2.0, scale=1.0)
    one = fit_interval(risk, np.zeros(n), count, np.ones(n), 0.8, weight_power=1.0, scale=1.0)
    assert two.sigma[0] < 0.45 and one.sigma[0] > two.sigma[0] + 0.07
    with pytest.raises(ValueError, match="weight_power"):
        fit_interval(risk, np.zeros(n), count, np.ones(n), 0.8, weight_power=3.0)
