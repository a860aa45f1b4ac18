"""Origins: expanding windows, no training label past its origin, one-line config errors."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodel.backtest import LeakageError, check_training_window, load_backtest_config
from riskmodel.backtest.config import BacktestSettings
from riskmodel.backtest.origins import plan_origins
from riskmodel.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
MONTHS = [str(m)[:7] for m in pd.date_range("2010-01-01", periods=180, freq="MS")]


def _settings(**kw: object) -> BacktestSettings:
    base = {"first_origin": "2021-05", "origins": 3, "step_months": 12}
    return BacktestSettings(**{**base, **kw})


def test_expanding_windows_end_by_each_origin() -> None:
    origins = plan_origins(_settings(), MONTHS, 3, 12, source="x.toml")
    assert [o.label for o in origins] == ["2021-05", "2022-05", "2023-05"]
    for prev, o in pairwise(origins):
        assert o.train_months[0] == prev.train_months[0]          # expanding, same start
        assert len(o.train_months) == len(prev.train_months) + 12
    for o in origins:
        assert o.train_months.max() + 3 == o.index                 # last window ends at o
        assert o.test_months[0] == o.index and len(o.test_months) == 12


def test_leak_is_refused() -> None:
    check_training_window(np.arange(100, 137), 3, 140, "2021-09")
    with pytest.raises(LeakageError, match="past the origin"):
        check_training_window(np.arange(100, 139), 3, 140, "2021-09")


@pytest.mark.parametrize("kw, key", [
    ({"first_origin": "1999-01"}, "backtest.first_origin: 1999-01 is not a month"),
    ({"first_origin": "2013-01"}, "backtest.first_origin: 2013-01 leaves"),
    ({"origins": 20}, "backtest.origins: 20 origins"),
])
def test_bad_origins_name_the_key(kw: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        plan_origins(_settings(**kw), MONTHS, 3, 12, source="x.toml")


def test_config_errors_are_one_line_with_the_key(tmp_path: Path) -> None:
    text = (ROOT / "configs" / "backtest-tiny.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("budget = 10", "budget = 10\nbudgett = 3"))
    with pytest.raises(ConfigError, match=r"bad.toml: backtest.budgett: unknown key"):
        load_backtest_config(bad)
    bad.write_text(text.replace('first_origin = "2021-05"', 'first_origin = "May 2021"'))
    with pytest.raises(ConfigError, match=r"backtest.first_origin"):
        load_backtest_config(bad)


def test_shipped_configs_load() -> None:
    for name in ("backtest-tiny.toml", "backtest.toml"):
        cfg = load_backtest_config(ROOT / "configs" / name)
        assert cfg.backtest.origins >= 1
    assert load_backtest_config(ROOT / "configs" / "backtest.toml").backtest.origins == 12
