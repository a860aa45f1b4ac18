"""The documented true risk of the synthetic world, its incidence and what gets identified.

For each target the latent index eta (per cell-month) is a non-linear function of the
drivers with interactions and lags (coefficients below, in `TRUE_RISK`):

FL: poverty; migrant and displaced shares; a drought (precipitation deficit over the last
    1-6 months) hitting export-crop areas; poverty x commodity-price slump; TIP watch list;
    no P029 ratification x low inspection coverage; minus an active FL programme (after a
    year); a smooth local effect.
CL: poverty; child share and young-child (5-11) share; harvest season x crop share;
    drought x crop share; commodity-price slump x crop share; crisis (conflict) areas;
    displacement; no C138 ratification; minus an active CL programme; a local effect.

Prevalence = sigmoid(eta + offset). Expected true new cases per month
lambda = scale * exposed^0.6 * prevalence, exposed = population (FL) or children (CL);
`scale` is set so that the share of cell-months with at least one identified case in the
next 3 months is about 8% (FL) and 14% (CL). True incidence ~ Poisson(lambda).
Identified cases ~ Binomial(incidence, detection), detection = sigmoid(-2.5 + 4.5 * coverage)
where coverage is the admin-1 inspection coverage: under-reporting falls where inspectors go.
The truth (`true_rate_*`, `true_prevalence_*`, `incidence_*`, `detection_prob`) is stored for
evaluation only and never offered as a feature.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kernels import broadcast_regions, move_mean
from riskmodel.world.fields import field_sigmas, moments, rng_for, smooth_field, standardise
from riskmodel.world.scenarios import (
    WELL_SPECIFIED,
    Scenario,
    hidden_detection_factor,
    ramp,
    threshold_interactions,
)

TRUE_RISK = {
    "fl": {"offset": -4.0, "poverty": 0.9, "migrant": 0.5, "displaced": 0.5,
           "drought_x_crop": 1.6, "poverty_x_slump": 0.6, "tip": 0.5,
           "no_p029_x_low_coverage": 0.6, "programme": -0.5, "local": 0.4},
    "cl": {"offset": -2.2, "poverty": 0.8, "child_share": 0.5, "young_share": 0.3,
           "harvest_x_crop": 1.2, "drought_x_crop": 1.0, "slump_x_crop": 1.0, "crisis": 0.6,
           "displaced": 0.3, "no_c138": 0.4, "programme": -0.5, "local": 0.4},
}
LABEL_RATE = {"fl": 0.08, "cl": 0.14}
CALIBRATION_HORIZON = 3
HARVEST_MONTHS = (8, 9, 10)  # September to November, 0-based


def detection_probability(coverage: np.ndarray,
                          hidden: np.ndarray | None = None) -> np.ndarray:
    """Probability that a true case is identified, from inspection coverage in [0, 1] and,
    in the `hidden-detection` scenario, an unobserved shift `hidden` of its logit."""
    if hidden is None:
        return 1.0 / (1.0 + np.exp(-(-2.5 + 4.5 * coverage)))
    return 1.0 / (1.0 + np.exp(-(-2.5 + 4.5 * coverage + hidden)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _solve_scale(base: np.ndarray, detect: np.ndarray, target_rate: float,
                 land: np.ndarray) -> float:
    """Scale s such that mean over land cell-months of P(identified in 3 months) = target.

    g(u) = mean(1 - exp(-e^u r)) - target is increasing in u = log s; Newton steps in u,
    kept inside a shrinking bracket (bisection when a step would leave it), converge in a
    handful of passes over the data instead of the ~60 of plain bisection.
    """
    rate = (base * detect)[:, land]
    rate3 = (rate[:-CALIBRATION_HORIZON] * CALIBRATION_HORIZON).ravel()
    lo, hi = -30.0, 30.0
    u = float(np.log(target_rate / max(float(rate3.mean()), 1e-300)))  # small-rate guess
    u = min(max(u, lo), hi)
    for _ in range(60):
        e = np.exp(-np.exp(u) * rate3)
        g = float(np.mean(1.0 - e)) - target_rate
        if g < 0:
            lo = u
        else:
            hi = u
        slope = float(np.exp(u) * np.mean(rate3 * e))
        step = -g / slope if slope > 0 else np.inf
        nxt = u + step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - u) < 1e-9 or hi - lo < 1e-9:
            u = nxt
            break
        u = nxt
    return float(np.exp(u))


def truth_norms(land: np.ndarray, country_id: np.ndarray,
                drivers: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """(mean, sd) of the drivers the true risk takes standardised: poverty painted on the
    grid, migrant and displaced shares over land cell-months, child shares over land."""
    poverty = broadcast_regions(drivers["poverty_rate"].astype(np.float64), country_id)
    return {"poverty": moments(poverty),
            "migrant": moments(drivers["migrant_share"].astype(np.float64)),
            "displaced": moments(drivers["displaced_share"].astype(np.float64)),
            "child": moments(drivers["child_share"].astype(np.float64)[land]),
            "young": moments(drivers["young_child_share"].astype(np.float64)[land])}


def latent_risk(land: np.ndarray, country_id: np.ndarray, admin1_id: np.ndarray,
                drivers: dict[str, np.ndarray], norms: dict[str, tuple[float, float]],
                local: dict[str, np.ndarray], *, scenario: Scenario = WELL_SPECIFIED,
                hidden: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The latent index eta per target (time, y, x), detection probability and exposure.

    `drivers` as in `make_truth` on the cells of `land` (y, x); `norms` from `truth_norms`
    (of the whole world, so a tile is standardised like the grid); `local` the standardised
    local-effect fields per target (y, x); `scenario` and its unobserved (y, x) fields
    `hidden` ("detection", "driver"; `scenario_fields`) change the truth as
    `riskmodel.world.scenarios` documents. Returns `eta_fl`, `eta_cl`, `detect` (0 at
    sea), `pop` (persons) and `kids` (children 5-17), float64.
    """
    hidden = hidden or {}
    nt = drivers["precipitation"].shape[0]
    moy = np.arange(nt) % 12

    def grid(table: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return broadcast_regions(table.astype(np.float64), labels)

    poverty = np.nan_to_num(standardise(grid(drivers["poverty_rate"], country_id),
                                        norms["poverty"]))
    coverage = grid(drivers["inspection_coverage"], admin1_id)
    shift = (scenario.hidden_detection * hidden["detection"][None]
             if scenario.hidden_detection else None)
    detect = np.where(land[None], detection_probability(np.nan_to_num(coverage), shift), 0.0)
    crop = np.nan_to_num(drivers["crop_share"]).astype(np.float64)[None]
    deficit = np.maximum(-drivers["_precip_anomaly"].astype(np.float64), 0.0)
    # Drought effect: mean deficit over the previous 1-6 months (a lag: no same-month effect).
    drought = np.zeros_like(deficit)
    drought[1:] = np.nan_to_num(move_mean(deficit, 6, min_count=1))[:-1]
    price = drivers["commodity_price"].astype(np.float64)
    slump = np.zeros(nt)
    slump[12:] = np.maximum(0.0, -np.log(price[12:] / price[:-12]))  # year-on-year fall
    slump = (slump / (slump.std() + 1e-12))[:, None, None]
    migrant = np.nan_to_num(standardise(drivers["migrant_share"].astype(np.float64),
                                        norms["migrant"]))
    displaced = np.nan_to_num(standardise(drivers["displaced_share"].astype(np.float64),
                                          norms["displaced"]))
    crisis = grid(drivers["crisis"], admin1_id)
    tip = grid(drivers["tip_watchlist"], country_id)
    # Programmes act after a year in place (12-month lag).
    prog = {}
    for t in ("fl", "cl"):
        p = drivers[f"programme_{t}"].astype(np.float64)
        lagged = np.zeros_like(p)
        lagged[12:] = p[:-12]
        prog[t] = grid(lagged, country_id)
    no_p029 = 1.0 - grid(drivers["ratified_P029"], country_id)
    no_c138 = 1.0 - grid(drivers["ratified_C138"], country_id)
    child = np.nan_to_num(standardise(drivers["child_share"].astype(np.float64),
                                      norms["child"]))[None]
    young = np.nan_to_num(standardise(drivers["young_child_share"].astype(np.float64),
                                      norms["young"]))[None]
    harvest = np.isin(moy, HARVEST_MONTHS).astype(np.float64)[:, None, None]
    pop = np.nan_to_num(drivers["population"].astype(np.float64))
    kids = pop * np.nan_to_num(drivers["child_share"].astype(np.float64))

    # Each term exactly as the documented sum writes it, added in this order from the
    # offset: the well-specified world is the same floating-point sum as its formula.
    c = TRUE_RISK["fl"]
    low_coverage = np.nan_to_num(coverage) < 0.3
    terms = {"fl": {
        "poverty": lambda: c["poverty"] * poverty, "migrant": lambda: c["migrant"] * migrant,
        "displaced": lambda: c["displaced"] * displaced,
        "drought_x_crop": lambda: c["drought_x_crop"] * drought * crop,
        "poverty_x_slump": lambda: c["poverty_x_slump"] * np.maximum(poverty, 0) * slump,
        "tip": lambda: c["tip"] * tip,
        "no_p029_x_low_coverage": lambda: c["no_p029_x_low_coverage"] * no_p029 * low_coverage,
        "programme": lambda: c["programme"] * prog["fl"],
        "local": lambda: c["local"] * local["fl"][None]}}
    k = TRUE_RISK["cl"]
    terms["cl"] = {
        "poverty": lambda: k["poverty"] * poverty, "child_share": lambda: k["child_share"] * child,
        "young_share": lambda: k["young_share"] * young,
        "harvest_x_crop": lambda: k["harvest_x_crop"] * harvest * crop,
        "drought_x_crop": lambda: k["drought_x_crop"] * drought * crop,
        "slump_x_crop": lambda: k["slump_x_crop"] * slump * crop,
        "crisis": lambda: k["crisis"] * crisis, "displaced": lambda: k["displaced"] * displaced,
        "no_c138": lambda: k["no_c138"] * no_c138, "programme": lambda: k["programme"] * prog["cl"],
        "local": lambda: k["local"] * local["cl"][None]}
    eta = {}
    for t, parts in terms.items():
        total: np.ndarray | float = TRUE_RISK[t]["offset"]
        for name, term in parts.items():
            if (t, name) in scenario.irrelevant:
                continue
            value = term()
            if (t, name) in scenario.drift:
                value = value * ramp(nt, scenario.drift[(t, name)])
            total = total + value
        if scenario.hidden_driver:
            total = total + scenario.hidden_driver * hidden["driver"][None]
        if scenario.nonlinear:
            total = total + scenario.nonlinear * threshold_interactions(
                t, poverty, migrant, crisis, displaced, child, land)
        eta[t] = total
    eta_fl, eta_cl = eta["fl"], eta["cl"]
    return {"eta_fl": eta_fl, "eta_cl": eta_cl, "detect": detect, "pop": pop, "kids": kids}


def expected_cases(land: np.ndarray, eta: np.ndarray,
                   exposed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True prevalence (0 at sea) and the unscaled expected cases exposed^0.6 x prevalence,
    both (time, y, x) float64; the label-rate `scale` multiplies the second."""
    prevalence = np.where(land[None], _sigmoid(eta), 0.0)
    return prevalence, (exposed ** 0.6)[None] * prevalence


def draw_cases(rng: np.random.Generator, lam: np.ndarray,
               detect: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True incidence ~ Poisson(lam) and identified ~ Binomial(incidence, detect), int32."""
    incidence = rng.poisson(lam)
    identified = rng.binomial(incidence, detect)
    return incidence.astype(np.int32), identified.astype(np.int32)


def truth_arrays(land: np.ndarray, detect: np.ndarray, prevalence: dict[str, np.ndarray],
                 lam: dict[str, np.ndarray], cases: dict[str, tuple[np.ndarray, np.ndarray]]
                 ) -> dict[str, np.ndarray]:
    """The stored truth and label variables per target, float32 (NaN at sea) and int32."""
    out: dict[str, np.ndarray] = {"detection_prob": np.where(land[None], detect, np.nan)}
    for t in ("fl", "cl"):
        out[f"true_prevalence_{t}"] = np.where(land[None], prevalence[t], np.nan)
        out[f"true_rate_{t}"] = np.where(land[None], lam[t], np.nan)
        out[f"incidence_{t}"], out[f"identified_{t}"] = cases[t]
    return {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in out.items()}


def scenario_fields(scenario: Scenario, seed: int, local: dict[str, np.ndarray],
                    sigma: float) -> dict[str, np.ndarray]:
    """The unobserved (y, x) fields `scenario` needs ("detection", "driver"), from their
    own seeded stream, so the well-specified world's draws are untouched."""
    if not (scenario.hidden_detection or scenario.hidden_driver):
        return {}
    rng = rng_for(seed, "scenario")
    shape = local["fl"].shape
    return {"detection": hidden_detection_factor(rng, local["fl"] + local["cl"],
                                                 scenario.hidden_detection_corr,
                                                 smooth_field(rng, shape, sigma)),
            "driver": smooth_field(rng, shape, sigma)}


def make_truth(land: np.ndarray, country_id: np.ndarray, admin1_id: np.ndarray,
               drivers: dict[str, np.ndarray], seed: int, *,
               scenario: Scenario = WELL_SPECIFIED) -> dict[str, np.ndarray]:
    """True prevalence, expected and realised incidence, detection and identified cases.

    `drivers` holds the world's driver arrays (see `riskmodel.world.generate`), as the
    truth reads them (before `scenarios.observe`). Returns float32 arrays on (time, y, x)
    (`true_*`, `detection_prob`) and int32 counts (`incidence_*`, `identified_*`), NaN / 0
    at sea.
    """
    rng = rng_for(seed, "truth")
    shape = land.shape
    sigma = field_sigmas(*shape)
    local = {t: smooth_field(rng, shape, sigma[f"local_{t}"]) for t in ("fl", "cl")}
    latent = latent_risk(land, country_id, admin1_id, drivers,
                         truth_norms(land, country_id, drivers), local, scenario=scenario,
                         hidden=scenario_fields(scenario, seed, local, sigma["local_fl"]))
    detect = latent["detect"]
    prevalence, lam, cases = {}, {}, {}
    for t, exposed in (("fl", latent["pop"]), ("cl", latent["kids"])):
        prevalence[t], base = expected_cases(land, latent[f"eta_{t}"], exposed)
        lam[t] = _solve_scale(base, detect, LABEL_RATE[t], land) * base
        cases[t] = draw_cases(rng, lam[t], detect)
    return truth_arrays(land, detect, prevalence, lam, cases)


def draw_surveys(rng: np.random.Generator, admin1_country: np.ndarray, n_months: int,
                 mean_prevalence: Callable[[int, int], float]) -> np.ndarray:
    """Sparse admin-1 child-labour survey prevalence (fraction of children), (time, admin1).

    Each country runs a survey every 4-6 years in a random month; the value is
    `mean_prevalence(t, a)`, the child-weighted mean true prevalence of admin-1 unit `a` in
    month `t`, with binomial sampling noise (about 400 children per unit). NaN where no
    survey took place.
    """
    out = np.full((n_months, len(admin1_country)), np.nan, dtype=np.float32)
    for c in np.unique(admin1_country):
        t = int(rng.integers(0, 48))
        units = np.flatnonzero(admin1_country == c)
        while t < n_months:
            for a in units:
                p = mean_prevalence(t, int(a))
                out[t, a] = rng.binomial(400, min(max(p, 0.0), 1.0)) / 400.0
            t += int(rng.integers(48, 73))
    return out


def make_surveys(admin1_country: np.ndarray, prevalence_cl: np.ndarray, children: np.ndarray,
                 admin1_id: np.ndarray, seed: int) -> np.ndarray:
    """`draw_surveys` of the whole world: `prevalence_cl` (time, y, x), `children` (y, x)
    persons 5-17 (NaN at sea) and the `admin1_id` raster give the unit means."""
    w = np.nan_to_num(children)

    def mean_prevalence(t: int, a: int) -> float:
        m = admin1_id == a
        return float((prevalence_cl[t][m] * w[m]).sum() / max(w[m].sum(), 1e-9))

    return draw_surveys(rng_for(seed, "survey"), admin1_country, prevalence_cl.shape[0],
                        mean_prevalence)
