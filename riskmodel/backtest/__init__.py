"""Rolling-origin backtests against baselines, for researchers (see docs/backtest.md)."""

from riskmodel.backtest.config import BacktestConfig, load_backtest_config
from riskmodel.backtest.origins import LeakageError, check_training_window, plan_origins
from riskmodel.backtest.results import backtest_json
from riskmodel.backtest.runner import BacktestRun, pool_worlds, run_backtest, run_backtest_worlds

__all__ = ["BacktestConfig", "BacktestRun", "LeakageError", "backtest_json", "pool_worlds",
           "run_backtest_worlds",
           "check_training_window", "load_backtest_config", "plan_origins", "run_backtest"]
