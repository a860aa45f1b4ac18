"""Figures of a simulation: per seed (curves and end-of-run figures) and across seeds
(median, the order-statistic interval of the median from `riskmodel.models.seeds`, the
share of seeds where a difference is positive).

Per arm: `cases_per_visit` = cumulative cases found / cumulative visits, `confirmed_share`
= cumulative confirmed visits / cumulative visits, both after the last month; per model
arm `concordance` = mean over the months of the C-index of its area ranking against the
areas' true prevalence. Paired differences per seed (common random numbers make them
sharp): `loop_gain_<policy>` (loop on minus off, cases per visit), `loop_concordance_gain_
<policy>`, `explore_minus_top_on` / `_off`, and `oracle_share_<arm>` = (arm - random) /
(oracle - random) in cases per visit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from riskmodel.models.seeds import MEDIAN_LEVEL, median_interval


def curves(run: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    """Per arm the monthly cumulative cases per visit, confirmed share and C-index."""
    out = {}
    for arm, s in run["series"].items():
        visits = np.cumsum(s["visits"])
        out[arm] = {"cases_per_visit": (np.cumsum(s["cases"]) / visits).tolist(),
                    "confirmed_share": (np.cumsum(s["confirmed"]) / visits).tolist(),
                    "concordance": [float(c) for c in s["concordance"]]}
    return out


def seed_figures(run: dict[str, Any], policies: tuple[str, ...]) -> dict[str, float]:
    """End-of-run figures and paired differences of one seed and target (module docstring)."""
    c = curves(run)
    f: dict[str, float] = {}
    for arm, cur in c.items():
        f[f"cases_per_visit_{arm}"] = cur["cases_per_visit"][-1]
        f[f"confirmed_share_{arm}"] = cur["confirmed_share"][-1]
        if arm not in ("random", "oracle"):
            f[f"concordance_{arm}"] = float(np.mean(cur["concordance"]))
    rnd, orc = f["cases_per_visit_random"], f["cases_per_visit_oracle"]
    for p in policies:
        f[f"loop_gain_{p}"] = f[f"cases_per_visit_{p}_on"] - f[f"cases_per_visit_{p}_off"]
        f[f"loop_concordance_gain_{p}"] = (f[f"concordance_{p}_on"]
                                           - f[f"concordance_{p}_off"])
        for loop in ("off", "on"):
            f[f"oracle_share_{p}_{loop}"] = ((f[f"cases_per_visit_{p}_{loop}"] - rnd)
                                             / (orc - rnd) if orc != rnd else math.nan)
    if {"top", "explore"} <= set(policies):
        for loop in ("off", "on"):
            f[f"explore_minus_top_{loop}"] = (f[f"cases_per_visit_explore_{loop}"]
                                              - f[f"cases_per_visit_top_{loop}"])
    return f


def summarise(per_seed: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """{figure: {median, median_lo, median_hi, median_level, share_positive, n}}."""
    out = {}
    for key in per_seed[0]:
        v = np.array([s[key] for s in per_seed], np.float64)
        v = v[np.isfinite(v)]
        lo, hi, cov = median_interval(v)
        out[key] = {"median": float(np.median(v)) if len(v) else math.nan,
                    "median_lo": lo, "median_hi": hi, "median_level": cov,
                    "share_positive": float(np.mean(v > 0)) if len(v) else math.nan,
                    "n": int(len(v))}
    return out


def summarise_curves(per_seed: list[dict[str, dict[str, list[float]]]]
                     ) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per arm and curve, per month: median and interval of the median across seeds."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for arm in per_seed[0]:
        out[arm] = {}
        for key in per_seed[0][arm]:
            m = np.array([s[arm][key] for s in per_seed], np.float64)   # (seeds, months)
            med, lo, hi = [], [], []
            for col in m.T:
                col = col[np.isfinite(col)]
                a, b, _ = median_interval(col)
                med.append(float(np.median(col)) if len(col) else math.nan)
                lo.append(a)
                hi.append(b)
            out[arm][key] = {"median": med, "median_lo": lo, "median_hi": hi}
    return out


INTERVAL_MEANING = ("order statistics bracketing the median over seeds with binomial "
                    f"coverage >= {MEDIAN_LEVEL} (median_level: the exact coverage)")
