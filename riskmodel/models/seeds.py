"""Evaluation over many synthetic worlds: one world per seed, summaries across seeds, and
the protocol that keeps the seeds used to choose apart from the seeds used to report.

Choices (model settings, feature sets, variants) are made on `SELECTION_SEEDS` only;
reported figures come from `report_seeds(n)`, which never overlap them. A world is a pure
function of (config, seed), so the suite is reproducible from its config and seed list.

Per target and metric the summary gives the median over seeds, the 10th and 90th
percentiles, and a distribution-free interval for the median: the pair of order
statistics (k-th smallest, k-th largest) with the smallest width whose binomial coverage
is at least `MEDIAN_LEVEL` (its exact coverage is reported beside it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import features
from riskmodel.config import RunConfig
from riskmodel.errors import ConfigError
from riskmodel.models.evaluate import evaluate
from riskmodel.world import make_world

SELECTION_SEEDS: tuple[int, ...] = tuple(range(9001, 9011))
MEDIAN_LEVEL = 0.9

# What each per-seed figure is; the derived ones are computed from evaluate's output.
DERIVED = {
    "auc_ratio": "auc / oracle_auc",
    "auc_ratio_chance_corrected": "(auc - 0.5) / (oracle_auc - 0.5)",
    "precision_ratio": "precision_at_budget / oracle_precision_at_budget",
    "auc_truth_without_coverage": "true-incidence AUC of the model trained without the "
                                  "inspection-coverage feature",
    "sd_minus_naive": "auc_truth_standard_detection - auc_truth_naive",
    "sd_minus_without_coverage": "auc_truth_standard_detection - "
                                 "auc_truth_without_coverage",
}


def report_seeds(n: int) -> tuple[int, ...]:
    """The first `n` report seeds (1, 2, ...): never among `SELECTION_SEEDS`."""
    if not 1 <= n <= 1000:
        raise ConfigError(f"--seeds {n}: expected 1 to 1000 report seeds")
    return tuple(range(1, n + 1))


def seed_figures(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per target: evaluate's metrics plus the `DERIVED` figures of one world."""
    out: dict[str, dict[str, float]] = {}
    for target, m in result["metrics"].items():
        d = result["details"][target]
        row = dict(m)
        row["auc_ratio"] = m["auc"] / m["oracle_auc"]
        row["auc_ratio_chance_corrected"] = (m["auc"] - 0.5) / (m["oracle_auc"] - 0.5)
        row["precision_ratio"] = m["precision_at_budget"] / m["oracle_precision_at_budget"]
        row["auc_truth_without_coverage"] = d["auc_truth_without_coverage"]
        row["sd_minus_naive"] = m["auc_truth_standard_detection"] - m["auc_truth_naive"]
        row["sd_minus_without_coverage"] = (m["auc_truth_standard_detection"]
                                            - d["auc_truth_without_coverage"])
        out[target] = {k: float(v) for k, v in row.items()}
    return out


def median_interval(values: Sequence[float],
                    level: float = MEDIAN_LEVEL) -> tuple[float, float, float]:
    """(lo, hi, coverage): order statistics x(k) and x(n+1-k) bracketing the median with
    binomial coverage >= `level`, k as large as allowed (the narrowest such pair); with too
    few values for `level`, the range and its coverage."""
    x = np.sort(np.asarray(values, np.float64))
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan

    def coverage(k: int) -> float:   # P(x(k) <= median <= x(n+1-k)), Bin(n, 1/2)
        return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) / 2.0 ** n

    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(k + 1) >= level:
        k += 1
    return float(x[k - 1]), float(x[n - k]), coverage(k)


def summarise(per_seed: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """{target: {figure: {median, p10, p90, median_lo, median_hi, median_level, n}}}."""
    out: dict[str, dict[str, Any]] = {}
    for target in per_seed[0]:
        out[target] = {}
        for key in per_seed[0][target]:
            v = np.array([s[target][key] for s in per_seed], np.float64)
            v = v[np.isfinite(v)]
            lo, hi, cov = median_interval(v)
            out[target][key] = {
                "median": float(np.median(v)) if len(v) else math.nan,
                "p10": float(np.quantile(v, 0.1)) if len(v) else math.nan,
                "p90": float(np.quantile(v, 0.9)) if len(v) else math.nan,
                "median_lo": lo, "median_hi": hi, "median_level": cov, "n": int(len(v))}
        wins = [s[target]["sd_minus_naive"] > 0 for s in per_seed]
        out[target]["share_sd_beats_naive"] = float(np.mean(wins))
        wins = [s[target]["sd_minus_without_coverage"] > 0 for s in per_seed]
        out[target]["share_sd_beats_without_coverage"] = float(np.mean(wins))
    return out


def evaluate_seeds(cfg: RunConfig, seeds: Sequence[int],
                   note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Regenerate the world of `cfg` for every seed, evaluate it, and summarise.

    Returns {"seeds", "scenario", "per_seed": [{"seed", target: {...}}], "summary",
    "derived_meaning"}. Worlds only: a config with `[sources]` (real data) is refused.
    """
    if cfg.sources is not None:
        raise ConfigError("--seeds regenerates the synthetic world per seed; this config "
                          "reads real data ([sources]): evaluate it without --seeds")
    per_seed, rows = [], []
    for i, seed in enumerate(seeds):
        note(f"evaluate seed {seed} ({i + 1}/{len(seeds)})")
        run = cfg.model_copy(update={"seed": int(seed)})
        world = make_world(run.world, run.seed)
        cube = features.build_cube(world)
        figures = seed_figures(evaluate(run, world, cube, note=note))
        per_seed.append(figures)
        rows.append({"seed": int(seed), **figures})
    return {"seeds": [int(s) for s in seeds], "scenario": cfg.world.scenario,
            "per_seed": rows, "summary": summarise(per_seed),
            "derived_meaning": DERIVED,
            "median_interval_meaning": (
                "order statistics bracketing the median over seeds with binomial coverage "
                f">= {MEDIAN_LEVEL} (median_level: the exact coverage)")}
