"""Scenario worlds: the same synthetic world with its truth made harder to learn in one
stated way, so evidence from `riskmodel evaluate` and `riskmodel backtest` can be checked
on worlds that were not written alongside the features.

`well-specified` is the world as documented in `riskmodel.world.truth`: every driver of
the true risk is observed without error and detection depends on observed inspection
coverage only. The others change one thing each:

- `hidden-detection`: part of the detection logit is an unobserved smooth factor,
  negatively correlated (-0.6) with the local risk effects: cases are harder to find
  where risk is high for reasons the data do not show, so correcting for observed
  coverage alone cannot undo all of the under-reporting.
- `proxies`: an unobserved driver (a smooth field) enters both targets' log-odds; poverty
  is published a year late (the stored series lags the truth by 12 months); migrant and
  displaced shares are seen with multiplicative log-normal noise (sd 0.5 in logs); the
  TIP watch list (FL) and C138 ratification (CL) stay observed but no longer matter.
- `drift`: driver effects change during the record (linear ramps from the first to the
  last month): FL poverty x0.25 and migrant share x3; CL harvest x crop x0.25 and crisis
  x2.5. A model trained on the past meets different effects in the test months.
- `nonlinear`: threshold interactions a logistic cannot express (poverty and migrant share
  both above their means; crisis with displacement above 0.5 sd; for CL the exclusive-or
  of poverty and child share above their means) with weight 1.0 on their standardised
  sum, in both targets.

How much of the true log-odds variance the observable features can explain is measured
by `benchmarks/scenarios.py` and stated in each preset under `configs/scenarios/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Scenario:
    """One way of departing from the well-specified world (module docstring)."""

    name: str
    # detection logit += hidden_detection * U, U standard normal field with correlation
    # hidden_detection_corr to the standardised sum of the local risk fields
    hidden_detection: float = 0.0
    hidden_detection_corr: float = 0.0
    # log-odds += hidden_driver * H, H an unobserved standardised smooth field
    hidden_driver: float = 0.0
    # stored driver -> sd of the multiplicative log-normal noise of what is observed
    proxy_noise: dict[str, float] = field(default_factory=dict)
    # stored (time, country) driver -> months by which what is observed lags the truth
    proxy_lag: dict[str, int] = field(default_factory=dict)
    # (target, TRUE_RISK term) pairs whose effect is removed: observed but irrelevant
    irrelevant: tuple[tuple[str, str], ...] = ()
    # (target, TRUE_RISK term) -> factor on the effect at the last month (1 at the first)
    drift: dict[tuple[str, str], float] = field(default_factory=dict)
    # log-odds += nonlinear * standardised sum of threshold interactions
    nonlinear: float = 0.0

    @property
    def changes_observations(self) -> bool:
        """Whether the stored drivers differ from the ones the truth reads."""
        return bool(self.proxy_noise or self.proxy_lag)


SCENARIOS: dict[str, Scenario] = {
    "well-specified": Scenario("well-specified"),
    "hidden-detection": Scenario("hidden-detection", hidden_detection=1.0,
                                 hidden_detection_corr=-0.6),
    "proxies": Scenario("proxies", hidden_driver=0.6,
                        proxy_noise={"migrant_share": 0.5, "displaced_share": 0.5},
                        proxy_lag={"poverty_rate": 12},
                        irrelevant=(("fl", "tip"), ("cl", "no_c138"))),
    "drift": Scenario("drift", drift={("fl", "poverty"): 0.25, ("fl", "migrant"): 3.0,
                                      ("cl", "harvest_x_crop"): 0.25, ("cl", "crisis"): 2.5}),
    "nonlinear": Scenario("nonlinear", nonlinear=1.0),
}
WELL_SPECIFIED = SCENARIOS["well-specified"]


def ramp(n_time: int, end: float) -> np.ndarray:
    """(time, 1, 1) factor going linearly from 1 at the first month to `end` at the last."""
    return np.linspace(1.0, end, n_time)[:, None, None]


def hidden_detection_factor(rng: np.random.Generator, local_sum: np.ndarray,
                            corr: float, smooth: np.ndarray) -> np.ndarray:
    """(y, x) standard normal field with correlation `corr` to standardised `local_sum`;
    `smooth` is an independent standardised smooth field of the same shape."""
    z = (local_sum - local_sum.mean()) / (local_sum.std() + 1e-12)
    u = corr * z + np.sqrt(1.0 - corr * corr) * smooth
    return (u - u.mean()) / (u.std() + 1e-12)


def threshold_interactions(target: str, poverty: np.ndarray, migrant: np.ndarray,
                           crisis: np.ndarray, displaced: np.ndarray,
                           child: np.ndarray, land: np.ndarray) -> np.ndarray:
    """(time, y, x) standardised (over land cell-months) sum of the `nonlinear` scenario's
    threshold interactions of standardised drivers (module docstring)."""
    nl = ((poverty > 0) & (migrant > 0)).astype(np.float64)
    nl = nl + (crisis > 0) * (displaced > 0.5)
    if target == "cl":
        nl = nl + np.logical_xor(poverty > 0, child > 0)
    vals = np.broadcast_to(nl, np.broadcast_shapes(nl.shape, (1, *land.shape)))
    on_land = vals[:, land]
    return (vals - on_land.mean()) / (on_land.std() + 1e-12)


def observe(drivers: dict[str, np.ndarray], scenario: Scenario,
            rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The drivers as the data show them under `scenario`: lagged and noisy copies of the
    ones the truth reads (others unchanged, same dtype). NaN stays NaN."""
    out = dict(drivers)
    for name, months in scenario.proxy_lag.items():
        a = drivers[name]
        lagged = np.empty_like(a)
        lagged[months:] = a[:-months]
        lagged[:months] = a[:1]
        out[name] = lagged
    for name, sd in scenario.proxy_noise.items():
        a = drivers[name]
        noise = np.exp(rng.normal(0.0, sd, a.shape) - 0.5 * sd * sd)  # mean-one noise
        out[name] = np.clip(a * noise, 0.0, 1.0).astype(a.dtype)
    return out
