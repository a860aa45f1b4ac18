"""Labels: "at least one case identified in the area in (t, t+H]" for month t.

The label at t looks only at months after t; a month whose window runs past the end of the
record has no label (NaN), so it can never enter training. `future_sum` gives the same
window's total (identified cases for the interval's calibration, or true rates for the
evaluation's oracle).
"""

from __future__ import annotations

import numpy as np

import kernels


def future_sum(values: np.ndarray, horizon: int) -> np.ndarray:
    """Sum of `values` on (time, ...) over the window (t, t+H] of each month t.

    Returns float64 (counts stay exact), NaN for the last `horizon` months and wherever a
    value in the window is missing.
    """
    a = np.asarray(values, dtype=np.float64)
    # The trailing window sum ending at t+H covers (t, t+H]; shift it back by H.
    window_sum = kernels.move_sum(a, horizon, min_count=horizon)
    out = np.full(a.shape, np.nan, dtype=np.float64)
    if a.shape[0] > horizon:
        out[:-horizon] = window_sum[horizon:]
    return out


def future_label(identified: np.ndarray, horizon: int) -> np.ndarray:
    """Binary label (float32, NaN where unknown) of `identified` counts on (time, ...).

    label[t] = 1 if sum(identified[t+1 .. t+horizon]) > 0 else 0; NaN for the last
    `horizon` months and wherever a count in the window is missing.
    """
    ahead = future_sum(identified, horizon)
    return np.where(np.isnan(ahead), np.nan, (ahead > 0)).astype(np.float32)


def label_window_end(month_index: np.ndarray, horizon: int) -> np.ndarray:
    """Index of the last month a label at `month_index` looks at (t + H)."""
    return np.asarray(month_index) + horizon
