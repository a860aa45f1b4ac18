"""Validation of a real target: leave-one-country-out and forward-in-time, with baselines.

`out_of_sample` refits every method on each fold's training rows (hyper-parameters and
interval chosen inside them, `riskmodel.countries.fit`) and predicts the held-out rows:
`loco` holds out each country with all its rows; `forward` trains on rows of years before
Y and predicts the rows of year Y, for every Y with rows and at least `MIN_TRAIN` earlier
rows. `last_observed` (the same country's latest earlier value) competes on the rows where
it exists. `summarise` scores each method (MAE, Spearman, 80% interval coverage and width)
with a 90% spread from a bootstrap over countries (countries resampled with all their rows;
the fold predictions are kept, nothing is refitted), and the paired difference of the
model's MAE and Spearman against each baseline on the same resamples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import rankdata

from riskmodel.countries.cv import last_observed
from riskmodel.countries.design import Design
from riskmodel.countries.fit import METHODS, TargetModel
from riskmodel.countries.targets import Target

MIN_TRAIN = 20
BOOTSTRAP = 400
SPREAD = (5.0, 95.0)
FoldHook = Callable[[str, int, int, str], None]


def folds(design: Design, scheme: str) -> list[tuple[str, np.ndarray]]:
    """(label, test mask) of every fold of `scheme`; training rows are the complement
    (loco) or the rows of earlier years (forward)."""
    if scheme == "loco":
        return [(str(c), design.iso3 == c) for c in np.unique(design.iso3)]
    if scheme == "forward":
        return [(str(y), design.year == y) for y in np.unique(design.year)
                if (design.year < y).sum() >= MIN_TRAIN]
    raise ValueError(f"unknown scheme {scheme!r}; use 'loco' or 'forward'")


def out_of_sample(design: Design, target: Target, scheme: str, *,
                  methods: tuple[str, ...] = METHODS, on_fold: FoldHook | None = None
                  ) -> dict[str, Any]:
    """Held-out (value, lo, hi) per method, (3, n) each, NaN outside the test folds, plus
    `standard_detection` (model, detection proxies at reference) for targets that have
    proxies and the hyper-parameters each model fold chose."""
    n = len(design.value)
    pred = {m: np.full((3, n), np.nan) for m in methods}
    std = np.full(n, np.nan)
    chosen: list[dict[str, Any]] = []
    fl = folds(design, scheme)
    for i, (label, test) in enumerate(fl, 1):
        if on_fold is not None:
            on_fold(scheme, i, len(fl), label)
        train = ~test if scheme == "loco" else design.year < design.year[test][0]
        for m in methods:
            model = TargetModel(target, m, design.features).fit(
                design.X[train], design.value[train], design.iso3[train])
            pred[m][:, test] = np.stack(model.predict(design.X[test]))
            if m == "model":
                chosen.append({"fold": label, **model.chosen_})
                if target.detection:
                    std[test] = model.predict(model.standard_detection(design.X[test]))[0]
    tested = np.zeros(n, bool)
    for _, t in fl:
        tested |= t
    last = last_observed(design.iso3, design.year, design.value)
    last[~tested] = np.nan
    pred["last_observed"] = np.stack([last, np.full(n, np.nan), np.full(n, np.nan)])
    return {"pred": pred, "standard_detection": std, "chosen": chosen, "tested": tested,
            "folds": len(fl)}


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    out = {"mae": float(np.mean(np.abs(p[0] - y))) if len(y) else float("nan"),
           "spearman": _spearman(p[0], y)}
    if len(y) and not np.isnan(p[1]).any():
        out["coverage"] = float(np.mean((y >= p[1]) & (y <= p[2])))
        out["width"] = float(np.mean(p[2] - p[1]))
    return out


def _spread(values: list[float]) -> list[float] | None:
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    return None if not len(v) else [float(x) for x in np.percentile(v, SPREAD)]


def summarise(design: Design, oos: dict[str, Any], *, seed: int = 0,
              n_boot: int = BOOTSTRAP) -> dict[str, Any]:
    """Scores per method on all tested rows and on rows with an earlier value, with
    bootstrap spreads over countries and paired model-minus-baseline differences."""
    y = design.value
    rng = np.random.default_rng(seed)
    countries = np.unique(design.iso3[oos["tested"]])
    rows_of = {c: np.flatnonzero((design.iso3 == c) & oos["tested"]) for c in countries}
    draws = [np.concatenate([rows_of[c] for c in rng.choice(countries, len(countries))])
             for _ in range(n_boot)]
    last = oos["pred"]["last_observed"][0]
    subsets = {"all_rows": oos["tested"] & ~np.isnan(oos["pred"]["model"][0]),
               "rows_with_earlier_value": oos["tested"] & ~np.isnan(last)}
    preds = dict(oos["pred"])
    if not np.isnan(oos["standard_detection"]).all():
        sd = oos["standard_detection"]
        preds["model_standard_detection"] = np.stack([sd, np.full_like(sd, np.nan),
                                                      np.full_like(sd, np.nan)])
    out: dict[str, Any] = {}
    for name, mask in subsets.items():
        res: dict[str, Any] = {"rows": int(mask.sum()),
                               "countries": int(len(np.unique(design.iso3[mask])))}
        for m, p in preds.items():
            if m == "last_observed" and name == "all_rows":
                continue
            point = _metrics(y[mask], p[:, mask])
            boot = {k: [] for k in point}
            diff: dict[str, dict[str, list[float]]] = {}
            for d in draws:
                d = d[mask[d]]
                bm = _metrics(y[d], p[:, d])
                for k in point:
                    boot[k].append(bm.get(k, np.nan))
                if m != "model":
                    ref = _metrics(y[d], preds["model"][:, d])
                    for k in ("mae", "spearman"):
                        diff.setdefault(k, []).append(ref[k] - bm[k])
            res[m] = {k: {"value": v, "spread": _spread(boot[k])} for k, v in point.items()}
            if diff:
                res[m]["model_minus_this"] = {
                    k: {"value": (_metrics(y[mask], preds["model"][:, mask])[k] - point[k]),
                        "spread": _spread(v)} for k, v in diff.items()}
        out[name] = res
    return out
