"""Prioritisation: which alerts a partner should act on first.

Planners cross need, enabling environment and existing programming together, so the
score of an area is a weighted sum of four parts, each in [0, 1]: the calibrated risk;
the exposed population (risk-weighted persons, children for CL) on a log scale that reaches
1 at `exposure_ref`; the coverage gap (1 when the country has no current ILO programme of
that focus, 0.5 when it has only another FPRW programme); and the enabling environment
(a technical-assistance request and the share of the target's conventions ratified).
Weights come from `[priority]` in the rules; the score is divided by their sum so it stays
in [0, 1] whatever the weights.
"""

from __future__ import annotations

import math

from riskmodel.alerts.areas import Area
from riskmodel.alerts.rules import PriorityWeights


def components(area: Area, w: PriorityWeights) -> dict[str, float]:
    """The four normalised parts of the score, for the record and for explanations."""
    risk = min(max(area.risk, 0.0), 1.0) if math.isfinite(area.risk) else 0.0
    exposure = min(math.log10(1.0 + max(area.exposed, 0.0)) / math.log10(1.0 + w.exposure_ref),
                   1.0)
    ctx = area.ctx
    if ctx.get("programme", 0.0) >= 1:
        gap = 0.0
    elif ctx.get("programme_fprw", 0.0) >= 1:
        gap = 0.5  # some FPRW support exists, but not focused on this target
    else:
        gap = 1.0
    enabling = 0.5 * min(ctx.get("ta_request", 0.0), 1.0) + 0.5 * ctx.get("ratified_share", 0.0)
    return {"risk": risk, "exposure": exposure, "gap": gap, "enabling": enabling}


def score(area: Area, w: PriorityWeights) -> float:
    """Priority in [0, 1]; higher first."""
    c = components(area, w)
    total = w.risk + w.exposure + w.gap + w.enabling
    if total <= 0:
        return c["risk"]
    s = (w.risk * c["risk"] + w.exposure * c["exposure"] + w.gap * c["gap"]
         + w.enabling * c["enabling"]) / total
    return round(s, 6)
