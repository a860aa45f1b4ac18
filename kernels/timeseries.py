"""Time-axis kernels: moving-window statistics, EWM, lag, trend, anomalies, event decay.

Every public function takes an array whose axis 0 is time and whose trailing axes (none, n,
or y, x) are independent cells; it returns an array of the same shape. float32 in gives
float32 out, float64 in gives float64 out, any other dtype is converted to float64 first;
sums are always accumulated in float64. NaN marks a missing value. Windows are trailing: the
value at time t uses a[t-window+1 .. t] and never the future.

Implementation: one private `@njit(parallel=True)` loop per kernel on a C-contiguous
(time, cells) view; `prange` over blocks of `BLOCK` cells; inside a block time is the outer
loop and the cells of the block the inner one, so each row is streamed once and per-cell state
stays in cache. The slow, obvious twins live in `kernels.reference`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._util import BLOCK, check_window, from_time_cells, to_time_cells

__all__ = [
    "move_sum",
    "move_mean",
    "move_std",
    "move_min",
    "move_max",
    "ewm_mean",
    "lag",
    "trend",
    "standardized_anomaly",
    "event_decay",
]


# --------------------------------------------------------------------------- moving sum/mean
@njit(cache=True, parallel=True)
def _move_sum_mean(a, window, min_count, mean):  # pragma: no cover - compiled
    T, n = a.shape
    out = np.empty((T, n), a.dtype)
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        s = np.zeros(m, np.float64)
        c = np.zeros(m, np.int64)
        for t in range(T):
            for jj in range(m):
                v = a[t, j0 + jj]
                if v == v:
                    s[jj] += v
                    c[jj] += 1
            if t >= window:
                for jj in range(m):
                    u = a[t - window, j0 + jj]
                    if u == u:
                        s[jj] -= u
                        c[jj] -= 1
            for jj in range(m):
                k = c[jj]
                if k == 0:
                    s[jj] = 0.0  # drop accumulated rounding when the window empties
                if k >= min_count:
                    out[t, j0 + jj] = s[jj] / k if mean else s[jj]
                else:
                    out[t, j0 + jj] = np.nan
    return out


def move_sum(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing moving sum along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape and dtype
    (float32 or float64; other dtypes become float64). out[t] is the sum of the valid values
    in a[t-window+1 .. t] (same units as `a`), NaN where that window holds fewer than
    `min_count` valid values (default `window`, allowed 1..window). Accumulates in float64.
    """
    window, min_count = check_window(window, min_count)
    a2, shape = to_time_cells(a)
    return from_time_cells(_move_sum_mean(a2, window, min_count, False), shape)


def move_mean(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing moving mean along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape and dtype
    (float32 or float64; other dtypes become float64). out[t] is the mean of the valid values
    in a[t-window+1 .. t] (same units as `a`), NaN where that window holds fewer than
    `min_count` valid values (default `window`, allowed 1..window). Accumulates in float64.
    """
    window, min_count = check_window(window, min_count)
    a2, shape = to_time_cells(a)
    return from_time_cells(_move_sum_mean(a2, window, min_count, True), shape)


# --------------------------------------------------------------------------- moving std
@njit(cache=True, parallel=True)
def _move_std(a, window, min_count, ddof):  # pragma: no cover - compiled
    # Welford's running mean / sum of squared deviations with removal: no sum-of-squares
    # cancellation, state bounded by the window.
    T, n = a.shape
    out = np.empty((T, n), a.dtype)
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        mu = np.zeros(m, np.float64)
        m2 = np.zeros(m, np.float64)
        c = np.zeros(m, np.int64)
        for t in range(T):
            for jj in range(m):
                v = a[t, j0 + jj]
                if v == v:
                    c[jj] += 1
                    d = v - mu[jj]
                    mu[jj] += d / c[jj]
                    m2[jj] += d * (v - mu[jj])
            if t >= window:
                for jj in range(m):
                    u = a[t - window, j0 + jj]
                    if u == u:
                        c[jj] -= 1
                        if c[jj] == 0:
                            mu[jj] = 0.0
                            m2[jj] = 0.0
                        else:
                            d = u - mu[jj]
                            mu[jj] -= d / c[jj]
                            m2[jj] -= d * (u - mu[jj])
                            if m2[jj] < 0.0:
                                m2[jj] = 0.0
            for jj in range(m):
                k = c[jj]
                if k >= min_count and k - ddof > 0:
                    out[t, j0 + jj] = np.sqrt(m2[jj] / (k - ddof))
                else:
                    out[t, j0 + jj] = np.nan
    return out


def move_std(
    a: np.ndarray, window: int, *, min_count: int | None = None, ddof: int = 0
) -> np.ndarray:
    """Trailing moving standard deviation along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape and dtype
    (float32 or float64; other dtypes become float64), in the units of `a`. out[t] is the
    standard deviation with `ddof` delta degrees of freedom of the valid values in
    a[t-window+1 .. t]; NaN where fewer than `min_count` (default `window`) are valid or where
    count - ddof <= 0. Running Welford update in float64.
    """
    window, min_count = check_window(window, min_count)
    if int(ddof) != ddof or ddof < 0:
        raise ValueError(f"ddof must be an integer >= 0, got {ddof!r}")
    a2, shape = to_time_cells(a)
    return from_time_cells(_move_std(a2, window, min_count, int(ddof)), shape)


# --------------------------------------------------------------------------- moving min/max
_XBLOCK = 128  # smaller block: the kernel keeps a (time, block) suffix buffer in cache
@njit(cache=True, parallel=True)
def _move_extreme(a, window, min_count, is_max):  # pragma: no cover - compiled
    # van Herk / Gil-Werman: split time into blocks of `window` rows; a trailing window is the
    # union of the suffix of one block and the prefix of the next, so each output costs one
    # comparison whatever the window. NaN never wins a comparison, so it is skipped.
    T, n = a.shape
    out = np.empty((T, n), a.dtype)
    sign = 1.0 if is_max else -1.0
    nblocks = (n + _XBLOCK - 1) // _XBLOCK
    for b in prange(nblocks):
        j0 = b * _XBLOCK
        m = min(n, j0 + _XBLOCK) - j0
        suffix = np.empty((T, m), a.dtype)  # signed max of a[t .. end of t's time block]
        c = np.zeros(m, np.int64)
        prefix = np.empty(m, a.dtype)
        tb = 0
        while tb < T:
            te = min(T, tb + window)
            for jj in range(m):
                prefix[jj] = -np.inf
            for t in range(te - 1, tb - 1, -1):
                for jj in range(m):
                    v = sign * a[t, j0 + jj]
                    if v > prefix[jj]:
                        prefix[jj] = v
                    suffix[t, jj] = prefix[jj]
            tb = te
        for t in range(T):
            start = t - window + 1
            if t % window == 0:
                for jj in range(m):
                    prefix[jj] = -np.inf
            for jj in range(m):
                v = sign * a[t, j0 + jj]
                if v == v:
                    c[jj] += 1
                    if v > prefix[jj]:
                        prefix[jj] = v
            if start > 0:
                for jj in range(m):
                    u = a[start - 1, j0 + jj]
                    if u == u:
                        c[jj] -= 1
            for jj in range(m):
                best = prefix[jj]
                if start > 0 and start % window != 0:
                    s = suffix[start, jj]
                    if s > best:
                        best = s
                if c[jj] >= min_count:
                    out[t, j0 + jj] = sign * best
                else:
                    out[t, j0 + jj] = np.nan
    return out


def move_min(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing moving minimum along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape, dtype (float32
    or float64; other dtypes become float64) and units. out[t] is the minimum of the valid
    values in a[t-window+1 .. t], NaN where fewer than `min_count` (default `window`) are
    valid. Cost per element does not depend on the window (van Herk / Gil-Werman).
    """
    window, min_count = check_window(window, min_count)
    a2, shape = to_time_cells(a)
    return from_time_cells(_move_extreme(a2, window, min_count, False), shape)


def move_max(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing moving maximum along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape, dtype (float32
    or float64; other dtypes become float64) and units. out[t] is the maximum of the valid
    values in a[t-window+1 .. t], NaN where fewer than `min_count` (default `window`) are
    valid. Cost per element does not depend on the window (van Herk / Gil-Werman).
    """
    window, min_count = check_window(window, min_count)
    a2, shape = to_time_cells(a)
    return from_time_cells(_move_extreme(a2, window, min_count, True), shape)


# --------------------------------------------------------------------------- EWM
@njit(cache=True, parallel=True)
def _ewm_mean(a, alpha, min_count):  # pragma: no cover - compiled
    T, n = a.shape
    out = np.empty((T, n), a.dtype)
    decay = 1.0 - alpha
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        num = np.zeros(m, np.float64)
        den = np.zeros(m, np.float64)
        c = np.zeros(m, np.int64)
        for t in range(T):
            for jj in range(m):
                v = a[t, j0 + jj]
                if v == v:
                    num[jj] = num[jj] * decay + v
                    den[jj] = den[jj] * decay + 1.0
                    c[jj] += 1
                if c[jj] >= min_count:
                    out[t, j0 + jj] = num[jj] / den[jj]
                else:
                    out[t, j0 + jj] = np.nan
    return out


def ewm_mean(a: np.ndarray, alpha: float, *, min_count: int = 1) -> np.ndarray:
    """Exponentially weighted moving mean along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); same shape, dtype (float32/float64) and units
    out. Semantics of pandas `ewm(alpha=alpha, adjust=True, ignore_na=True).mean()`: out[t] is
    sum_i (1-alpha)**i x_i / sum_i (1-alpha)**i over the valid values x_0 (newest) .. up to t,
    where i counts valid observations back from the newest (NaNs are dropped, not aged). At a
    NaN time step the previous value is carried forward. NaN until `min_count` valid values
    have been seen. `alpha` in (0, 1]; a span of s months is alpha = 2 / (s + 1).
    """
    if not 0.0 < float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    if int(min_count) != min_count or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    a2, shape = to_time_cells(a)
    return from_time_cells(_ewm_mean(a2, float(alpha), int(min_count)), shape)


# --------------------------------------------------------------------------- lag
def lag(a: np.ndarray, k: int) -> np.ndarray:
    """Shift along axis 0 (time) by `k` steps into the future: out[t] = a[t-k].

    `a` is (time,), (time, n) or (time, y, x); same shape, dtype (float32/float64; other dtypes
    become float64) and units out; out[t] is NaN for t < k. `k` >= 0 (k = 0 is a copy).
    This is a pure memory copy, so it is a NumPy slice assignment rather than a Numba loop:
    it already runs at the memory floor.
    """
    if isinstance(k, bool) or int(k) != k or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
    k = int(k)
    a2, shape = to_time_cells(a)
    out = np.empty_like(a2)
    k_eff = min(k, a2.shape[0])
    out[:k_eff] = np.nan
    out[k_eff:] = a2[: a2.shape[0] - k_eff]
    return from_time_cells(out, shape)


# --------------------------------------------------------------------------- trend
@njit(cache=True, parallel=True)
def _trend(a, window, min_count):  # pragma: no cover - compiled
    # Least squares over the valid points of the window with x = s - t in [-(window-1), 0]:
    # sums are re-centred every step (x -> x - 1) so they stay bounded by the window.
    T, n = a.shape
    out = np.empty((T, n), a.dtype)
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        c = np.zeros(m, np.float64)
        sx = np.zeros(m, np.float64)
        sxx = np.zeros(m, np.float64)
        sy = np.zeros(m, np.float64)
        sxy = np.zeros(m, np.float64)
        for t in range(T):
            for jj in range(m):
                # shift every x by -1
                sxy[jj] -= sy[jj]
                sxx[jj] += c[jj] - 2.0 * sx[jj]
                sx[jj] -= c[jj]
                v = a[t, j0 + jj]
                if v == v:  # new point at x = 0
                    c[jj] += 1.0
                    sy[jj] += v
            if t >= window:
                w = float(window)
                for jj in range(m):
                    u = a[t - window, j0 + jj]
                    if u == u:  # leaving point at x = -window
                        c[jj] -= 1.0
                        sy[jj] -= u
                        sx[jj] += w
                        sxx[jj] -= w * w
                        sxy[jj] += w * u
                        if c[jj] == 0.0:
                            sx[jj] = 0.0
                            sxx[jj] = 0.0
                            sy[jj] = 0.0
                            sxy[jj] = 0.0
            for jj in range(m):
                k = c[jj]
                den = k * sxx[jj] - sx[jj] * sx[jj]
                if k >= min_count and k >= 2.0 and den > 0.0:
                    out[t, j0 + jj] = (k * sxy[jj] - sx[jj] * sy[jj]) / den
                else:
                    out[t, j0 + jj] = np.nan
    return out


def trend(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing least-squares linear slope along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); same shape and dtype (float32/float64; other
    dtypes become float64) out. out[t] is the ordinary least-squares slope of the valid values
    of a[t-window+1 .. t] against their time index, in units of `a` per time step (per month
    for monthly data); NaN where fewer than `min_count` (default `window`, at least 2) points
    are valid. Running sums in float64, re-centred on t at every step.
    """
    if isinstance(window, bool) or int(window) != window or window < 2:
        raise ValueError(f"trend needs an integer window >= 2, got {window!r}")
    window, min_count = check_window(window, min_count, lo=2)
    a2, shape = to_time_cells(a)
    return from_time_cells(_trend(a2, window, min_count), shape)


# --------------------------------------------------------------------------- anomalies
@njit(cache=True, parallel=True)
def _standardized_anomaly(a, b0, b1, bstep, period, phase, min_count):  # pragma: no cover
    T, n = a.shape
    out = np.empty((T, n), a.dtype)
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        mu = np.zeros((period, m), np.float64)
        ss = np.zeros((period, m), np.float64)
        c = np.zeros((period, m), np.int64)
        for t in range(b0, b1, bstep):
            p = (t + phase) % period
            for jj in range(m):
                v = a[t, j0 + jj]
                if v == v:
                    mu[p, jj] += v
                    c[p, jj] += 1
        for p in range(period):
            for jj in range(m):
                if c[p, jj] > 0:
                    mu[p, jj] /= c[p, jj]
        for t in range(b0, b1, bstep):
            p = (t + phase) % period
            for jj in range(m):
                v = a[t, j0 + jj]
                if v == v:
                    d = v - mu[p, jj]
                    ss[p, jj] += d * d
        for p in range(period):
            for jj in range(m):
                k = c[p, jj]
                sd = np.sqrt(ss[p, jj] / (k - 1)) if k >= 2 else np.nan
                if k < min_count or not sd > 0.0:
                    ss[p, jj] = np.nan
                else:
                    ss[p, jj] = 1.0 / sd
        for t in range(T):
            p = (t + phase) % period
            for jj in range(m):
                out[t, j0 + jj] = (a[t, j0 + jj] - mu[p, jj]) * ss[p, jj]
    return out


def standardized_anomaly(
    a: np.ndarray,
    baseline: slice,
    *,
    period: int = 12,
    phase: int = 0,
    min_count: int = 2,
) -> np.ndarray:
    """Standardised anomaly against a per-calendar-slot climatology of a baseline period.

    `a` is (time,), (time, n) or (time, y, x); same shape and dtype (float32/float64; other
    dtypes become float64) out, dimensionless (standard deviations). Time index t belongs to
    calendar slot (t + phase) % period (monthly data starting in January: period=12, phase=0;
    starting in July: phase=6). For each cell and slot, mean and standard deviation (ddof=1)
    are taken over the valid values at indices in `baseline` (a Python slice of the time axis,
    e.g. slice(0, 360) for the first 30 years) of that slot; out[t] = (a[t] - mean) / std.
    NaN where a[t] is NaN, the slot has fewer than `min_count` valid baseline values, or its
    std is 0 or undefined.
    """
    if not isinstance(baseline, slice):
        raise TypeError(f"baseline must be a slice of the time axis, got {type(baseline).__name__}")
    if int(period) != period or period < 1:
        raise ValueError(f"period must be an integer >= 1, got {period!r}")
    if int(min_count) != min_count or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    a2, shape = to_time_cells(a)
    b0, b1, bstep = baseline.indices(a2.shape[0])
    out = _standardized_anomaly(
        a2, b0, b1, bstep, int(period), int(phase) % int(period), int(min_count)
    )
    return from_time_cells(out, shape)


# --------------------------------------------------------------------------- event decay
@njit(cache=True, parallel=True)
def _event_decay(e, factor):  # pragma: no cover - compiled
    T, n = e.shape
    decayed = np.empty((T, n), e.dtype)
    since = np.empty((T, n), e.dtype)
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        d = np.zeros(m, np.float64)
        last = np.full(m, -1, np.int64)
        for t in range(T):
            for jj in range(m):
                v = e[t, j0 + jj]
                d[jj] *= factor
                if v == v:
                    d[jj] += v
                    if v > 0:
                        last[jj] = t
                decayed[t, j0 + jj] = d[jj]
                since[t, j0 + jj] = t - last[jj] if last[jj] >= 0 else np.nan
    return decayed, since


def event_decay(events: np.ndarray, half_life: float) -> tuple[np.ndarray, np.ndarray]:
    """Exponentially decayed event count and time since the last event, along axis 0 (time).

    `events` is (time,), (time, n) or (time, y, x) counts per time step (NaN counts as 0).
    Returns `(decayed, months_since)`, both the shape and dtype (float32/float64; other dtypes
    become float64) of `events`: decayed[t] = decayed[t-1] * 0.5 ** (1 / half_life) +
    events[t] (decayed[-1] = 0), so an event weighs 1/2 after `half_life` steps; months_since[t]
    = t - (last s <= t with events[s] > 0), in time steps (months), 0 in the month of an event,
    NaN before the first event. `half_life` > 0 in time steps (inf: no decay).
    """
    if not float(half_life) > 0:
        raise ValueError(f"half_life must be > 0, got {half_life!r}")
    e2, shape = to_time_cells(events, "events")
    factor = 0.5 ** (1.0 / float(half_life))
    decayed, since = _event_decay(e2, factor)
    return from_time_cells(decayed, shape), from_time_cells(since, shape)
