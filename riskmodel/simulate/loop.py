"""One closed-loop simulation on one synthetic world: partners visit, the truth answers,
outcomes flow back, models retrain.

The world is a pure function of (config, seed). The simulation covers the last `months`
months of its record: at each forecast month t (visits happen in month t + 1) every arm
chooses `budget` admin-1 areas to visit among all of them (every area is a candidate
alert, ranked as alerts are: by the exposure-weighted mean risk of its cells, scored at
standard detection). A visit checks `sites_per_visit` workplaces, each holding a case with
the area's true prevalence in the visit month (exposure-weighted mean of
`true_prevalence_<target>` over its cells); cases found ~ Binomial(sites, prevalence),
confirmed = at least one. The same uniforms serve every arm (common random numbers), so
two arms visiting the same area in the same month find the same thing.

Arms per target: `random` (uniform areas), `oracle` (the areas of highest true
prevalence), and per policy (`top`, `explore`) the model with the loop off (trained on
identified cases only, retrained on the same schedule) and on (identified cases plus this
arm's outcomes: training rows and area offsets, `riskmodel.models.outcomes`). `explore`
spends `explore_share` of the budget on the areas, outside the top picks, whose area
log-odds are least certain: the sd of the model's interval (members' spread and residual
error) combined with the posterior sd of the area's offset (prior sd where never visited).
Models retrain every `retrain_every` months; with `offsets_monthly` the area offsets are
refitted every month in between, on the current model, from every outcome so far.

Recorded per arm and month: visits, cases found, confirmed visits; per model arm the
concordance (C-index) of its area ranking with the areas' true prevalence that month.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import norm

import features
from riskmodel.config import RunConfig
from riskmodel.models.estimator import RiskModel
from riskmodel.models.fitting import (
    fit_model,
    reference_values,
    training_months,
    training_table,
    with_outcomes,
)
from riskmodel.models.outcomes import Outcome, OutcomeSet, area_offsets, area_scores, logit
from riskmodel.models.table import Table
from riskmodel.simulate.settings import SimulateSettings
from riskmodel.world import make_world

# Distinct stream of the visit draws (the world's own streams are untouched).
VISIT_STREAM = 7331


@dataclass
class Areas:
    """The admin-1 areas of a world for one target: cells, exposure, true prevalence."""

    cells: list[np.ndarray]   # flat cell indices per area
    exposure: np.ndarray      # flat (lat * lon) persons (FL) or children (CL)
    truth: np.ndarray         # (time, areas) exposure-weighted true prevalence

    @property
    def n(self) -> int:
        return len(self.cells)


def world_areas(world: xr.Dataset, target: str) -> Areas:
    """`Areas` of `world` for `target` (areas without land cells are left out)."""
    admin = world["admin1_id"].values.ravel()
    pop = np.nan_to_num(world["population"].values.astype(np.float64)).ravel()
    if target == "cl":
        pop = pop * np.nan_to_num(world["child_share"].values.astype(np.float64)).ravel()
    prev = np.nan_to_num(world[f"true_prevalence_{target}"].values.astype(np.float64))
    prev = prev.reshape(prev.shape[0], -1)
    cells = [np.flatnonzero(admin == a) for a in range(world.sizes["admin1"])]
    cells = [c for c in cells if len(c)]
    truth = np.empty((prev.shape[0], len(cells)))
    for i, c in enumerate(cells):
        w = pop[c]
        truth[:, i] = (prev[:, c] * w).sum(1) / w.sum() if w.sum() > 0 else prev[:, c].mean(1)
    return Areas(cells, pop, truth)


def concordance(score: np.ndarray, truth: np.ndarray) -> float:
    """Share of area pairs with different truth that `score` orders the same way (ties in
    score count one half): the C-index, an AUC against a continuous truth."""
    ds = np.sign(score[:, None] - score[None, :])
    dt = np.sign(truth[:, None] - truth[None, :])
    pairs = dt != 0
    if not pairs.any():
        return math.nan
    agree = np.where(ds == 0, 0.5, (ds == dt).astype(np.float64))
    return float(agree[pairs].mean())


@dataclass
class ModelArm:
    """One model path: its outcomes, current model, reference values and area offsets."""

    name: str
    loop: bool
    outcomes: list[Outcome] = field(default_factory=list)
    model: RiskModel | None = None
    reference: dict[str, float] = field(default_factory=dict)
    offset: np.ndarray | None = None
    offset_sd: np.ndarray | None = None
    fits: int = 0       # models fitted for this arm (a shared loop-off model not counted)
    fitted_at: int = -1


@dataclass
class SeedWorld:
    """What one seed's simulation reads: config, world, cube, features, axes."""

    cfg: RunConfig
    world: xr.Dataset
    cube: xr.Dataset
    features: tuple[str, ...]
    start: int   # first forecast month


def prepare(cfg: RunConfig, seed: int, months: int) -> SeedWorld:
    """Generate the world of `seed` and its feature cube; the simulation starts at the
    forecast month `n_months - months - 1` (the last visit falls in the last month)."""
    run = cfg.model_copy(update={"seed": int(seed)})
    world = make_world(run.world, run.seed)
    cube = features.build_cube(world)
    start = world.sizes["time"] - months - 1
    first = training_months(world.sizes["time"], run.model.horizon, last=start)
    if len(first) < run.model.calibration_months + 2 * run.model.horizon + 24:
        raise ValueError(f"{months} simulated months leave {len(first)} training months in "
                         f"a {world.sizes['time']}-month world: too few for the time folds")
    return SeedWorld(run, world, cube, tuple(str(n) for n in cube.data_vars), start)


@dataclass
class FitCache:
    """Fits that do not depend on the loop: per forecast month the identified-case training
    table and the loop-off model with its reference values. Simulations of one seed and
    target that differ only in how the loop-on arms learn (the selection script's
    candidates) share one, so the loop-off arm is fitted once."""

    base: dict[int, Table] = field(default_factory=dict)
    off: dict[int, tuple[RiskModel, dict[str, float]]] = field(default_factory=dict)


class Simulation:
    """The closed loop of one seed and target (module docstring)."""

    def __init__(self, sw: SeedWorld, target: str, settings: SimulateSettings,
                 policies: tuple[str, ...], note: Callable[[str], None] = lambda _: None,
                 cache: FitCache | None = None):
        self.sw, self.target, self.s, self.policies, self.note = (sw, target, settings,
                                                                  policies, note)
        self.areas = world_areas(sw.world, target)
        n_time = sw.world.sizes["time"]
        rng = np.random.default_rng([int(sw.cfg.seed), VISIT_STREAM,
                                     0 if target == "fl" else 1])
        self.uniforms = rng.random((n_time, self.areas.n, settings.sites_per_visit))
        self.random_rng = np.random.default_rng([int(sw.cfg.seed), VISIT_STREAM, 2,
                                                 0 if target == "fl" else 1])
        self.arms = {"off": ModelArm("off", loop=False)}
        for p in policies:
            self.arms[p] = ModelArm(p, loop=True)
        # Without a shared cache only the current month's table is kept (the arms
        # retrain together); a shared one keeps every month for the next simulation.
        self._shared = cache is not None
        self.cache = cache if cache is not None else FitCache()
        self._area_risk_cache: dict[tuple[str, int, int], np.ndarray] = {}
        z = norm.ppf(0.5 + sw.cfg.model.interval / 2.0)
        self._band_to_sd = 1.0 / (2.0 * z)

    # -- models -----------------------------------------------------------------------
    def _base_table(self, t: int) -> Table:
        base = self.cache.base
        if t not in base:
            if not self._shared:
                base.clear()
            sw = self.sw
            months = training_months(sw.world.sizes["time"], sw.cfg.model.horizon, last=t)
            base[t] = training_table(sw.cfg, sw.world, sw.cube, self.target, sw.features,
                                     months)
        return base[t]

    def fit(self, arm: ModelArm, t: int) -> None:
        """(Re)train `arm` with what is known at forecast month t."""
        sw, s = self.sw, self.s
        off = self.arms["off"]
        outcomes = OutcomeSet(arm.name, tuple(arm.outcomes))
        if arm.loop and s.outcome_rows and len(outcomes):
            table, reference = with_outcomes(sw.cfg, self._base_table(t), sw.cube, outcomes,
                                             s.outcome_weight)
            arm.model = fit_model(sw.cfg, table, self.target)
            arm.fits += 1
        elif arm is not off and off.model is not None and off.fitted_at == t:
            # Without outcome rows the table is the loop-off arm's: the same fit.
            arm.model, reference = off.model, off.reference
        elif t in self.cache.off:
            arm.model, reference = self.cache.off[t]
        else:
            table = self._base_table(t)
            reference = reference_values(sw.cfg, table)
            arm.model = fit_model(sw.cfg, table, self.target)
            arm.fits += 1
            if self._shared:
                self.cache.off[t] = (arm.model, reference)
        arm.reference = reference
        arm.fitted_at = t
        self._area_risk_cache = {k: v for k, v in self._area_risk_cache.items()
                                 if k[0] != arm.name}
        self.fit_offsets(arm)

    def fit_offsets(self, arm: ModelArm) -> None:
        """(Re)fit the area offsets of `arm` from its outcomes so far, on its current model
        (zero offsets, and zero sd, for an arm without offsets)."""
        sw, s = self.sw, self.s
        n = self.areas.n
        arm.offset, arm.offset_sd = np.zeros(n), np.zeros(n)
        if not (arm.loop and s.outcome_offsets):
            return
        arm.offset_sd = np.full(n, s.prior_sd)
        if not arm.outcomes:
            return
        x = np.empty(len(arm.outcomes))
        for m in sorted({o.month for o in arm.outcomes}):
            risk = self._area_risk(arm, m)
            for i, o in enumerate(arm.outcomes):
                if o.month == m:
                    x[i] = logit(risk[o.area])
        arm.offset, arm.offset_sd, _ = area_offsets(
            x, np.array([o.label for o in arm.outcomes]),
            np.array([o.area for o in arm.outcomes]), n, s.prior_sd)

    def _area_risk(self, arm: ModelArm, month: int) -> np.ndarray:
        """Area risk of `arm`'s current model at `month` (kept until the arm retrains: a
        monthly offset refit scores each past month once per model)."""
        key = (arm.name, arm.fitted_at, month)
        if key not in self._area_risk_cache:
            self._area_risk_cache[key] = area_scores(
                arm.model, self.sw.cube, self.sw.features, arm.reference, month,
                self.areas.cells, self.areas.exposure)
        return self._area_risk_cache[key]

    def score(self, arm: ModelArm, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(area log-odds with offsets, their sd) of `arm` at forecast month t."""
        sw, a = self.sw, self.areas
        assert arm.model is not None
        cells = np.concatenate(a.cells)
        x = np.empty((len(cells), len(sw.features)), dtype=np.float32)
        for j, name in enumerate(sw.features):
            x[:, j] = (arm.reference[name] if name in arm.reference
                       else sw.cube[name].values[t].ravel()[cells])
        risk, lo, hi = arm.model.predict_interval(x)
        width = np.log(np.maximum(hi, 1e-9) / np.maximum(lo, 1e-9))
        area_risk, area_sd = np.empty(a.n), np.empty(a.n)
        start = 0
        for i, c in enumerate(a.cells):
            w = a.exposure[c]
            w = w / w.sum() if w.sum() > 0 else np.full(len(c), 1.0 / len(c))
            area_risk[i] = float((risk[start:start + len(c)] * w).sum())
            area_sd[i] = float((width[start:start + len(c)] * w).sum()) * self._band_to_sd
            start += len(c)
        assert arm.offset is not None and arm.offset_sd is not None
        score = logit(area_risk) + arm.offset
        return score, np.sqrt(area_sd ** 2 + arm.offset_sd ** 2)

    # -- visits -----------------------------------------------------------------------
    def choose(self, policy: str, score: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """Area indices to visit under `policy` ("top" or "explore")."""
        k = min(self.s.budget, self.areas.n)
        order = np.lexsort((np.arange(len(score)), -score))   # stable: ties by index
        if policy == "top":
            return order[:k]
        n_explore = min(k, max(1, round(self.s.explore_share * k)))
        top = order[:k - n_explore]
        rest = np.setdiff1d(np.arange(len(score)), top)
        by_sd = rest[np.lexsort((rest, -sd[rest]))]
        return np.concatenate([top, by_sd[:n_explore]])

    def visit(self, areas: np.ndarray, v: int) -> np.ndarray:
        """Cases found (per visited area) in visit month v."""
        p = self.areas.truth[v, areas]
        return (self.uniforms[v, areas] < p[:, None]).sum(1)

    # -- the loop ---------------------------------------------------------------------
    def run(self, months: int) -> dict[str, Any]:
        """Simulate `months` months; returns per arm the monthly series (module docstring)."""
        s, start = self.s, self.sw.start
        arm_names = ["random", "oracle"] + [f"{p}_{loop}" for p in self.policies
                                           for loop in ("off", "on")]
        series: dict[str, dict[str, list[float]]] = {
            n: {"visits": [], "cases": [], "confirmed": [], "concordance": []}
            for n in arm_names}
        for step in range(months):
            t, v = start + step, start + step + 1
            due = step == 0 or (s.retrain_every > 0 and step % s.retrain_every == 0)
            if due:
                for arm in self.arms.values():
                    self.fit(arm, t)
                self.note(f"{self.target} month {step + 1}/{months}: retrained")
            elif s.offsets_monthly:
                for arm in self.arms.values():
                    self.fit_offsets(arm)
            truth = self.areas.truth[v]
            picks: dict[str, tuple[np.ndarray, float]] = {
                "random": (self.random_rng.choice(self.areas.n, min(s.budget, self.areas.n),
                                                  replace=False), math.nan),
                "oracle": (np.argsort(-truth, kind="stable")[:s.budget], 1.0)}
            off_score, off_sd = self.score(self.arms["off"], t)
            off_c = concordance(off_score, truth)
            for p in self.policies:
                picks[f"{p}_off"] = (self.choose(p, off_score, off_sd), off_c)
                arm = self.arms[p]
                score, sd = self.score(arm, t)
                chosen = self.choose(p, score, sd)
                picks[f"{p}_on"] = (chosen, concordance(score, truth))
                found = self.visit(chosen, v)
                arm.outcomes.extend(
                    Outcome(month=t, cells=self.areas.cells[a], label=int(f > 0), area=int(a))
                    for a, f in zip(chosen, found, strict=True))
            for name, (chosen, c) in picks.items():
                found = self.visit(chosen, v)
                rec = series[name]
                rec["visits"].append(float(len(chosen)))
                rec["cases"].append(float(found.sum()))
                rec["confirmed"].append(float((found > 0).sum()))
                rec["concordance"].append(c)
        return {"series": series,
                "fits": {a.name: a.fits for a in self.arms.values()},
                "outcomes_seen": {a.name: len(a.outcomes) for a in self.arms.values()},
                "areas": self.areas.n, "first_visit_month": start + 1}
