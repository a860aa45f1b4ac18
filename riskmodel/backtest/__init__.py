"""Rolling-origin backtests against baselines, for researchers (see docs/backtest.md)."""

from riskmodel.backtest.config import BacktestConfig, load_backtest_config
from riskmodel.backtest.origins import LeakageError, check_training_window, plan_origins
from riskmodel.backtest.results import backtest_json
from riskmodel.backtest.runner import BacktestRun, run_backtest

__all__ = ["BacktestConfig", "BacktestRun", "LeakageError", "backtest_json",
           "check_training_window", "load_backtest_config", "plan_origins", "run_backtest"]
