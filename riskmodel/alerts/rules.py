"""Alert rules (`configs/alerts.toml`): when an area enters, stays in and leaves alert.

Partners need a short list that is stable night to night, so an area does not alert the
moment it crosses a line. Three triggers (any enabled one suffices): the calibrated
probability above a threshold, a high percentile within its country, or a rise against the
previous months. On the real world's regions (`[area] kind = "region"`) the risk is the
relative risk score (a percentile among the regions scored that year, not a probability),
runs are years and "months" count years. Persistence asks the trigger to hold in k of the
last n runs before an alert opens; hysteresis keeps an open alert while the area stays
above lower "leave" levels, and resolves it only after `resolve_after` runs below them.
Escalation is a rise of the area's risk since the last message by `escalate_delta` (or a
higher severity band).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from riskmodel.alerts.areas import Area
from riskmodel.config import Strict, load_toml_model


class ThresholdRule(Strict):
    """Enter at `enter`, stay while at or above `leave` (hysteresis: leave < enter)."""

    enabled: bool = True
    enter: float = Field(0.5, ge=0, le=1)
    leave: float = Field(0.4, ge=0, le=1)

    @model_validator(mode="after")
    def _order(self) -> ThresholdRule:
        if self.leave > self.enter:
            raise ValueError(f"leave ({self.leave}) must be <= enter ({self.enter})")
        return self


class PercentileRule(Strict):
    """Enter at the `enter_q` quantile of the country's areas, stay above `leave_q`."""

    enabled: bool = False
    enter_q: float = Field(0.9, gt=0, lt=1)
    leave_q: float = Field(0.8, gt=0, lt=1)
    min_risk: float = Field(0.2, ge=0, le=1, description="no percentile alert below this")
    min_areas: int = Field(5, ge=2, description="countries with fewer areas are skipped")

    @model_validator(mode="after")
    def _order(self) -> PercentileRule:
        if self.leave_q > self.enter_q:
            raise ValueError(f"leave_q ({self.leave_q}) must be <= enter_q ({self.enter_q})")
        return self


class RiseRule(Strict):
    """Enter when risk rose by `enter_delta` over the mean of the previous `months` periods
    (months on a grid; years for region scores)."""

    enabled: bool = False
    months: int = Field(3, ge=1, le=24)
    enter_delta: float = Field(0.15, gt=0, le=1)
    leave_delta: float = Field(0.05, ge=0, le=1)
    min_risk: float = Field(0.2, ge=0, le=1)


class PersistenceRule(Strict):
    """Open an alert only if the trigger held in `k` of the last `n` runs (this one included)."""

    k: int = Field(1, ge=1)
    n: int = Field(1, ge=1, le=36)

    @model_validator(mode="after")
    def _order(self) -> PersistenceRule:
        if self.k > self.n:
            raise ValueError(f"k ({self.k}) must be <= n ({self.n})")
        return self


class AreaSpec(Strict):
    """Which areas alerts are about and how cell risks combine into one value."""

    kind: Literal["admin1", "cluster", "region"] = Field(
        "admin1", description="admin1/cluster: grid areas; region: the real world's GDL regions")
    aggregate: Literal["pop_mean", "mean", "max"] = "pop_mean"
    min_cells: int = Field(3, ge=1, description="smallest cluster (cells)")


class PriorityWeights(Strict):
    """rank = weighted sum of normalised risk, exposure, coverage gap, enabling environment."""

    risk: float = Field(0.5, ge=0)
    exposure: float = Field(0.2, ge=0)
    gap: float = Field(0.2, ge=0)
    enabling: float = Field(0.1, ge=0)
    exposure_ref: float = Field(1e6, gt=1, description="persons at which exposure scores 1")


class CapSpec(Strict):
    """Fixed CAP 1.2 header fields for this sender."""

    sender: str = Field("riskmodel@ilo.invalid", pattern=r"^[^\s,<&]+$")
    # Modelled risk of real places is an exercise until the operator says otherwise; the
    # synthetic world is always Exercise (publishing refuses Actual for it).
    status: Literal["Exercise", "Actual"] = Field(
        "Exercise", description="CAP status of messages about real places")
    sender_name: str = "riskmodel (ILO SDG 8.7 predictive risk model)"
    language: str = Field("en", pattern=r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")  # xs:language
    web: str | None = None
    contact: str | None = None


class RulesConfig(Strict):
    """The whole `configs/alerts.toml`."""

    targets: tuple[Literal["fl", "cl"], ...] = ("fl", "cl")
    area: AreaSpec = AreaSpec()
    threshold: ThresholdRule = ThresholdRule()
    percentile: PercentileRule = PercentileRule()
    rise: RiseRule = RiseRule()
    persistence: PersistenceRule = PersistenceRule()
    resolve_after: int = Field(1, ge=1, le=36, description="runs below leave levels to resolve")
    escalate_delta: float = Field(0.1, gt=0, le=1)
    budget: int = Field(10, ge=0, description="new+open alerts per partner (partners may override)")
    priority: PriorityWeights = PriorityWeights()
    cap: CapSpec = CapSpec()

    def hold_floor(self) -> float:
        """The lowest risk (probability) at which an enabled rule can hold an area in alert
        (threshold `leave`, percentile and rise `min_risk`); the threshold's `enter` when
        none is enabled. Scoring explains every cell at or above it (the driver rule)."""
        levels = [r for on, r in ((self.threshold.enabled, self.threshold.leave),
                                  (self.percentile.enabled, self.percentile.min_risk),
                                  (self.rise.enabled, self.rise.min_risk)) if on]
        return float(min(levels)) if levels else float(self.threshold.enter)


def load_rules(path: Path | str | None) -> RulesConfig:
    """Rules from `path` (the run config's `[alerts] rules`); the defaults without a file."""
    return load_toml_model(path, RulesConfig) if path is not None else RulesConfig()


@dataclass
class Verdict:
    """What the rules say about one area this run."""

    triggered: bool  # some trigger's enter condition holds now
    holding: bool  # some trigger's leave condition still holds (stay open)
    reasons: tuple[str, ...]
    baseline: float | None = None  # mean of previous months (rise rule), for the record


def evaluate(areas: list[Area], rules: RulesConfig,
             previous: dict[str, list[tuple[str, float]]]) -> dict[str, Verdict]:
    """Apply the triggers to every area; `previous[key]` is [(as_of, risk)] before this run.

    Percentiles are taken over the admin-1 areas of the same country (clusters are compared
    with their country's cells' areas in the same list).
    """
    by_country: dict[str, list[float]] = {}
    for a in areas:
        by_country.setdefault(a.country, []).append(a.risk)
    qs: dict[str, tuple[float, float]] = {}
    pr = rules.percentile
    for c, vals in by_country.items():
        v = np.asarray([x for x in vals if np.isfinite(x)])
        # Percentiles rank a country's admin-1 areas or regions; clusters are already
        # threshold-defined.
        if pr.enabled and v.size >= pr.min_areas and areas[0].kind in ("admin1", "region"):
            qs[c] = (float(np.quantile(v, pr.enter_q)), float(np.quantile(v, pr.leave_q)))
    out: dict[str, Verdict] = {}
    th, ri = rules.threshold, rules.rise
    for a in areas:
        r = a.risk
        trig: list[str] = []
        hold = False
        if not np.isfinite(r):
            out[a.key] = Verdict(False, False, ())
            continue
        if th.enabled:
            # A cluster is defined by its cells crossing the threshold (its core), so the
            # rule reads its peak; its mean falls as it grows and would make it flicker.
            rt = a.risk_max if a.kind == "cluster" else r
            if rt >= th.enter:
                trig.append(f"{'peak ' if a.kind == 'cluster' else ''}risk {rt:.2f} >= "
                            f"{th.enter:.2f}")
            hold = hold or rt >= th.leave
        if pr.enabled and a.country in qs:
            q_in, q_out = qs[a.country]
            if r >= q_in and r >= pr.min_risk:
                trig.append(f"risk {r:.2f} in the top {100 * (1 - pr.enter_q):.0f}% "
                            f"of {a.country}")
            hold = hold or (r >= q_out and r >= pr.min_risk)
        base = None
        if ri.enabled:
            prev = [v for _, v in sorted(previous.get(a.key, []))[-ri.months:] if np.isfinite(v)]
            if prev:
                base = float(np.mean(prev))
                if r - base >= ri.enter_delta and r >= ri.min_risk:
                    unit = "year(s)" if a.kind == "region" else "month(s)"
                    trig.append(f"risk rose {r - base:+.2f} over {len(prev)} {unit}")
                hold = hold or (r - base >= ri.leave_delta and r >= ri.min_risk)
        out[a.key] = Verdict(bool(trig), hold or bool(trig), tuple(trig), base)
    return out


SEVERITY_BANDS = ((0.8, "Severe"), (0.6, "Moderate"), (0.0, "Minor"))
# Region risk is a percentile: the top 5% of regions are Severe, the next 10% Moderate.
PERCENTILE_BANDS = ((0.95, "Severe"), (0.85, "Moderate"), (0.0, "Minor"))


def severity(risk: float, kind: str = "admin1") -> str:
    """CAP severity band of an area's risk: a calibrated probability for grid areas, the
    relative risk score (percentile) for `kind` "region" (escalation compares bands too)."""
    for lo, name in (PERCENTILE_BANDS if kind == "region" else SEVERITY_BANDS):
        if risk >= lo:
            return name
    return "Minor"
