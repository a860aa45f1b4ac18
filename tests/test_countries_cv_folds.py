"""Country cross-validation keeps a held-out country (or region) out of its fold's training
rows, inner conformal folds included: a leak would let the model predict a country from
its own surveys and flatter every score."""

from __future__ import annotations

import numpy as np
import pytest

from riskmodel.countries import cv
from riskmodel.countries.design import Design
from riskmodel.countries.model import POINT_MODELS


def _design(n_countries: int = 9, surveys: int = 3) -> Design:
    rng = np.random.default_rng(0)
    iso3 = np.repeat([f"X{chr(65 + i)}{chr(65 + i)}" for i in range(n_countries)], surveys)
    year = np.tile(2000 + 3 * np.arange(surveys), n_countries)
    X = rng.normal(size=(len(iso3), 3)).astype(np.float32)
    # Each country has its own level: a model that saw the country's rows would know it.
    level = np.repeat(rng.uniform(5, 40, n_countries), surveys)
    return Design(X=X, value=level, iso3=iso3, year=year, features=("a", "b", "c"))


class _Memoriser:
    """A point model that remembers the rows it was fitted on and answers them exactly;
    it records the rows it saw so the test can name a leak."""

    seen: list[np.ndarray] = []

    def fit(self, X: np.ndarray, z: np.ndarray) -> _Memoriser:
        self.table = {x.tobytes(): v for x, v in zip(X, z)}
        self.mean = float(np.mean(z))
        _Memoriser.seen.append(X.copy())
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.array([self.table.get(x.tobytes(), self.mean) for x in X])


@pytest.mark.parametrize("scheme", ["loco", "loro"])
def test_no_held_out_row_trains(monkeypatch: pytest.MonkeyPatch, scheme: str) -> None:
    design = _design()
    monkeypatch.setattr(cv, "regions_of", lambda iso3: {c: c[1] for c in set(iso3)})
    for m in list(POINT_MODELS):
        monkeypatch.setitem(POINT_MODELS, m, _Memoriser)
    groups = design.iso3 if scheme == "loco" else np.array([c[1] for c in design.iso3])
    for g in sorted(set(groups)):
        _Memoriser.seen.clear()
        preds = cv.cross_validate(design, groups, holdout=[g])
        held = design.X[groups == g]
        trained = np.concatenate(_Memoriser.seen)
        leaked = [x for x in held if any((x == t).all() for t in trained)]
        assert not leaked, f"{scheme} fold {g}: {len(leaked)} held-out rows trained"
        # and the fold's predictions are not the memorised truth
        value = preds["model"][0, groups == g]
        assert not np.allclose(value, design.value[groups == g])


def test_memoriser_detects_a_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard above can fail: with the held-out rows in training, the memoriser returns
    the truth exactly."""
    design = _design()
    for m in list(POINT_MODELS):
        monkeypatch.setitem(POINT_MODELS, m, _Memoriser)
    model = cv.IntervalModel("model").fit(design.X, design.value, design.iso3)
    value, _, _ = model.predict(design.X)
    assert np.allclose(value, design.value)
