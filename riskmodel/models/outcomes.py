"""Visit outcomes as evidence: partner reports (confirmed / not found, with date and area)
turned into training rows and per-area log-odds corrections.

Identified cases say where the routine system found cases; a visit says what a deliberate
search found in one area and month. Visits follow alerts, so they are a biased sample of
places (high scores, mostly). They enter the models in two documented ways:

- **Training rows** (`outcome_rows`): every cell of the visited area at the forecast month
  t (the visit month minus one, whose window (t, t+H] holds the visit) gets one row with
  label 1 (confirmed) or 0 (not found) and weight `weight`, beside (never instead of) the
  cell's identified-case row. The visit is the detection process, so the row's
  inspection-coverage feature is set to the model's reference value: the score read at
  standard detection is the one visits inform. The rows join the fit fold whatever their
  month (`fit_month`): the most recent months form the calibration fold, and outcomes there
  would otherwise only calibrate, never teach. Calibration keeps its meaning (identified
  cases at the reference), fitted on identified-case rows only.
- **Area offsets** (`area_offsets`): the log-odds of a visit finding a case is modelled as
  a + logit(model's area risk) + b_area, with a Gaussian prior (sd `prior_sd`) on each
  b_area and a flat one on a. What the features cannot show (an unobserved local effect,
  hidden under-detection) is shared by the cells of an area, so b_area carries it to the
  area's next scores; the prior shrinks areas with few visits to no correction.

Why the selection does not bias these: visits are chosen on the model's scores (and, for
the explore policy, a seeded random share), both functions of the features and of past
outcomes, never of the unseen outcome itself; a model of P(outcome | features, score)
fitted on the visited rows is therefore unbiased where visits happened (selection on
observables). What the bias does change is where evidence exists: unvisited areas keep
their offset at 0, which is why the explore policy spends visits on uncertain areas.

Outcomes are always one partner's (`OutcomeSet.partner`): `riskmodel.training` reads them
per partner through the partner gate, so one partner's visits never shape another's model.
In the nightly run the offsets are fitted when the partner's model is trained
(`fit_area_offsets`, stored in its metadata) and added to its areas' scores
(`apply_area_offsets`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.models.table import Table

# Newton iterations of the offset fit (it converges in a handful; the cap bounds the cost).
OFFSET_ITERATIONS = 50


@dataclass(frozen=True)
class Outcome:
    """One visit: the forecast month it informs, the visited cells and what was found."""

    month: int          # time index t of the forecast month: the visit month minus one
    cells: np.ndarray   # (n,) int64 flat (lat, lon) indices of the visited area
    label: int          # 1 confirmed, 0 not found
    area: int           # admin-1 index of the area (the key of its offset)


@dataclass(frozen=True)
class OutcomeSet:
    """The outcomes one partner reported (or one simulated partner), in report order."""

    partner: str | None
    outcomes: tuple[Outcome, ...]
    skipped: int = 0    # reports that could not be placed (month off the axis, unknown area)

    def __len__(self) -> int:
        return len(self.outcomes)

    def digest(self) -> str:
        """sha256 (hex) of the outcomes: a new outcome makes a new model id."""
        h = hashlib.sha256((self.partner or "").encode())
        for o in self.outcomes:
            h.update(np.asarray([o.month, o.label, o.area], np.int64).tobytes())
            h.update(np.ascontiguousarray(o.cells, np.int64).tobytes())
        return h.hexdigest()

    def summary(self) -> dict[str, Any]:
        """What the model saw, for its metadata."""
        confirmed = sum(o.label for o in self.outcomes)
        return {"partner": self.partner, "outcomes": len(self.outcomes),
                "confirmed": confirmed, "not_found": len(self.outcomes) - confirmed,
                "skipped": self.skipped, "sha256": self.digest()}


def from_feedback(rows: Iterable[Mapping[str, Any]], time_labels: Sequence[str],
                  admin1_codes: Sequence[str], admin1_id: np.ndarray,
                  partner: str | None, target: str) -> OutcomeSet:
    """Outcomes of `target` from feedback label rows (`riskmodel.alerts.feedback.labels`,
    already gated to `partner`).

    The visit month is `observed_on` (YYYY-MM-DD), else the month after the alert's
    `opened_as_of`; the row month is the visit month minus one. Cells are the alert's
    cells (clusters) or every cell of its admin-1 areas. Rows of another partner are an
    error here (the gate is upstream; this is the second lock); rows whose month is off
    the axis, whose area is unknown or whose cells are not cell indices inside its areas
    are counted in `skipped`.
    """
    index = {label[:7]: i for i, label in enumerate(time_labels)}
    codes = {str(c): i for i, c in enumerate(admin1_codes)}
    flat = np.asarray(admin1_id).ravel()
    out, skipped = [], 0
    for r in rows:
        if partner is not None and r.get("partner") != partner:
            raise ValueError(f"outcome of partner {r.get('partner')!r} offered to {partner!r}")
        if r.get("target") != target:
            continue
        if r.get("observed_on"):
            visit = index.get(str(r["observed_on"])[:7])
        else:
            opened = index.get(str(r.get("opened_as_of", ""))[:7])
            visit = None if opened is None else opened + 1
        admin1 = _json_list(r.get("admin1"))
        areas = [codes[a] for a in admin1 if a in codes]
        if visit is None or visit < 1 or not areas:
            skipped += 1
            continue
        inside = np.flatnonzero(np.isin(flat, areas))
        try:
            cells = np.asarray(_json_list(r.get("cells")), np.int64)
        except (TypeError, ValueError):
            skipped += 1
            continue
        if not len(cells):
            cells = inside
        elif not np.isin(cells, inside).all():
            skipped += 1   # a cluster's cells must lie in its admin-1 areas
            continue
        out.append(Outcome(month=visit - 1, cells=cells, label=int(r["label"]),
                           area=areas[0]))
    return OutcomeSet(partner, tuple(out), skipped)


def _json_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(json.loads(value)) if isinstance(value, str) else list(value)


def outcome_rows(cube: xr.Dataset, features: tuple[str, ...], outcomes: OutcomeSet, *,
                 reference: Mapping[str, float], weight: float, fit_month: int) -> Table:
    """Training rows of `outcomes` (module docstring): per visited cell its features at the
    outcome's month with the `reference` values set, label and count = the outcome,
    weight `weight`, month `fit_month` (so the rows join the fit fold)."""
    arrays = {name: cube[name].values for name in features}
    xs, ys, cells = [], [], []
    for o in outcomes.outcomes:
        x = np.empty((len(o.cells), len(features)), dtype=np.float32)
        for j, name in enumerate(features):
            x[:, j] = (reference[name] if name in reference
                       else arrays[name][o.month].ravel()[o.cells])
        xs.append(x)
        ys.append(np.full(len(o.cells), o.label, np.float32))
        cells.append(o.cells)
    if not xs:
        xs, ys, cells = [np.empty((0, len(features)), np.float32)], [np.empty(0, np.float32)], \
            [np.empty(0, np.int64)]
    y = np.concatenate(ys)
    return Table(np.concatenate(xs), y, np.full(len(y), float(weight)),
                 np.full(len(y), fit_month, np.int32), np.concatenate(cells).astype(np.int64),
                 features, y.astype(np.float64))


def concat_tables(a: Table, b: Table) -> Table:
    """Rows of `a` then `b` (same features; counts kept when both have them)."""
    if a.features != b.features:
        raise ValueError("tables with different features cannot be joined")
    count = (np.concatenate([a.count, b.count])
             if a.count is not None and b.count is not None else None)
    return Table(np.concatenate([a.X, b.X]), np.concatenate([a.y, b.y]),
                 np.concatenate([a.weight, b.weight]), np.concatenate([a.month, b.month]),
                 np.concatenate([a.cell, b.cell]), a.features, count)


def area_offsets(score_logit: np.ndarray, label: np.ndarray, area: np.ndarray,
                 n_areas: int, prior_sd: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-area log-odds offsets from outcomes (module docstring).

    `score_logit` (n,) the model's log-odds of each visited area-month, `label` (n,) 0/1,
    `area` (n,) area index. Maximises sum log-likelihood of label ~ Bernoulli(sigmoid(a +
    score_logit + b[area])) - sum b^2 / (2 prior_sd^2) by Newton steps, alternating the
    intercept a and the (independent given a) offsets b. Returns (b (n_areas,), posterior
    sd of b (n_areas,; prior_sd where unvisited), a).
    """
    x = np.asarray(score_logit, np.float64)
    y = np.asarray(label, np.float64)
    g = np.asarray(area, np.int64)
    b = np.zeros(n_areas)
    a = 0.0
    prec = 1.0 / prior_sd ** 2
    if len(y) == 0:
        return b, np.full(n_areas, prior_sd), a
    for _ in range(OFFSET_ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-(a + x + b[g])))
        h = p * (1.0 - p)
        step_a = (y - p).sum() / max(h.sum(), 1e-9)
        a += float(np.clip(step_a, -2.0, 2.0))
        p = 1.0 / (1.0 + np.exp(-(a + x + b[g])))
        h = p * (1.0 - p)
        grad = np.bincount(g, y - p, n_areas) - prec * b
        hess = np.bincount(g, h, n_areas) + prec
        step_b = np.clip(grad / hess, -2.0, 2.0)
        b += step_b
        if abs(step_a) < 1e-8 and np.abs(step_b).max() < 1e-8:
            break
    p = 1.0 / (1.0 + np.exp(-(a + x + b[g])))
    sd = 1.0 / np.sqrt(np.bincount(g, p * (1.0 - p), n_areas) + prec)
    return b, sd, a


def area_scores(model: Any, cube: xr.Dataset, features: tuple[str, ...],
                reference: Mapping[str, float], month: int, area_cells: Sequence[np.ndarray],
                exposure: np.ndarray) -> np.ndarray:
    """(n_areas,) exposure-weighted mean calibrated risk of each area's cells at `month`,
    scored at the `reference` values (standard detection). `model` has `predict_proba`;
    `exposure` is flat (lat * lon), persons (FL) or children (CL)."""
    cells = np.concatenate(area_cells)
    x = np.empty((len(cells), len(features)), dtype=np.float32)
    for j, name in enumerate(features):
        x[:, j] = (reference[name] if name in reference
                   else cube[name].values[month].ravel()[cells])
    risk = model.predict_proba(x)[:, 1]
    out = np.empty(len(area_cells))
    start = 0
    for i, c in enumerate(area_cells):
        w = exposure[c]
        r = risk[start:start + len(c)]
        out[i] = float((r * w).sum() / w.sum()) if w.sum() > 0 else float(r.mean())
        start += len(c)
    return out


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities clipped to [1e-6, 1 - 1e-6]."""
    q = np.clip(np.asarray(p, np.float64), 1e-6, 1.0 - 1e-6)
    return np.log(q / (1.0 - q))


def exposure_of(inputs: xr.Dataset, target: str) -> np.ndarray:
    """Flat (lat * lon) exposure of `target`: persons (FL) or children (CL), NaN as 0."""
    pop = np.nan_to_num(inputs["population"].values.astype(np.float64)).ravel()
    if target == "cl":
        pop = pop * np.nan_to_num(inputs["child_share"].values.astype(np.float64)).ravel()
    return pop


def fit_area_offsets(model: Any, cube: xr.Dataset, features: tuple[str, ...],
                     reference: Mapping[str, float], outcomes: OutcomeSet,
                     exposure: np.ndarray, n_areas: int, prior_sd: float
                     ) -> tuple[np.ndarray, np.ndarray, float]:
    """Area offsets (`area_offsets`) of `outcomes` on `model`: each outcome's score is the
    exposure-weighted mean risk of its visited cells at its month, read at the `reference`
    values (standard detection), as the score the visit followed. Returns (b, sd, a)."""
    x = np.empty(len(outcomes))
    for m in sorted({o.month for o in outcomes.outcomes}):
        idx = [i for i, o in enumerate(outcomes.outcomes) if o.month == m]
        risk = area_scores(model, cube, features, reference, m,
                           [outcomes.outcomes[i].cells for i in idx], exposure)
        x[idx] = logit(risk)
    return area_offsets(x, np.array([o.label for o in outcomes.outcomes]),
                        np.array([o.area for o in outcomes.outcomes], np.int64), n_areas,
                        prior_sd)


def offsets_record(b: np.ndarray, sd: np.ndarray, a: float, admin1_codes: Sequence[str],
                   outcomes: OutcomeSet, prior_sd: float) -> dict[str, Any]:
    """The fitted offsets for a model's metadata: per visited admin-1 code its offset and
    posterior sd (log-odds; every other area has offset 0), the intercept and the prior."""
    visited = sorted({o.area for o in outcomes.outcomes})
    return {"prior_sd": prior_sd, "intercept": round(float(a), 6),
            "areas": {str(admin1_codes[k]): {"offset": round(float(b[k]), 6),
                                             "sd": round(float(sd[k]), 6)}
                      for k in visited}}


def apply_area_offsets(risk: xr.Dataset, offsets: Mapping[str, Mapping[str, float]],
                       partner: str) -> xr.Dataset:
    """`risk` with `offsets` ({target: {admin1 code: log-odds offset}}) added to the log-odds
    of `risk`, `risk_lo` and `risk_hi` of every cell of those units, and the offsets recorded
    as `admin1_offset` (target, admin1; 0 where none) with the partner they came from."""
    codes = [str(c) for c in risk["admin1"].values]
    table = np.zeros((risk.sizes["target"], len(codes)))
    for i, t in enumerate(str(t) for t in risk["target"].values):
        for code, b in offsets.get(t, {}).items():
            if code not in codes:
                raise ValueError(f"area offset of {code!r}: not an admin-1 unit of this risk "
                                 f"dataset")
            table[i, codes.index(code)] = b
    out = risk.copy()
    aid = risk["admin1_id"].values
    shift = np.where(aid >= 0, table[:, np.maximum(aid, 0)], 0.0)   # (target, lat, lon)
    for name in ("risk", "risk_lo", "risk_hi"):
        da = risk[name]
        p = da.values.astype(np.float64)
        moved = 1.0 / (1.0 + np.exp(-(logit(p) + shift[:, None])))
        # Cells without an offset keep their exact bytes (no round trip through logit).
        value = np.where(shift[:, None] != 0, moved, p).astype(da.dtype)
        out[name] = (da.dims, np.where(np.isfinite(p), value, p).astype(da.dtype), da.attrs)
    out["admin1_offset"] = (("target", "admin1"), table.astype(np.float32), {
        "units": "1", "outcomes_partner": partner,
        "long_name": "log-odds offset added to the risk of the unit's cells, fitted from "
                     "the partner's visit outcomes (0: no correction)"})
    return out
