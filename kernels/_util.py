"""Shared plumbing: turn N-D arrays into the (time, cells) layout the kernels loop over.

Kernels walk time in the outer loop and a block of cells in the inner loop (rows stream once):
a C-contiguous (time, y, x) array is viewed as (time, y*x) without a copy, each thread takes a
contiguous block of cells, and its per-cell state (running sums, counts) stays in cache.
"""

from __future__ import annotations

import math

import numpy as np

#: Cells per parallel work item. Small enough that per-block state plus the last `window`
#: rows of the block stay in L1/L2, large enough to amortise the loop overhead.
BLOCK = 256

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float(a: object) -> np.ndarray:
    """Return `a` as a float32 or float64 ndarray (other dtypes become float64)."""
    arr = np.asarray(a)
    if arr.dtype not in FLOAT_DTYPES:
        arr = arr.astype(np.float64)
    return arr


def to_time_cells(a: object, name: str = "a") -> tuple[np.ndarray, tuple[int, ...]]:
    """View `a` (time, ...) as a C-contiguous 2-D (time, cells) float array.

    Returns the 2-D array and the original shape, for `from_time_cells`.
    """
    arr = as_float(a)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a time axis (ndim >= 1), got a scalar")
    shape = arr.shape
    ncells = math.prod(shape[1:])
    arr2 = np.ascontiguousarray(arr.reshape(shape[0], ncells))
    if not arr2.dtype.isnative:
        arr2 = arr2.astype(arr2.dtype.newbyteorder("="))
    return arr2, shape


def from_time_cells(out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reshape a (time, cells) result back to the caller's shape."""
    return out.reshape(shape)


def check_window(window: int, min_count: int | None, *, lo: int = 1) -> tuple[int, int]:
    """Validate a window length and min_count (default: the window length)."""
    if isinstance(window, bool) or int(window) != window or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    window = int(window)
    if min_count is None:
        min_count = window
    if isinstance(min_count, bool) or int(min_count) != min_count or not lo <= min_count <= window:
        raise ValueError(
            f"min_count must be an integer in [{lo}, window={window}], got {min_count!r}"
        )
    return window, int(min_count)


def to_grid_stack(a: object, name: str = "a") -> tuple[np.ndarray, tuple[int, ...]]:
    """View `a` (y, x) or (time, y, x) as a C-contiguous 3-D (stack, y, x) float array."""
    arr = as_float(a)
    if arr.ndim not in (2, 3):
        raise ValueError(f"{name} must be 2-D (y, x) or 3-D (time, y, x), got shape {arr.shape}")
    shape = arr.shape
    arr3 = np.ascontiguousarray(arr.reshape((math.prod(shape[:-2]),) + shape[-2:]))
    if not arr3.dtype.isnative:
        arr3 = arr3.astype(arr3.dtype.newbyteorder("="))
    return arr3, shape
