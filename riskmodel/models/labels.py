"""Labels: "at least one case identified in the area in (t, t+H]" for month t.

The label at t looks only at months after t; a month whose window runs past the end of the
record has no label (NaN), so it can never enter training.
"""

from __future__ import annotations

import numpy as np

import kernels


def future_label(identified: np.ndarray, horizon: int) -> np.ndarray:
    """Binary label (float32, NaN where unknown) of `identified` counts on (time, ...).

    label[t] = 1 if sum(identified[t+1 .. t+horizon]) > 0 else 0; NaN for the last
    `horizon` months and wherever a count in the window is missing.
    """
    counts = np.asarray(identified, dtype=np.float32)
    # The trailing window sum ending at t+H covers (t, t+H]; shift it back by H.
    window_sum = kernels.move_sum(counts, horizon, min_count=horizon)
    out = np.full(counts.shape, np.nan, dtype=np.float32)
    if counts.shape[0] > horizon:
        ahead = window_sum[horizon:]
        out[:-horizon] = np.where(np.isnan(ahead), np.nan, (ahead > 0).astype(np.float32))
    return out


def label_window_end(month_index: np.ndarray, horizon: int) -> np.ndarray:
    """Index of the last month a label at `month_index` looks at (t + H)."""
    return np.asarray(month_index) + horizon
