"""The many-worlds backtest judges the model the nightly run deploys, on the scenario
presets' world."""

from __future__ import annotations

from pathlib import Path

from riskmodel.backtest import load_backtest_config
from riskmodel.backtest.results import deployed_differences
from riskmodel.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def test_scenario_backtest_uses_the_deployed_model_settings() -> None:
    cfg = load_backtest_config(ROOT / "configs" / "backtest-scenarios.toml")
    demo = load_config(ROOT / "configs" / "demo.toml")
    assert deployed_differences(cfg.model, demo.model, "configs/demo.toml")["same"]
    preset = load_config(ROOT / "configs" / "scenarios" / "well-specified.toml")
    assert cfg.world.model_dump() == preset.world.model_dump()


def test_demo_backtest_says_it_judges_other_settings() -> None:
    cfg = load_backtest_config(ROOT / "configs" / "backtest.toml")
    demo = load_config(ROOT / "configs" / "demo.toml")
    diff = deployed_differences(cfg.model, demo.model, "configs/demo.toml")
    assert not diff["same"]
    assert diff["differences"]["linear_base"] == {"backtest": True, "deployed": False}
    assert "threads" not in diff["differences"]   # does not change what is learned


def test_scenario_backtest_origins_fit_the_world() -> None:
    from riskmodel.backtest import plan_origins
    from riskmodel.contract import month_starts

    cfg = load_backtest_config(ROOT / "configs" / "backtest-scenarios.toml")
    months = [str(m)[:7] for m in month_starts(cfg.world.start_year, cfg.world.n_months)]
    origins = plan_origins(cfg.backtest, months, cfg.model.horizon,
                           cfg.model.calibration_months, source="backtest-scenarios.toml")
    assert [o.label for o in origins] == ["2019-01", "2020-01", "2021-01", "2022-01"]
