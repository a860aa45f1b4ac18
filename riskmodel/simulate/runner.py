"""A simulation over many seeds: one world per seed, every target of the config, the
per-seed figures and their summary (`riskmodel.simulate.summary`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from riskmodel import __version__
from riskmodel.config import RunConfig
from riskmodel.simulate.loop import Simulation, prepare
from riskmodel.simulate.settings import SimulateSettings
from riskmodel.simulate.summary import (
    INTERVAL_MEANING,
    curves,
    seed_figures,
    summarise,
    summarise_curves,
)


def policies_of(settings: SimulateSettings) -> tuple[str, ...]:
    """The model arms' policies: one, or both."""
    return ("top", "explore") if settings.policy == "both" else (settings.policy,)


def simulate_seeds(cfg: RunConfig, settings: SimulateSettings, seeds: Sequence[int],
                   note: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run the closed loop on the world of every seed; returns settings, per-seed figures
    and curves, and per target the summary across seeds."""
    policies = policies_of(settings)
    per_seed: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for i, seed in enumerate(seeds):
        note(f"simulate seed {seed} ({i + 1}/{len(seeds)})")
        sw = prepare(cfg, int(seed), settings.months)
        row: dict[str, Any] = {"seed": int(seed)}
        for target in cfg.targets:
            run = Simulation(sw, target, settings, policies, note).run(settings.months)
            row[target] = {"figures": seed_figures(run, policies), "curves": curves(run),
                           "fits": run["fits"], "outcomes_seen": run["outcomes_seen"],
                           "areas": run["areas"], "first_visit_month":
                           str(sw.world["time"].values[run["first_visit_month"]])[:7]}
        per_seed.append(row)
    summary = {t: {"figures": summarise([r[t]["figures"] for r in per_seed]),
                   "curves": summarise_curves([r[t]["curves"] for r in per_seed])}
               for t in cfg.targets}
    return {"scenario": cfg.world.scenario, "config_name": cfg.name,
            "seeds": [int(s) for s in seeds], "targets": list(cfg.targets),
            "policies": list(policies), "settings": settings.model_dump(mode="json"),
            "model": cfg.model.model_dump(mode="json", exclude={"registry"}),
            "world": cfg.world.model_dump(mode="json"),
            "per_seed": per_seed, "summary": summary,
            "interval_meaning": INTERVAL_MEANING, "code_version": __version__,
            "seconds": round(time.perf_counter() - t0, 1)}
