"""Settings of the closed-loop simulation: the `[simulate]` table of a simulation config.

A simulation config is a run config (world, model) plus a `[simulate]` table; the table
is taken out before the rest is validated as a `RunConfig`, so a run config without it is
a simulation config with the defaults below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from riskmodel.config import RunConfig, Strict, format_validation_error, read_toml
from riskmodel.errors import ConfigError

POLICIES = ("top", "explore")


class SimulateSettings(Strict):
    """How partners visit, what a visit finds, and how the loop feeds the models back."""

    months: int = Field(24, ge=1, le=120, description="simulated months")
    budget: int = Field(4, ge=1, le=1000, description="areas visited per month and target")
    policy: Literal["top", "explore", "both"] = Field(
        "both", description="visit policy of the model arms (both: one arm each)")
    explore_share: float = Field(0.25, gt=0, lt=1, description="explore: share of the "
                                 "budget spent on the areas the model is least sure of")
    retrain_every: int = Field(3, ge=0, le=120, description="months between retrainings "
                               "(0: the first model is kept)")
    offsets_monthly: bool = Field(False, description="loop on: refit the area offsets every "
                                  "month from the outcomes so far (the trees still retrain "
                                  "every `retrain_every` months)")
    outcome_rows: bool = Field(True, description="loop on: outcomes enter training rows")
    outcome_offsets: bool = Field(True, description="loop on: per-area log-odds offsets "
                                  "from outcomes")
    outcome_weight: float = Field(1.0, gt=0, le=1000, description="weight of each visited "
                                  "cell's outcome row")
    prior_sd: float = Field(1.0, gt=0, le=10, description="prior sd of an area offset "
                            "(log-odds)")
    sites_per_visit: int = Field(10, ge=1, le=1000, description="workplaces a visit checks; "
                                 "each holds a case with the area's true prevalence")


def load_simulation(path: Path | str) -> tuple[RunConfig, SimulateSettings]:
    """The run config and simulation settings of a TOML file (one-line errors)."""
    raw = read_toml(path)
    table = raw.pop("simulate", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: simulate: expected a table")
    try:
        settings = SimulateSettings.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc).replace(
            f"{path}: ", f"{path}: simulate.", 1)) from None
    try:
        cfg = RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None
    if cfg.sources is not None:
        raise ConfigError(f"{path}: the simulation runs on synthetic worlds; this config "
                          f"reads real data ([sources])")
    return cfg, settings
