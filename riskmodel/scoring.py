"""The risk contract: calibrated risk, interval and drivers of land cells, and the CF dataset
of one month they make (`assemble_risk`).

Scoring itself has one entry point, `riskmodel.scale.score.score_months`, whose engines
(the whole grid in memory, or spatial blocks) both run `scoring_matrix` and `score_rows`
on their cells and hand the scores to `assemble_risk`. The output follows the risk
contract of docs/architecture.md: `risk`, `risk_lo`, `risk_hi` on (target, time, lat,
lon), the top drivers per cell (`driver_feature`, `driver_contrib`) and per admin-1 unit,
contributions grouped by feature domain, and the area context alerts and targeting need
(regions, population, programmes, ratifications).
Inspection coverage is set to the model's reference level for every area, so the score is
risk at standard detection, not "where inspectors already go". The interval of each scored
month is refitted on the newest months labelled by then (`refit_bands`,
`riskmodel.models.interval.refit_interval`) from the rows `refit_plan` names, which
either engine scores in its pass (`labelled_spread`, `labelled_counts`); the band is
made from each cell's risk and member spread after the refit (`with_band`), and the
dataset's attrs say which spread was used (`band_attrs`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xarray as xr

import kernels
from features import CATALOGUE, DOMAINS
from riskmodel.models.estimator import RiskModel
from riskmodel.models.interval import (
    REFIT_MONTHS,
    IntervalCalibration,
    LabelledRows,
    RefitRecord,
    labelled_months,
    predict_band,
    refit_interval,
)
from riskmodel.models.labels import future_sum
from riskmodel.models.registry import RegisteredModel
from riskmodel.models.table import feature_matrix, feature_rows, land_cells

N_DRIVERS = 3
# driver_feature value of a cell whose contributions the driver rule did not compute
# (-1 stays "computed, but no feature raises risk").
NOT_COMPUTED = -2


@dataclass(frozen=True)
class DriverRule:
    """Which land cells get TreeSHAP contributions (the expensive part of a night's score).

    A cell is explained when its risk is at least `min_risk` (the pipeline sets it to the
    lowest risk at which an enabled alert rule can hold an area, so every cell that can
    reach an alert has its drivers), or when it is among the `admin1_sample` cells drawn
    per admin-1 unit (seeded by `seed`; every cell of a smaller unit), from which the
    admin-1 drivers are computed. `min_risk = 0` and `admin1_sample = None` explain every
    cell, the rule `score_months` uses when given none.
    """

    min_risk: float = 0.0
    admin1_sample: int | None = None
    seed: int = 0

    def attrs(self) -> dict[str, Any]:
        """The rule as attrs of the driver variables (CF `comment` plus its parameters)."""
        sample = "every cell" if self.admin1_sample is None else \
            f"a seeded sample of {self.admin1_sample} cells"
        return {"comment": f"contributions computed only for land cells with risk >= "
                           f"{self.min_risk:g} and for {sample} per admin-1 unit "
                           f"(docs/scale.md, driver rule); other land cells hold "
                           f"{NOT_COMPUTED} in driver_feature and NaN in driver_contrib "
                           f"and domain_contrib",
                "drivers_min_risk": float(self.min_risk),
                "drivers_admin1_sample": -1 if self.admin1_sample is None
                else int(self.admin1_sample)}


# The rule of `score_months` when given none: contributions for every land cell.
EVERY_CELL = DriverRule()


def admin1_sample(admin1_id: np.ndarray, rule: DriverRule) -> np.ndarray:
    """Flat boolean mask over the (lat, lon) grid of the cells the rule samples per admin-1
    unit: the `rule.admin1_sample` cells of each unit with the smallest seeded random key
    (all of a unit's cells when it has fewer; all land cells when the sample is None).

    The key is drawn for the whole grid at once, so the sample does not depend on how the
    grid is cut into blocks.
    """
    labels = np.asarray(admin1_id).ravel()
    if rule.admin1_sample is None:
        return labels >= 0
    key = np.random.default_rng(rule.seed).random(labels.size)
    order = np.lexsort((key, labels))
    ranked = labels[order]
    rank = np.arange(labels.size) - np.searchsorted(ranked, ranked, side="left")
    mask = np.zeros(labels.size, dtype=bool)
    mask[order[(rank < rule.admin1_sample) & (ranked >= 0)]] = True
    return mask


def _top_drivers(contrib: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest positive contributions per row (-1 / NaN if none)."""
    k = min(k, contrib.shape[1])
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    vals = np.take_along_axis(contrib, order, axis=1)
    idx = np.where(vals > 0, order, -1).astype(np.int16)
    return idx, np.where(vals > 0, vals, np.nan).astype(np.float32)


def scoring_matrix(model: RiskModel, meta: dict[str, Any], cube: xr.Dataset, month: int,
                   cells: np.ndarray) -> np.ndarray:
    """(len(cells), F) float32 features of land `cells` at time index `month`, in the
    model's order, with reference-valued features (inspection coverage) set to their
    reference level so the score is risk at standard detection."""
    features = model.feature_names_in_
    X = feature_matrix(cube, features, month, cells)
    for name, value in meta.get("reference_values", {}).items():
        X[:, features.index(name)] = value
    return X


def score_rows(model: RiskModel, meta: dict[str, Any], X: np.ndarray, sampled: np.ndarray,
               rule: DriverRule, spread: tuple[np.ndarray, np.ndarray] | None = None
               ) -> dict[str, np.ndarray]:
    """Risk, member spread and the rule's contributions for the rows of `X` (from
    `scoring_matrix`); `sampled` (n,) marks rows in the admin-1 sample.

    Returns `risk`, `member_sd` (n,; the members' log-odds spread the band is built from,
    `with_band`), `explained` (n,) bool and `contrib` (explained rows, F; log-odds,
    float64). `spread` passes (risk, member_sd) computed elsewhere (compiled inference)
    instead of `predict_spread`.
    """
    if len(X) == 0:  # a block of sea: LightGBM refuses empty input
        empty = np.empty(0)
        return {"risk": empty, "member_sd": empty, "explained": np.zeros(0, bool),
                "contrib": np.empty((0, X.shape[1]))}
    risk, sd = model.predict_spread(X) if spread is None else spread
    explained = np.asarray(sampled, bool) | (risk >= rule.min_risk)
    contrib = model.predict_contrib(X[explained]) if explained.any() else \
        np.empty((0, X.shape[1]))
    # A feature held at one reference level everywhere (inspection coverage at standard
    # detection) is not a driver of any area: its contribution is the same shift for all
    # cells, so it is left out of the drivers and the domain sums.
    for name in meta.get("reference_values", {}):
        contrib[:, model.feature_names_in_.index(name)] = 0.0
    return {"risk": risk, "member_sd": sd, "explained": explained, "contrib": contrib}


def with_band(scores: dict[str, np.ndarray], cal: IntervalCalibration
              ) -> dict[str, np.ndarray]:
    """`scores` (as `score_rows` returns them) with the band `lo`, `hi` (n,) of their risk
    and member spread under the interval calibration `cal` (`predict_band`): the one place
    either engine's band is made, after the month's refit."""
    lo, hi = predict_band(scores["risk"], scores["member_sd"], cal)
    return {**scores, "lo": lo, "hi": hi}


# {scored time index: {target: the interval calibration that month is scored with}}
Bands = dict[int, dict[str, IntervalCalibration]]

# Land cells a refit reads per labelled month, at most. Every row is scored by the model
# each night (LightGBM, REFIT_MONTHS months x 2 targets), so the rows cost scoring time in
# proportion: on a grid of 230,000 land cells, 50,000 cells made them most of the night.
# The spread is one number per target; its settings were chosen and its coverage measured
# on scenario worlds of 3,600 land cells (x 36 months), and this cap reads four times as
# many, every land cell of the demo. Grids with at most this many land cells (the demo,
# the tests' worlds) read every cell.
REFIT_CELLS = 14_400


def refit_cells(land: np.ndarray, cap: int = REFIT_CELLS) -> np.ndarray:
    """The land cells whose rows a refit reads each labelled month (flat (lat, lon)
    indices, ascending): all of `land` when it holds at most `cap`, else the `cap` cells
    whose flat index has the smallest splitmix64 hash, a fixed rule of the index alone
    (spread over the whole grid, no stride to alias with its rows), so every engine and
    every block picks the same cells however the grid is cut."""
    land = np.asarray(land, dtype=np.int64)
    if len(land) <= cap:
        return land
    z = land.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)  # a bijection of uint64: no two cells share a key
    return np.sort(land[np.argpartition(z, cap)[:cap]])


@dataclass(frozen=True)
class RefitPlan:
    """What a night's refit reads (`refit_plan`): the scored time indices `scored`, the
    label `horizon` H, `refit_months` per scored month, `labelled` the union over scored
    months of their labelled months (time indices t with t + H <= the scored month,
    ascending) and `cells` the land cells read at each of them (`refit_cells`). Each
    engine scores these rows (`labelled_spread`, `labelled_counts`) with its features,
    and `refit_bands` refits each scored month on them."""

    scored: tuple[int, ...]
    horizon: int
    refit_months: int
    labelled: np.ndarray
    cells: np.ndarray


def refit_plan(inputs: xr.Dataset, months: Sequence[int], horizon: int,
               refit_months: int = REFIT_MONTHS, cap: int = REFIT_CELLS) -> RefitPlan:
    """The `RefitPlan` of scoring time indices `months` of `inputs`."""
    scored = tuple(int(m) for m in months)
    every = np.arange(inputs.sizes["time"])
    labelled = np.unique(np.concatenate(
        [labelled_months(every, m, horizon, refit_months) for m in scored]
        or [np.empty(0, np.int64)])).astype(np.int64)
    return RefitPlan(scored, int(horizon), int(refit_months), labelled,
                     refit_cells(land_cells(inputs["country_id"].values), cap))


def labelled_spread(model: RiskModel, cube: xr.Dataset, months: np.ndarray,
                    cells: np.ndarray,
                    spread: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None
                    = None, matrices: dict[tuple[str, ...], np.ndarray] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(risk, member_sd), each (len(months), len(cells)) float64: the model's calibrated
    risk and members' log-odds spread of land `cells` (flat indices into the cube's grid)
    at time indices `months`, at their actual inspection coverage (the coverage their
    identified cases were found at, so no reference values). `spread` scores a feature
    matrix instead of `model.predict_spread` (compiled inference); `matrices` keeps the
    feature matrix per feature list, so targets sharing one build it once."""
    names = tuple(model.feature_names_in_)
    shape = (len(months), len(cells))
    if not np.prod(shape):
        return np.empty(shape), np.empty(shape)
    matrices = {} if matrices is None else matrices
    if names not in matrices:
        matrices[names] = feature_rows(cube, names, months, cells)
    risk, sd = (spread or model.predict_spread)(matrices[names])
    return (np.asarray(risk, np.float64).reshape(shape),
            np.asarray(sd, np.float64).reshape(shape))


def labelled_counts(identified: np.ndarray, cells: np.ndarray, months: np.ndarray,
                    horizon: int) -> np.ndarray:
    """(len(months), len(cells)) float64: the cases of `identified` ((time, lat, lon) of a
    grid or a block) summed over each label window (t, t+H] (`future_sum`) of the cells
    `cells` (flat indices into its (lat, lon)) at time indices `months`."""
    per_cell = np.asarray(identified).reshape(identified.shape[0], -1)[:, cells]
    return future_sum(per_cell, horizon)[np.asarray(months, np.int64)]


def refit_bands(models: Models, rows: dict[str, LabelledRows | None], plan: RefitPlan
                ) -> Bands:
    """Each scored month's interval calibration per target: `refit_interval` (its
    defaults) on the target's labelled `rows` (the plan's labelled months x cells, each
    engine's scores gathered in that order) for every month of `plan.scored`; nothing
    after the scored month is read. A target whose rows are None (the inputs hold no
    identified cases of it) keeps the model's calibration-fold fit, and its record says
    why."""
    bands: Bands = {m: {} for m in plan.scored}
    for target, registered in models.items():
        fold = registered.estimator.interval_
        labelled = rows.get(target)
        for m in plan.scored:
            bands[m][target] = replace(fold, refit=RefitRecord(
                "calibration fold", m, [], 0, 0, float(np.max(fold.sigma)),
                f"the inputs hold no identified_{target}: not refitted")) \
                if labelled is None else \
                refit_interval(labelled, m, plan.horizon, fold, months=plan.refit_months)
    return bands


def band_attrs(bands: dict[str, IntervalCalibration], label: Callable[[int], str]
               ) -> dict[str, Any]:
    """Dataset attrs saying which interval spread each target of one month was scored
    with: `interval_spread_source_<t>`, `interval_spread_months_<t>` ("first/last" month
    labels, "" when none), `interval_spread_rows_<t>`, `interval_sigma_res_<t>` and, when
    the fold's fit was kept, `interval_spread_reason_<t>`."""
    out: dict[str, Any] = {}
    for target, cal in bands.items():
        r = cal.refit
        if r is None:
            continue
        out[f"interval_spread_source_{target}"] = r.source
        out[f"interval_spread_months_{target}"] = (
            f"{label(r.months[0])}/{label(r.months[1])}" if r.months else "")
        out[f"interval_spread_rows_{target}"] = int(r.rows)
        out[f"interval_sigma_res_{target}"] = float(r.sigma)
        if r.reason:
            out[f"interval_spread_reason_{target}"] = r.reason
    return out


def _grid(values: np.ndarray, cells: np.ndarray, shape: tuple[int, int],
          fill: float = np.nan, dtype: Any = np.float32) -> np.ndarray:
    out = np.full(int(np.prod(shape)), fill, dtype=dtype)
    out[cells] = values
    return out.reshape(shape)


def _context(inputs: xr.Dataset, month: int) -> dict[str, tuple]:
    """Area context at `month`: population, programmes, TA requests, ratifications."""
    t = inputs["time"].values[month]
    pop = inputs["population"].astype(np.float32)
    children = (inputs["population"] * inputs["child_share"]).astype(np.float32)
    recent = inputs["time"] > t - np.timedelta64(3 * 365, "D")
    upto = inputs["time"] <= t

    def at(name: str) -> np.ndarray:
        return inputs[name].sel(time=t).values

    ta = (inputs["ta_request_fl"] + inputs["ta_request_cl"]).where(recent & upto, 0).sum("time")
    ctx: dict[str, tuple] = {
        "population": (("lat", "lon"), pop.values,
                       {"units": "1", "long_name": "persons living in the cell"}),
        "child_population": (("lat", "lon"), children.values,
                             {"units": "1", "long_name": "children aged 5-17 in the cell"}),
        "programme_fl": (("country",), at("programme_fl").astype(np.int8),
                         {"long_name": "ILO programme focused on FL or FL+CL active (0/1)"}),
        "programme_cl": (("country",), at("programme_cl").astype(np.int8),
                         {"long_name": "ILO programme focused on CL or FL+CL active (0/1)"}),
        "programme_fprw": (("country",), at("programme_fprw").astype(np.int8),
                           {"long_name": "any ILO FPRW programme active (0/1)"}),
        "ta_request": (("country",), (ta.values > 0).astype(np.int8),
                       {"long_name": "technical-assistance request in the last 3 years (0/1)"}),
        "ratified_fl": (("country",), np.sum([at(f"ratified_{c}") for c in ("C029", "C105",
                                                                             "P029")], axis=0)
                        .astype(np.int8), {"long_name": "of C029, C105, P029 ratified"}),
        "ratified_cl": (("country",), np.sum([at(f"ratified_{c}") for c in ("C138", "C182")],
                                             axis=0).astype(np.int8), {"long_name": "of C138, C182 ratified"}),
    }
    return ctx


Models = dict[str, RegisteredModel]


def assemble_risk(models: Models, inputs: xr.Dataset, month: int, attrs: dict[str, Any],
                  cells: np.ndarray, sampled: np.ndarray,
                  scores: dict[str, dict[str, np.ndarray]], rule: DriverRule) -> xr.Dataset:
    """The risk dataset (docs/architecture.md, risk contract) from per-cell scores.

    `cells` are the flat land-cell indices the scores are in the order of, `sampled` the
    rule's admin-1 sample among them, `scores` per target as `score_rows` returns them.
    Top drivers and domain sums are set for explained cells; admin-1 drivers are the
    population-weighted mean contribution of each unit's sampled cells.
    """
    shape = (inputs.sizes["lat"], inputs.sizes["lon"])
    admin1_id = inputs["admin1_id"].values
    targets = list(models)
    first_model = next(iter(models.values())).estimator
    features = list(first_model.feature_names_in_)
    domain_of = np.array([CATALOGUE[f].domain if f in CATALOGUE else "other" for f in features])
    n_admin = inputs.sizes["admin1"]
    pop_cells = np.nan_to_num(inputs["population"].values.ravel()[cells])

    risk, lo, hi, dfeat, dcontrib, dom, a_feat, a_contrib = ([] for _ in range(8))
    for target in targets:
        model = models[target].estimator
        if list(model.feature_names_in_) != features:
            raise ValueError("all targets must use the same feature list")
        s = scores[target]
        risk.append(_grid(s["risk"], cells, shape))
        lo.append(_grid(s["lo"], cells, shape))
        hi.append(_grid(s["hi"], cells, shape))
        expl = cells[s["explained"]]
        land_grid = _grid(np.full(len(cells), NOT_COMPUTED, np.int16), cells, shape, -1,
                          np.int16)
        idx, val = _top_drivers(s["contrib"], N_DRIVERS)
        ranks = []
        for r in range(idx.shape[1]):
            g = land_grid.copy().ravel()
            g[expl] = idx[:, r]
            ranks.append(g.reshape(shape))
        dfeat.append(np.stack(ranks))
        dcontrib.append(np.stack([_grid(val[:, r], expl, shape) for r in range(val.shape[1])]))
        dom.append(np.stack([_grid(s["contrib"][:, domain_of == d].sum(1), expl, shape)
                             for d in DOMAINS]))
        # Admin-1 drivers: population-weighted mean contribution of the unit's sampled
        # cells (every cell of a unit smaller than the sample).
        rows = sampled[s["explained"]]
        units = admin1_id.ravel()[expl[rows]]
        if rows.any():
            per_admin = kernels.zonal_stats(s["contrib"][rows].T[:, None, :], units[None, :],
                                            n_admin, stat="weighted_mean",
                                            weights=pop_cells[s["explained"]][rows][None, :])
        else:
            per_admin = np.full((len(features), n_admin), np.nan)
        ai, av = _top_drivers(np.nan_to_num(per_admin.T, nan=-np.inf), N_DRIVERS)
        a_feat.append(ai)
        a_contrib.append(av)

    time = inputs["time"].values[month:month + 1]
    g4 = ("target", "time", "lat", "lon")
    prob = {"units": "1", "valid_min": 0.0, "valid_max": 1.0}
    horizon = attrs.get("horizon", "H")
    band = {"nominal_coverage": float(first_model.interval),
            "comment": "band for the cell's true risk, calibrated at observed inspection "
                       "coverage on the newest labelled months (dataset attrs "
                       "interval_spread_*); the extrapolation to the reference coverage "
                       "is not included (docs/models.md)"}
    explain = rule.attrs()
    ds = xr.Dataset(
        {
            "risk": (g4, np.stack(risk)[:, None], {
                **prob, "long_name": f"calibrated probability that at least one case is "
                                     f"identified in the next {horizon} months at standard "
                                     f"detection"}),
            "risk_lo": (g4, np.stack(lo)[:, None], {**prob, **band, "long_name": "lower bound "
                                                    "of the risk interval"}),
            "risk_hi": (g4, np.stack(hi)[:, None], {**prob, **band, "long_name": "upper bound "
                                                    "of the risk interval"}),
            "driver_feature": (("target", "time", "rank", "lat", "lon"),
                               np.stack(dfeat)[:, None],
                               {"long_name": "index into `feature` of the rank-th driver "
                                             f"raising risk (-1: none; {NOT_COMPUTED}: not "
                                             "computed by the driver rule)",
                                "flag_values": np.array([NOT_COMPUTED, -1], np.int16),
                                "flag_meanings": "not_computed no_driver", **explain}),
            "driver_contrib": (("target", "time", "rank", "lat", "lon"),
                               np.stack(dcontrib)[:, None],
                               {"units": "1", "long_name": "log-odds contribution of the "
                                                          "driver (LightGBM pred_contrib)",
                                **explain}),
            "domain_contrib": (("target", "time", "domain", "lat", "lon"),
                               np.stack(dom)[:, None].astype(np.float32),
                               {"units": "1", "long_name": "summed log-odds contribution of "
                                                          "the domain's features", **explain}),
            "admin1_driver_feature": (("target", "time", "rank", "admin1"),
                                      np.stack([a.T for a in a_feat])[:, None],
                                      {"long_name": "index into `feature` of the admin-1 "
                                                    "unit's rank-th driver (-1: none)",
                                                    **explain}),
            "admin1_driver_contrib": (("target", "time", "rank", "admin1"),
                                      np.stack([a.T for a in a_contrib])[:, None],
                                      {"units": "1", "long_name": "population-weighted mean "
                                                                  "log-odds contribution of the "
                                                                  "unit's sampled cells",
                                                     **explain}),
            "feature_domain": (("feature",), np.array([str(d) for d in domain_of], dtype=object),
                               {"long_name": "feature domain of each feature"}),
            "country_id": inputs["country_id"].variable,
            "admin1_id": inputs["admin1_id"].variable,
            "admin1_country": inputs["admin1_country"].variable,
            **_context(inputs, month),
        },
        coords={
            "target": ("target", np.array(targets, dtype=object),
                       {"long_name": "risk target (fl: forced labour, cl: child labour)"}),
            "time": ("time", time, inputs["time"].attrs),
            "lat": inputs["lat"], "lon": inputs["lon"],
            "rank": ("rank", np.arange(1, N_DRIVERS + 1, dtype=np.int8),
                     {"long_name": "driver rank (1: largest contribution)", "units": "1"}),
            "feature": ("feature", np.array(features, dtype=object),
                        {"long_name": "feature name (docs/features.md)"}),
            "domain": ("domain", np.array(DOMAINS, dtype=object),
                       {"long_name": "feature domain"}),
            "country": inputs["country"],
            "country_name": _named(inputs["country_name"], "country name"),
            "admin1": inputs["admin1"],
            "admin1_name": _named(inputs["admin1_name"], "admin-1 unit name"),
        },
        attrs={"title": "riskmodel risk scores", "Conventions": "CF-1.8",
               "history": _history(attrs), **attrs},
    )
    return ds


def _named(da: xr.DataArray, long_name: str) -> xr.DataArray:
    """`da` with a CF `long_name` unless it has one."""
    return da if "long_name" in da.attrs else da.assign_attrs(long_name=long_name)


def _history(attrs: dict[str, Any]) -> str:
    """CF `history` of a risk dataset: what made it, without a timestamp (a rerun gives the
    same bytes)."""
    models = ", ".join(f"{k.removeprefix('model_id_')} {v}" for k, v in attrs.items()
                       if k.startswith("model_id_"))
    made = f"{attrs.get('source', 'riskmodel')}: risk scored"
    if "as_of" in attrs:
        made += f" for {attrs['as_of']}"
    details = [f"config {attrs['config_hash']}"] if "config_hash" in attrs else []
    details += [f"models {models}"] if models else []
    return made + (f" ({'; '.join(details)})" if details else "")
