"""Time-ordered folds with gaps: fit | gap | early stopping | gap | calibration.

Each gap is H months (the label horizon), so the label window (t, t+H] of every row of an
earlier fold ends before the first month of the next fold: no fold learns from months a
later fold is judged on.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TimeFolds:
    """Month indices (into the cube's time axis) of each fold."""

    fit: np.ndarray
    early_stopping: np.ndarray
    calibration: np.ndarray
    horizon: int

    def as_dict(self) -> dict[str, list[int]]:
        """First and last month of each fold (for model metadata)."""
        return {name: [int(m[0]), int(m[-1])] if len(m) else []
                for name, m in (("fit", self.fit), ("early_stopping", self.early_stopping),
                                ("calibration", self.calibration))}

    @classmethod
    def from_dict(cls, d: dict[str, list[int]], horizon: int) -> TimeFolds:
        """Inverse of `as_dict` for folds of consecutive months (as `time_folds` makes
        from consecutive training months)."""
        def months(name: str) -> np.ndarray:
            span = d[name]
            return np.arange(span[0], span[1] + 1) if span else np.empty(0, np.int64)
        return cls(fit=months("fit"), early_stopping=months("early_stopping"),
                   calibration=months("calibration"), horizon=horizon)


def time_folds(months: np.ndarray, horizon: int, calibration_months: int,
               early_stopping_months: int | None = None) -> TimeFolds:
    """Split sorted unique `months` into fit / early-stopping / calibration folds with gaps.

    The calibration fold is the last `calibration_months` months; early stopping the
    `early_stopping_months` (default: half as many) before it; fit everything earlier;
    `horizon` months are dropped before each later fold.
    """
    m = np.unique(np.asarray(months, dtype=np.int64))
    es_n = early_stopping_months or max(3, calibration_months // 2)
    need = calibration_months + es_n + 2 * horizon + 12
    if len(m) < need:
        raise ValueError(f"time folds need at least {need} months of labelled data, "
                         f"got {len(m)}")
    cal = m[-calibration_months:]
    rest = m[m < cal[0] - horizon]
    es = rest[-es_n:]
    fit = rest[rest < es[0] - horizon]
    return TimeFolds(fit=fit, early_stopping=es, calibration=cal, horizon=horizon)


def check_no_overlap(folds: TimeFolds) -> None:
    """Raise `AssertionError` if a label window of a fold reaches into a later fold."""
    order = [folds.fit, folds.early_stopping, folds.calibration]
    for earlier, later in itertools.pairwise(order):
        if len(earlier) and len(later) and earlier.max() + folds.horizon >= later.min():
            raise AssertionError(f"label window of month {earlier.max()} (+{folds.horizon}) "
                                 f"overlaps a later fold starting at {later.min()}")
