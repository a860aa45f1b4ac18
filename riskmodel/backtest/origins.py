"""Rolling origins with expanding windows, and the check that no training label looks past
its origin.

An origin o is a month index: everything observed up to and including month o is known.
Its model trains on every labelled month t from the feature warm-up on with t + H <= o (the
label window (t, t+H] ends by the origin: an expanding window), and scores the test months
o, o+1, ..., o+step-1, whose label windows lie after the origin. `check_training_window`
refuses any training month whose window reaches past the origin; the runner calls it on
the months of every table it trains on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.backtest.config import BacktestSettings
from riskmodel.errors import ConfigError, RiskmodelError
from riskmodel.models.fitting import training_months


class LeakageError(RiskmodelError):
    """A training label window reaches past the origin: the backtest would see the future."""


@dataclass(frozen=True)
class Origin:
    """One origin: its month index and label, training months and test months."""

    index: int
    label: str
    train_months: np.ndarray
    test_months: np.ndarray


def min_training_months(horizon: int, calibration_months: int) -> int:
    """Labelled months `RiskModel` needs for its fit / early-stopping / calibration folds
    (mirrors `riskmodel.models.folds.time_folds` with its default early-stopping length)."""
    es = max(3, calibration_months // 2)
    return calibration_months + es + 2 * horizon + 12


def plan_origins(settings: BacktestSettings, month_labels: list[str], horizon: int,
                 calibration_months: int, *, source: str) -> list[Origin]:
    """The origins of `settings` on a world whose months are `month_labels` (YYYY-MM).

    Raises `ConfigError` naming `source` and the `backtest.*` key when the first origin is
    not a month of the world, leaves too few labelled months to train, or when the last
    origin's test labels would run past the end of the record.
    """
    n = len(month_labels)
    if settings.first_origin not in month_labels:
        raise ConfigError(f"{source}: backtest.first_origin: {settings.first_origin} is not a "
                          f"month of the world ({month_labels[0]} to {month_labels[-1]})")
    first = month_labels.index(settings.first_origin)
    need = min_training_months(horizon, calibration_months)
    have = len(training_months(n, horizon, last=first))
    if have < need:
        raise ConfigError(f"{source}: backtest.first_origin: {settings.first_origin} leaves "
                          f"{have} labelled training months after the feature warm-up; the "
                          f"model needs at least {need} (choose a later origin)")
    last_test = first + settings.origins * settings.step_months - 1
    if last_test + horizon > n - 1:
        raise ConfigError(f"{source}: backtest.origins: {settings.origins} origins every "
                          f"{settings.step_months} months from {settings.first_origin} need "
                          f"labels up to month {last_test + horizon + 1} but the world has "
                          f"{n} months (fewer origins, a shorter step or an earlier start)")
    out = []
    for k in range(settings.origins):
        o = first + k * settings.step_months
        train = training_months(n, horizon, last=o)
        test = np.arange(o, o + settings.step_months)
        check_training_window(train, horizon, o, month_labels[o])
        out.append(Origin(o, month_labels[o], train, test))
    return out


def check_training_window(months: np.ndarray, horizon: int, origin: int, label: str) -> None:
    """Raise `LeakageError` if any month's label window (t, t+H] ends after `origin`."""
    months = np.asarray(months)
    if len(months) and int(months.max()) + horizon > origin:
        bad = int(months.max())
        raise LeakageError(f"origin {label}: training month {bad} has a label window reaching "
                           f"month {bad + horizon}, past the origin (month {origin}); refusing "
                           f"to run a backtest that sees the future")
