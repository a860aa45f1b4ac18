"""The interval refit's scored rows kept between nights (`riskmodel.scale.refit_rows`):
the folder's round trip and pruning, the wrapped spread scoring only the months it does
not hold, and nights on the tiny world that give the same datasets with or without it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import features
from riskmodel.config import load_config
from riskmodel.models.table import land_cells
from riskmodel.scale import refit_rows
from riskmodel.scale.refit_rows import RefitRows, kept_spread, model_key, rows_digest
from riskmodel.scale.score import score_months
from riskmodel.training import ensure_model
from riskmodel.world import make_world

ATTRS = {"as_of": "test"}


def toy_spread(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in model: row-wise, like LightGBM."""
    return 1.0 / (1.0 + np.exp(-X.sum(axis=1))), np.abs(X[:, 0]) + 0.1


def counted(calls: list[int]):  # type: ignore[no-untyped-def]
    def spread(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(X))
        return toy_spread(X)
    return spread


def test_rows_round_trip_and_misses(tmp_path: Path) -> None:
    rows = RefitRows(tmp_path / "kept")
    X = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    risk, sd = toy_spread(X)
    key, digest = "m" * 64, rows_digest(X)
    assert rows.get(key, digest, 7) is None  # nothing kept yet, no folder
    rows.put(key, digest, risk, sd)
    got = rows.get(key, digest, 7)
    assert got is not None
    np.testing.assert_array_equal(got[0], risk)
    np.testing.assert_array_equal(got[1], sd)
    assert rows.get(key, digest, 8) is None  # another row count: not these rows
    assert rows.get("n" * 64, digest, 7) is None  # another model
    # the digest sees every byte, the dtype and the shape
    Y = X.copy()
    Y[3, 1] = np.nextafter(Y[3, 1], np.float32(np.inf))
    assert len({rows_digest(X), rows_digest(Y), rows_digest(X.astype(np.float64)),
                rows_digest(X.reshape(3, 7))}) == 4
    # a truncated or foreign file is a miss, and the next put replaces it
    (path,) = (tmp_path / "kept").glob("??/*.npy")
    path.write_bytes(path.read_bytes()[:40])
    assert rows.get(key, digest, 7) is None
    path.write_bytes(b"\x80\x04not numpy")
    assert rows.get(key, digest, 7) is None
    rows.put(key, digest, risk, sd)
    assert rows.get(key, digest, 7) is not None
    assert not list((tmp_path / "kept").glob("??/.*"))  # no temporary file left


def test_model_key_names_the_model_as_it_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    meta = {"model_id": "abc", "members": [{"sha256": "1" * 64}], "interval": [0.5]}
    key = model_key(meta, ("a", "b"), False)
    assert key == model_key(dict(meta), ("a", "b"), False)
    keys = {key, model_key(meta, ("b", "a"), False), model_key(meta, ("a", "b"), True),
            model_key({**meta, "members": [{"sha256": "2" * 64}]}, ("a", "b"), False),
            model_key({**meta, "interval": [0.6]}, ("a", "b"), False)}
    monkeypatch.setattr(refit_rows, "__version__", "0.0.0-other")  # an upgraded engine
    keys.add(model_key(meta, ("a", "b"), False))
    monkeypatch.setattr(refit_rows.lightgbm, "__version__", "0.0.0-other")
    keys.add(model_key(meta, ("a", "b"), False))
    assert len(keys) == 7


def test_prune_removes_what_no_night_read(tmp_path: Path) -> None:
    rows = RefitRows(tmp_path)
    old_time = time.time() - (refit_rows.KEEP_DAYS + 1) * 86400
    digests = [rows_digest(np.full((2, 2), i, np.float32)) for i in range(3)]
    for d in digests:
        rows.put("m", d, np.zeros(2), np.zeros(2))
    paths = {d: rows._path("m", d) for d in digests}
    for d in digests:
        os.utime(paths[d], (old_time, old_time))
    leftover = paths[digests[0]].parent / ".x.npy.123.tmp"
    leftover.write_bytes(b"")
    os.utime(leftover, (old_time, old_time))
    assert rows.get("m", digests[1], 2) is not None  # read tonight: touched, kept
    assert rows.prune() == 3
    assert [d for d in digests if paths[d].exists()] == [digests[1]]
    assert not leftover.exists()
    assert RefitRows(tmp_path / "none").prune() == 0


def test_kept_spread_scores_only_the_months_it_does_not_hold(tmp_path: Path) -> None:
    n, months = 5, 4
    X = np.random.default_rng(1).normal(size=(months * n, 3)).astype(np.float32)
    calls: list[int] = []
    spread = kept_spread(RefitRows(tmp_path), "m", n, counted(calls))
    first = spread(X)
    for got, want in zip(first, toy_spread(X), strict=True):
        np.testing.assert_array_equal(got, want)
    assert calls == [months * n]
    calls.clear()
    again = spread(X)
    assert calls == []  # every month read back
    for got, want in zip(again, first, strict=True):
        np.testing.assert_array_equal(got, want)
    # one month revised, one month new: those two scored, together, the rest read
    Y = np.concatenate([X, X[:n] + 1])
    Y[2 * n + 1, 0] += 0.5
    calls.clear()
    got = spread(Y)
    assert calls == [2 * n]
    for g, want in zip(got, toy_spread(Y), strict=True):
        np.testing.assert_array_equal(g, want)
    with pytest.raises(ValueError, match="not whole months of 5 cells"):
        spread(X[:-1])


@pytest.fixture(scope="module")
def tiny(tiny_run: dict) -> dict:
    cfg = load_config(tiny_run["config"])
    inputs = make_world(cfg.world, cfg.seed)
    cube = features.build_cube(inputs)
    models = {t: ensure_model(cfg, inputs, cube, t, train=False)[0] for t in cfg.targets}
    return {"inputs": inputs, "models": models, "month": inputs.sizes["time"] - 1,
            "horizon": cfg.model.horizon}


def night(tiny: dict, inputs: xr.Dataset, folder: Path | None, engine: str = "blocks"):  # type: ignore[no-untyped-def]
    month = tiny["month"]
    return score_months(tiny["models"], inputs, [month - 1, month], engine=engine,  # type: ignore[arg-type]
                        block=12, attrs=lambda m: ATTRS, horizon=tiny["horizon"],
                        refit_rows=folder)


def test_nights_with_kept_rows_equal_nights_without(tiny: dict, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The kept rows change how many rows a night scores, never what it publishes: the
    # same datasets (band and refit attrs included) on a first night, a rerun and a night
    # after an input revision, on both engines.
    calls: list[int] = []

    def counting(kept, key, n, spread):  # type: ignore[no-untyped-def]
        def inner(X: np.ndarray):  # type: ignore[no-untyped-def]
            calls.append(len(X))
            return spread(X)
        return kept_spread(kept, key, n, inner)

    monkeypatch.setattr("riskmodel.scale.blocks.kept_spread", counting)
    inputs, month, h = tiny["inputs"], tiny["month"], tiny["horizon"]
    folder = tmp_path / "refit-rows"
    plain = night(tiny, inputs, None)
    assert calls == []  # no folder: the wrapper is not used
    land = len(land_cells(inputs["country_id"].values))
    labelled = len(np.unique(np.concatenate(
        [np.arange(m - h - 35, m - h + 1) for m in (month - 1, month)])))
    for rerun in (False, True):
        calls.clear()
        kept = night(tiny, inputs, folder)
        assert sum(calls) == (0 if rerun else 2 * labelled * land)
        for m in (month - 1, month):
            xr.testing.assert_identical(kept.risk[m], plain.risk[m])
    memory = night(tiny, inputs, folder, engine="memory")  # other rows: a whole grid
    xr.testing.assert_identical(memory.risk[month], plain.risk[month])
    # A revised input at the newest labelled month: that month is scored afresh (the
    # features of earlier months do not read it), and the night equals one without kept
    # rows on the revised inputs.
    newest = month - h
    revised = inputs.copy()
    temp = revised["temperature"].values.copy()
    temp[newest] += 2.0
    revised["temperature"] = (revised["temperature"].dims, temp,
                              revised["temperature"].attrs)
    calls.clear()
    kept = night(tiny, revised, folder)
    assert 0 < sum(calls) <= 2 * land  # at most the newest labelled month, both targets
    xr.testing.assert_identical(kept.risk[month], night(tiny, revised, None).risk[month])
    assert not np.array_equal(kept.risk[month]["risk_hi"].values,
                              plain.risk[month]["risk_hi"].values, equal_nan=True)


def test_the_night_keeps_its_refit_rows_beside_its_run_folders(tiny_run: dict) -> None:
    cfg = load_config(tiny_run["config"])
    folder = Path(cfg.out) / cfg.name / "refit-rows"
    assert folder == tiny_run["run_dir"].parent / "refit-rows"
    files = list(folder.glob("??/*.npy"))
    assert files, f"{folder}: no refit rows kept"
    land = len(land_cells(make_world(cfg.world, cfg.seed)["country_id"].values))
    for path in files[:5]:
        arr = np.load(path, allow_pickle=False)
        assert arr.dtype == np.float64 and arr.shape == (2, land)
