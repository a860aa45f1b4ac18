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
def _move_sum_mean(a, window, min_count, mean, out):  # pragma: no cover - compiled
    # Branch-free inner loops (selects, float counts) so LLVM vectorises them and random
    # NaNs cost no branch mispredictions.
    T, n = a.shape
    minc = float(min_count)
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        s = np.zeros(m, np.float64)
        c = np.zeros(m, np.float64)
        for t in range(T):
            row = a[t, j0 : j0 + m]
            o = out[t, j0 : j0 + m]
            if t >= window:
                old = a[t - window, j0 : j0 + m]
                for jj in range(m):
                    v = row[jj]
                    ok = v == v
                    u = old[jj]
                    uk = u == u
                    k = c[jj] + (1.0 if ok else 0.0) - (1.0 if uk else 0.0)
                    sj = s[jj] + (v if ok else 0.0) - (u if uk else 0.0)
                    c[jj] = k
                    s[jj] = sj if k > 0.0 else 0.0  # drop rounding residue of an empty window
            else:
                for jj in range(m):
                    v = row[jj]
                    ok = v == v
                    c[jj] += 1.0 if ok else 0.0
                    s[jj] += v if ok else 0.0
            if mean:
                for jj in range(m):
                    k = c[jj]
                    o[jj] = s[jj] / k if k >= minc else np.nan
            else:
                for jj in range(m):
                    o[jj] = s[jj] if c[jj] >= minc else np.nan
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
    return from_time_cells(_move_sum_mean(a2, window, min_count, False, np.empty_like(a2)), shape)


def move_mean(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing moving mean along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape and dtype
    (float32 or float64; other dtypes become float64). out[t] is the mean of the valid values
    in a[t-window+1 .. t] (same units as `a`), NaN where that window holds fewer than
    `min_count` valid values (default `window`, allowed 1..window). Accumulates in float64.
    """
    window, min_count = check_window(window, min_count)
    a2, shape = to_time_cells(a)
    return from_time_cells(_move_sum_mean(a2, window, min_count, True, np.empty_like(a2)), shape)


# --------------------------------------------------------------------------- moving std
@njit(cache=True, parallel=True)
def _move_std(a, window, min_count, ddof, out):  # pragma: no cover - compiled
    # Welford's running mean / sum of squared deviations with removal: no sum-of-squares
    # cancellation, state bounded by the window. Branch-free (selects) for vectorisation.
    T, n = a.shape
    minc = float(min_count)
    fd = float(ddof)
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        mu = np.zeros(m, np.float64)
        m2 = np.zeros(m, np.float64)
        c = np.zeros(m, np.float64)
        for t in range(T):
            row = a[t, j0 : j0 + m]
            o = out[t, j0 : j0 + m]
            for jj in range(m):
                v = row[jj]
                ok = v == v
                k = c[jj] + (1.0 if ok else 0.0)
                d = v - mu[jj] if ok else 0.0
                mn = mu[jj] + (d / k if ok else 0.0)
                m2[jj] += d * (v - mn) if ok else 0.0
                mu[jj] = mn
                c[jj] = k
            if t >= window:
                old = a[t - window, j0 : j0 + m]
                for jj in range(m):
                    u = old[jj]
                    uk = u == u
                    k = c[jj] - (1.0 if uk else 0.0)
                    d = u - mu[jj] if uk else 0.0
                    mn = mu[jj] - (d / k if k > 0.0 else 0.0)
                    q = m2[jj] - (d * (u - mn) if uk else 0.0)
                    m2[jj] = max(q, 0.0) if k > 0.0 else 0.0
                    mu[jj] = mn if k > 0.0 else 0.0
                    c[jj] = k
            for jj in range(m):
                k = c[jj]
                den = k - fd
                o[jj] = np.sqrt(m2[jj] / den) if (k >= minc and den > 0.0) else np.nan
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
    return from_time_cells(_move_std(a2, window, min_count, int(ddof), np.empty_like(a2)), shape)


# --------------------------------------------------------------------------- moving min/max
_XBLOCK = 128  # smaller block: the kernel keeps a (time, block) suffix buffer in cache


@njit(cache=True, parallel=True)
def _move_extreme(a, window, min_count, is_max, out):  # pragma: no cover - compiled
    # van Herk / Gil-Werman: split time into blocks of `window` rows; a trailing window is the
    # union of the suffix of one block and the prefix of the next, so each output costs one
    # comparison whatever the window. Values are sign-flipped for the minimum. NaN never wins
    # a comparison, so it is skipped; a separate running count applies min_count.
    T, n = a.shape
    minc = float(min_count)
    sign = 1.0 if is_max else -1.0
    nblocks = (n + _XBLOCK - 1) // _XBLOCK
    for b in prange(nblocks):
        j0 = b * _XBLOCK
        m = min(n, j0 + _XBLOCK) - j0
        suffix = np.empty((T, m), a.dtype)  # signed max of a[t .. end of t's time block]
        c = np.zeros(m, np.float64)
        run = np.empty(m, np.float64)
        tb = 0
        while tb < T:
            te = min(T, tb + window)
            run[:] = -np.inf
            for t in range(te - 1, tb - 1, -1):
                row = a[t, j0 : j0 + m]
                sf = suffix[t]
                for jj in range(m):
                    v = sign * row[jj]
                    r = v if v > run[jj] else run[jj]
                    run[jj] = r
                    sf[jj] = r
            tb = te
        for t in range(T):
            start = t - window + 1
            if t % window == 0:
                run[:] = -np.inf
            row = a[t, j0 : j0 + m]
            o = out[t, j0 : j0 + m]
            for jj in range(m):
                v = sign * row[jj]
                run[jj] = v if v > run[jj] else run[jj]
                c[jj] += 1.0 if v == v else 0.0
            if start > 0:
                old = a[start - 1, j0 : j0 + m]
                for jj in range(m):
                    u = old[jj]
                    c[jj] -= 1.0 if u == u else 0.0
            if start > 0 and start % window != 0:
                sf = suffix[start]
                for jj in range(m):
                    best = sf[jj] if sf[jj] > run[jj] else run[jj]
                    o[jj] = sign * best if c[jj] >= minc else np.nan
            else:
                for jj in range(m):
                    o[jj] = sign * run[jj] if c[jj] >= minc else np.nan
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
    return from_time_cells(_move_extreme(a2, window, min_count, False, np.empty_like(a2)), shape)


def move_max(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing moving maximum along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape, dtype (float32
    or float64; other dtypes become float64) and units. out[t] is the maximum of the valid
    values in a[t-window+1 .. t], NaN where fewer than `min_count` (default `window`) are
    valid. Cost per element does not depend on the window (van Herk / Gil-Werman).
    """
    window, min_count = check_window(window, min_count)
    a2, shape = to_time_cells(a)
    return from_time_cells(_move_extreme(a2, window, min_count, True, np.empty_like(a2)), shape)


# --------------------------------------------------------------------------- EWM
@njit(cache=True, parallel=True)
def _ewm_mean(a, alpha, min_count, out):  # pragma: no cover - compiled
    T, n = a.shape
    decay = 1.0 - alpha
    minc = float(min_count)
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        num = np.zeros(m, np.float64)
        den = np.zeros(m, np.float64)
        c = np.zeros(m, np.float64)
        for t in range(T):
            row = a[t, j0 : j0 + m]
            o = out[t, j0 : j0 + m]
            for jj in range(m):
                v = row[jj]
                ok = v == v
                nu = num[jj] * decay + v if ok else num[jj]
                de = den[jj] * decay + 1.0 if ok else den[jj]
                k = c[jj] + (1.0 if ok else 0.0)
                num[jj] = nu
                den[jj] = de
                c[jj] = k
                o[jj] = nu / de if k >= minc else np.nan
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
    return from_time_cells(_ewm_mean(a2, float(alpha), int(min_count), np.empty_like(a2)), shape)


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
def _trend(a, window, min_count, out):  # pragma: no cover - compiled
    # Running sums of the valid points: n, sum t, sum t^2, sum y, sum t*y with the absolute
    # time index t (integers: the t-sums are exact in float64); slope =
    # (n Sty - St Sy) / (n Stt - St^2).
    T, n = a.shape
    minc = float(max(min_count, 2))
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
            row = a[t, j0 : j0 + m]
            o = out[t, j0 : j0 + m]
            ft = float(t)
            for jj in range(m):
                v = row[jj]
                ok = v == v
                c[jj] += 1.0 if ok else 0.0
                sx[jj] += ft if ok else 0.0
                sxx[jj] += ft * ft if ok else 0.0
                sy[jj] += v if ok else 0.0
                sxy[jj] += ft * v if ok else 0.0
            if t >= window:
                old = a[t - window, j0 : j0 + m]
                fo = float(t - window)
                for jj in range(m):
                    u = old[jj]
                    uk = u == u
                    c[jj] -= 1.0 if uk else 0.0
                    sx[jj] -= fo if uk else 0.0
                    sxx[jj] -= fo * fo if uk else 0.0
                    sy[jj] -= u if uk else 0.0
                    sxy[jj] -= fo * u if uk else 0.0
            for jj in range(m):
                k = c[jj]
                den = k * sxx[jj] - sx[jj] * sx[jj]
                num = k * sxy[jj] - sx[jj] * sy[jj]
                o[jj] = num / den if (k >= minc and den > 0.0) else np.nan
    return out


def trend(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing least-squares linear slope along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); same shape and dtype (float32/float64; other
    dtypes become float64) out. out[t] is the ordinary least-squares slope of the valid values
    of a[t-window+1 .. t] against their time index, in units of `a` per time step (per month
    for monthly data); NaN where fewer than `min_count` (default `window`, at least 2) points
    are valid. Running sums in float64.
    """
    if isinstance(window, bool) or int(window) != window or window < 2:
        raise ValueError(f"trend needs an integer window >= 2, got {window!r}")
    window, min_count = check_window(window, min_count, lo=2)
    a2, shape = to_time_cells(a)
    return from_time_cells(_trend(a2, window, min_count, np.empty_like(a2)), shape)


# --------------------------------------------------------------------------- anomalies
@njit(cache=True, parallel=True)
def _standardized_anomaly(a, b0, b1, bstep, period, phase, min_count, out):  # pragma: no cover
    T, n = a.shape
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        mu = np.zeros((period, m), np.float64)
        ss = np.zeros((period, m), np.float64)
        c = np.zeros((period, m), np.float64)
        for t in range(b0, b1, bstep):  # pass 1: slot means over the baseline
            p = (t + phase) % period
            row = a[t, j0 : j0 + m]
            for jj in range(m):
                v = row[jj]
                ok = v == v
                mu[p, jj] += v if ok else 0.0
                c[p, jj] += 1.0 if ok else 0.0
        for p in range(period):
            for jj in range(m):
                mu[p, jj] = mu[p, jj] / c[p, jj] if c[p, jj] > 0.0 else 0.0
        for t in range(b0, b1, bstep):  # pass 2: squared deviations (two-pass variance)
            p = (t + phase) % period
            row = a[t, j0 : j0 + m]
            for jj in range(m):
                v = row[jj]
                d = v - mu[p, jj]
                ss[p, jj] += d * d if v == v else 0.0
        for p in range(period):  # ss becomes 1 / std, NaN where undefined
            for jj in range(m):
                k = c[p, jj]
                sd = np.sqrt(ss[p, jj] / (k - 1.0)) if k >= 2.0 else np.nan
                ss[p, jj] = 1.0 / sd if (k >= min_count and sd > 0.0) else np.nan
        for t in range(T):
            p = (t + phase) % period
            row = a[t, j0 : j0 + m]
            o = out[t, j0 : j0 + m]
            for jj in range(m):
                o[jj] = (row[jj] - mu[p, jj]) * ss[p, jj]
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
        a2,
        b0,
        b1,
        bstep,
        int(period),
        int(phase) % int(period),
        int(min_count),
        np.empty_like(a2),
    )
    return from_time_cells(out, shape)


# --------------------------------------------------------------------------- event decay
@njit(cache=True, parallel=True)
def _event_decay(e, factor, decayed, since):  # pragma: no cover - compiled
    T, n = e.shape
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        j0 = b * BLOCK
        m = min(n, j0 + BLOCK) - j0
        d = np.zeros(m, np.float64)
        last = np.full(m, np.nan)  # time of the last event, NaN before the first
        for t in range(T):
            row = e[t, j0 : j0 + m]
            od = decayed[t, j0 : j0 + m]
            os = since[t, j0 : j0 + m]
            ft = float(t)
            for jj in range(m):
                v = row[jj]
                dj = d[jj] * factor + (v if v == v else 0.0)
                lj = ft if v > 0 else last[jj]
                d[jj] = dj
                last[jj] = lj
                od[jj] = dj
                os[jj] = ft - lj
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
    decayed, since = _event_decay(e2, factor, np.empty_like(e2), np.empty_like(e2))
    return from_time_cells(decayed, shape), from_time_cells(since, shape)
