"""Backtest configuration: a run config plus a `[backtest]` section (origins, budget, alerts,
bootstrap), validated with the project's one-line config errors.

A backtest config is a `RunConfig` (same `[world]` and `[model]` keys, so the models it
retrains are exactly those `riskmodel run` would train) with one more section. Origins are
month labels of the world's time axis; `validate_origins` checks them against the world
length once it is known, naming the key at fault.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from riskmodel.config import RunConfig, Strict, load_toml_model


class BacktestSettings(Strict):
    """Rolling-origin evaluation settings (see docs/backtest.md)."""

    first_origin: str = Field(..., pattern=r"^\d{4}-\d{2}$",
                              description="YYYY-MM of the first origin (data known up to it)")
    origins: int = Field(12, ge=1, le=240, description="number of origins")
    step_months: int = Field(6, ge=1, le=120,
                             description="months between origins; each origin's model scores "
                                         "the months up to the next origin")
    budget: int = Field(100, ge=1, description="top-k areas (cells) a partner can visit a month")
    alert_threshold: float = Field(0.3, gt=0, lt=1,
                                   description="calibrated probability at which an area alerts")
    bootstrap: int = Field(200, ge=10, le=10000,
                           description="replicates of the cluster bootstrap over admin-1 areas")
    bootstrap_seed: int = Field(1, ge=0)
    reliability_bins: int = Field(10, ge=2, le=100)
    importance_rows: int = Field(2000, ge=100, le=200000,
                                 description="test rows per origin explained with pred_contrib")
    logistic_c: float = Field(1.0, gt=0, description="inverse L2 strength of the logistic "
                                                     "baseline (scikit-learn `C`)")


class BacktestConfig(RunConfig):
    """A run config with the `[backtest]` section."""

    backtest: BacktestSettings


def load_backtest_config(path: Path | str) -> BacktestConfig:
    """Load and validate a backtest config; a bad key raises `ConfigError` naming it."""
    return load_toml_model(path, BacktestConfig)
