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


def _consts(a: np.ndarray, *values: float) -> np.ndarray:
    """`values` as a 1-D array in the dtype of `a`: typed constants for a compiled loop.

    Numba types a float literal as float64; mixing one into float32 arithmetic would widen
    the whole vectorised loop to float64 (half the SIMD lanes).
    """
    return np.array(values, a.dtype)


#: float32 holds every integer up to 2**24 exactly: counts and time indices that the kernels
#: keep in the input dtype are exact for series up to this many time steps.
_F32_EXACT = 2**24


def _exact_counts(a2: np.ndarray) -> np.ndarray:
    """`a2` (time, cells), or a float64 copy if float32 could not count its time steps exactly.

    Callers cast the result back to the input dtype (a no-op in the usual case).
    """
    if a2.dtype == np.float32 and a2.shape[0] > _F32_EXACT:
        return a2.astype(np.float64)
    return a2


# --------------------------------------------------------------------------- moving std
#: Cells per work item of the moving std/min/max and event-decay kernels: long contiguous row
#: segments (16 KB of float32) stream from memory at close to copy speed, where 256-cell
#: segments measured ~2x slower; their per-cell state then sits in L2 instead of L1.
_WBLOCK = 4096
#: The moving std re-centres its shifted sums exactly at least this often (time steps).
_RECENTRE = 64
#: ... and at once where a window mean sits further than sqrt(_OFF_CENTRE) standard
#: deviations from the shift: k*s2 - s1**2 then keeps all but ~log10(_OFF_CENTRE) digits.
_OFF_CENTRE = 1e4
#: Above this, the squared-deviation sum may not fit a float32 output: redo the row in float64.
_F32_SAFE = 1e37


@njit(cache=True)
def _std_parts(k, x1, x2, minc, fd):  # pragma: no cover - compiled, inlined by LLVM
    # From count k and shifted sums x1, x2 of one window: (k * squared deviations, or NaN
    # where the window does not qualify; its divisor k * (k - ddof), or 1; 1 if the first is
    # too large for a float32 output, else 0; 1 if the shift is too far off the mean, else 0).
    q = k * x2 - x1 * x1
    q = q if q > 0.0 else 0.0
    dn = k * (k - fd)
    good = (k >= minc) & (dn > 0.0)
    over = 1 if q > _F32_SAFE else 0
    off = 1 if x1 * x1 > _OFF_CENTRE * q else 0
    return (q if good else np.nan), (dn if good else 1.0), over, off


@njit(cache=True, parallel=True)
def _move_std(a, window, min_count, ddof, consts, out):  # pragma: no cover - compiled
    # Shifted sums: per cell s1 = sum(x - K), s2 = sum((x - K)**2) over the valid values of the
    # window, with K near the window mean, so k*s2 - s1**2 suffers no cancellation from a
    # large offset. K starts at the cell's first valid value. After a row where some window
    # mean has moved far from K (a drifting level, a series resuming after a gap at another
    # level), and anyway every `recentre` steps (flushing the add/remove rounding drift), K
    # moves to the window mean and s1, s2 are recomputed exactly from the window's rows, which
    # are still in cache. The hot loop has no division; the final divide and sqrt run in the
    # output dtype (float32: twice the SIMD lanes of float64 and a much cheaper sqrt), the
    # subtraction stays in float64. K and the count are kept in the input dtype (consts =
    # (1, 0) in it) to halve their cache traffic.
    T, n = a.shape
    one = consts[0]
    zero = consts[1]
    minc = float(min_count)
    fd = float(ddof)
    recentre = max(window, _RECENTRE)
    nblocks = (n + _WBLOCK - 1) // _WBLOCK
    for b in prange(nblocks):
        j0 = b * _WBLOCK
        m = min(n, j0 + _WBLOCK) - j0
        K = np.zeros(m, a.dtype)
        c = np.zeros(m, a.dtype)
        s1 = np.zeros(m, np.float64)
        s2 = np.zeros(m, np.float64)
        den = np.empty(m, a.dtype)
        # K = first valid value (c is a 'found' flag here), looked for in the first
        # `recentre` rows only: a cell empty that long (sea) would otherwise cost a whole
        # extra pass; if it fills later, its K = 0 is far off its mean and the off-centre
        # test below recentres it on that row.
        for t in range(min(T, recentre)):
            row = a[t, j0 : j0 + m]
            todo = 0  # integer reductions vectorise; float ones would need fastmath
            for jj in range(m):
                v = row[jj]
                take = (v == v) & (c[jj] == zero)
                K[jj] = v if take else K[jj]
                c[jj] = one if take else c[jj]
                todo += 1 if c[jj] == zero else 0
            if todo == 0:
                break
        c[:] = zero
        for t in range(T):
            row = a[t, j0 : j0 + m]
            o = out[t, j0 : j0 + m]
            has_old = t >= window
            old = a[t - window if has_old else t, j0 : j0 + m]
            big = 0
            offc = 0
            for jj in range(m):
                v = row[jj]
                u = old[jj]
                ok = v == v
                uk = has_old & (u == u)
                kj = np.float64(K[jj])
                d = v - kj if ok else 0.0
                e = u - kj if uk else 0.0
                k = c[jj] + (one if ok else zero) - (one if uk else zero)
                x1 = s1[jj] + d - e
                x2 = s2[jj] + d * d - e * e
                x1 = x1 if k > zero else 0.0  # an empty window holds exactly nothing
                x2 = x2 if k > zero else 0.0
                c[jj] = k
                s1[jj] = x1
                s2[jj] = x2
                q, dn, over, off = _std_parts(k, x1, x2, minc, fd)
                o[jj] = q
                den[jj] = dn
                big += over
                offc += off
            if offc > 0 or t % recentre == recentre - 1:
                for jj in range(m):
                    k = c[jj]
                    K[jj] = K[jj] + (s1[jj] / k if k > zero else 0.0)
                    s1[jj] = 0.0
                    s2[jj] = 0.0
                for r in range(max(0, t - window + 1), t + 1):
                    rr = a[r, j0 : j0 + m]
                    for jj in range(m):
                        v = rr[jj]
                        d = v - np.float64(K[jj]) if v == v else 0.0
                        s1[jj] += d
                        s2[jj] += d * d
                big = 0
                for jj in range(m):
                    q, dn, over, off = _std_parts(c[jj], s1[jj], s2[jj], minc, fd)
                    o[jj] = q
                    den[jj] = dn
                    big += over
            for jj in range(m):
                o[jj] = np.sqrt(o[jj] / den[jj])
            if big > 0:  # k * variance overflows float32: divide and sqrt in float64 instead
                for jj in range(m):
                    q, dn, over, off = _std_parts(c[jj], s1[jj], s2[jj], minc, fd)
                    o[jj] = np.sqrt(q / dn)
    return out


def move_std(
    a: np.ndarray, window: int, *, min_count: int | None = None, ddof: int = 0
) -> np.ndarray:
    """Trailing moving standard deviation along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape and dtype
    (float32 or float64; other dtypes become float64), in the units of `a`. out[t] is the
    standard deviation with `ddof` delta degrees of freedom of the valid values in
    a[t-window+1 .. t]; NaN where fewer than `min_count` (default `window`) are valid or where
    count - ddof <= 0. Shifted running sums in float64, re-centred on the window mean
    whenever it drifts away and at least every 64 steps (no cancellation from a large offset,
    a drifting level or a jump).
    """
    window, min_count = check_window(window, min_count)
    if int(ddof) != ddof or ddof < 0:
        raise ValueError(f"ddof must be an integer >= 0, got {ddof!r}")
    a2, shape = to_time_cells(a)
    x = _exact_counts(a2)
    out = _move_std(x, window, min_count, int(ddof), _consts(x, 1.0, 0.0), np.empty_like(x))
    return from_time_cells(out.astype(a2.dtype, copy=False), shape)


# --------------------------------------------------------------------------- moving min/max
@njit(cache=True, parallel=True)
def _move_extreme(a, window, consts, out):  # pragma: no cover - compiled
    # van Herk / Gil-Werman: split time into blocks of `window` rows; a trailing window is the
    # union of a suffix of the previous block and a prefix of the current one, so each output
    # costs one comparison whatever the window. The forward pass over a block keeps the
    # running prefix maximum and combines it with the suffix maxima of the previous block;
    # then a backward pass over the same rows (still in cache) stores this block's suffix
    # maxima for the next one. Values are multiplied by consts[0] (+1 max, -1 min) so one
    # loop does both; consts holds (sign, 1, 0, -inf, NaN, min_count) in the input dtype, so
    # nothing is widened to float64. NaN never wins a comparison, so it is skipped; a running
    # count of valid values (exact: see `_exact_counts`) applies min_count.
    T, n = a.shape
    sg = consts[0]
    one = consts[1]
    zero = consts[2]
    ninf = consts[3]
    nan = consts[4]
    minc = consts[5]
    w = window
    nblocks = (n + _WBLOCK - 1) // _WBLOCK
    for b in prange(nblocks):
        j0 = b * _WBLOCK
        m = min(n, j0 + _WBLOCK) - j0
        suffix = np.empty((min(w, T), m), a.dtype)  # signed max of a[s .. end of s's block]
        run = np.empty(m, a.dtype)
        c = np.zeros(m, a.dtype)
        for tb in range(0, T, w):
            te = min(T, tb + w)
            run[:] = ninf
            for t in range(tb, te):
                row = a[t, j0 : j0 + m]
                o = out[t, j0 : j0 + m]
                has_old = t >= w
                old = a[t - w if has_old else t, j0 : j0 + m]
                # window start t-w+1 lies in the previous block unless this row ends the block
                use_sf = tb > 0 and t < tb + w - 1
                sf = suffix[t + 1 - tb if use_sf else 0]
                for jj in range(m):
                    v = sg * row[jj]
                    u = old[jj]
                    r = run[jj]
                    r = v if v > r else r
                    run[jj] = r
                    k = c[jj] + (one if v == v else zero) - (one if has_old & (u == u) else zero)
                    c[jj] = k
                    x = sf[jj]
                    best = x if use_sf & (x > r) else r
                    o[jj] = sg * best if k >= minc else nan
            if te < T:  # suffix maxima of this block, for the next
                run[:] = ninf
                for t in range(te - 1, tb - 1, -1):
                    row = a[t, j0 : j0 + m]
                    sf = suffix[t - tb]
                    for jj in range(m):
                        v = sg * row[jj]
                        r = run[jj]
                        r = v if v > r else r
                        run[jj] = r
                        sf[jj] = r
    return out


def _moving_extreme(a: np.ndarray, window: int, min_count: int | None, sign: float) -> np.ndarray:
    """Shared body of `move_min` (sign -1) and `move_max` (sign +1)."""
    window, min_count = check_window(window, min_count)
    a2, shape = to_time_cells(a)
    x = _exact_counts(a2)
    consts = _consts(x, sign, 1.0, 0.0, -np.inf, np.nan, min_count)
    out = _move_extreme(x, window, consts, np.empty_like(x))
    return from_time_cells(out.astype(a2.dtype, copy=False), shape)


def move_min(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing moving minimum along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape, dtype (float32
    or float64; other dtypes become float64) and units. out[t] is the minimum of the valid
    values in a[t-window+1 .. t], NaN where fewer than `min_count` (default `window`) are
    valid. Cost per element does not depend on the window (van Herk / Gil-Werman).
    """
    return _moving_extreme(a, window, min_count, -1.0)


def move_max(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing moving maximum along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); the result has the same shape, dtype (float32
    or float64; other dtypes become float64) and units. out[t] is the maximum of the valid
    values in a[t-window+1 .. t], NaN where fewer than `min_count` (default `window`) are
    valid. Cost per element does not depend on the window (van Herk / Gil-Werman).
    """
    return _moving_extreme(a, window, min_count, 1.0)


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
#: `trend` keeps its count and age sums in float32 for windows up to this long: the largest
#: product of them, k * saa <= w**2 (w - 1) (2w - 1) / 6, stays below 2**24, so they and the
#: slope's denominator k*saa - sa**2 are exact integers at half the SIMD cost of float64.
#: Longer windows keep them in float64 (exact far beyond any window).
_TREND_AGE32 = 84
#: `trend`'s off-centre test sd**2 > _OFF_CENTRE * (k*sdd - sd**2), rearranged so it needs no
#: subtraction and no clamp: sd**2 * (1 + 1/_OFF_CENTRE) > k*sdd.
_TREND_OFF = 1.0 + 1.0 / _OFF_CENTRE


@njit(cache=True)
def _trend_parts(k, sa, saa, sd, sad, minc):  # pragma: no cover - compiled, inlined
    # From one window's count k and sums over its valid points of age a (0 = newest) and
    # shifted value d: (the slope's numerator against time, or NaN where the window does not
    # qualify; its denominator, or 1). The slope against age is minus the slope against
    # time, hence sa*sd - k*sad.
    num = sa * sd - k * sad
    dn = k * saa - sa * sa  # exact: integers far below 2**53
    good = (k >= minc) & (dn > 0.0)
    return (num if good else np.nan), (dn if good else 1.0)


# fastmath "contract" only (no NaN/inf or reassociation licence): a*b + c may become one fused
# multiply-add, rounded once. Measured against the reference on 72 float64 series (large
# levels, jumps, wandering levels, noise): smaller mean and max errors on average, the worst
# case no worse; and ~8% faster: it moves additions off the busy add ports onto the FMA ones.
@njit(cache=True, fastmath={"contract"})
def _trend_step(v, u, kj, k0, a0, aa0, d0, ad0, dd0, ac, w):  # pragma: no cover - inlined
    # One time step of one cell: value v enters at age 0, u (NaN if none) leaves at age w,
    # every other point ages by one. Count and age sums in the dtype of the scalars ac = (1,
    # 0, w, w**2, min count) (scalars, not an array: loads the loop could not hoist), value
    # sums in float64. Returns the new sums, the slope's numerator
    # (float64) and denominator (1 where the window does not qualify), whether it qualifies,
    # and whether it qualifies with its mean sqrt(_OFF_CENTRE) standard deviations or more
    # from the shift K.
    one = ac[0]
    zero = ac[1]
    ok = v == v
    uk = u == u
    d = v - kj if ok else 0.0
    e = u - kj if uk else 0.0
    k = k0 + (one if ok else zero) - (one if uk else zero)
    x_a = a0 + k0 - (ac[2] if uk else zero)
    x_aa = aa0 + a0 + a0 + k0 - (ac[3] if uk else zero)
    some = k > zero  # an empty window holds exactly nothing
    x_ad = ad0 + d0 - w * e if some else 0.0
    x_d = d0 + (d - e) if some else 0.0
    x_dd = dd0 + (d - e) * (d + e) if some else 0.0
    dn = k * x_aa - x_a * x_a
    good = (k >= ac[4]) & (dn > zero)
    fk = np.float64(k)
    num = np.float64(x_a) * x_d - fk * x_ad
    off = good & (x_d * x_d * _TREND_OFF > fk * x_dd)
    return k, x_a, x_aa, x_d, x_ad, x_dd, num, (dn if good else one), good, off


@njit(cache=True, error_model="numpy")  # no zero-division branch: dn >= 1, and vectorised
def _trend_put(o, jj, num, dn, good, oc):  # pragma: no cover - compiled, inlined
    # o[jj] = num / dn, NaN where the window does not qualify, divided in the output dtype
    # (float32: twice the SIMD lanes; the store rounds num to it; oc = (NaN, inf) in it);
    # True if that overflowed.
    o[jj] = num
    q = o[jj] / dn
    q = q if good else oc[0]
    o[jj] = q
    return abs(q) == oc[1]


@njit(cache=True)
def _trend_sums(a, r, window, j0, m, K, c, sa, saa, sd, sad, sdd, ages):  # pragma: no cover
    # The sums of the window ending at row r, from its rows (in cache): the value sums around
    # the current K, and the count and age sums too if `ages`.
    lo = max(0, r - window + 1)
    for rr in range(lo, r + 1):
        x = a[rr, j0 : j0 + m]
        age = float(r - rr)
        first = rr == lo
        if ages:
            for jj in range(m):
                v = x[jj]
                ok = v == v
                d = v - np.float64(K[jj]) if ok else 0.0
                c[jj] = (0.0 if first else c[jj]) + (1.0 if ok else 0.0)
                sa[jj] = (0.0 if first else sa[jj]) + (age if ok else 0.0)
                saa[jj] = (0.0 if first else saa[jj]) + (age * age if ok else 0.0)
                sd[jj] = (0.0 if first else sd[jj]) + d
                sad[jj] = (0.0 if first else sad[jj]) + age * d
                sdd[jj] = (0.0 if first else sdd[jj]) + d * d
        else:
            for jj in range(m):
                v = x[jj]
                d = v - np.float64(K[jj]) if v == v else 0.0
                sd[jj] = (0.0 if first else sd[jj]) + d
                sad[jj] = (0.0 if first else sad[jj]) + age * d
                sdd[jj] = (0.0 if first else sdd[jj]) + d * d


@njit(cache=True)
def _trend_centre(K, c, sd):  # pragma: no cover - compiled
    # K to the mean of the window the value sums describe
    for jj in range(K.shape[0]):
        k = c[jj]
        K[jj] = K[jj] + (sd[jj] / k if k > 0.0 else 0.0)


@njit(cache=True)
def _trend_out(o, c, sa, saa, sd, sad, minc):  # pragma: no cover - compiled
    # The slopes from the sums, divided in float64 (no float32 overflow)
    for jj in range(o.shape[0]):
        num, dn = _trend_parts(
            np.float64(c[jj]), np.float64(sa[jj]), np.float64(saa[jj]), sd[jj], sad[jj], minc
        )
        o[jj] = num / dn


@njit(cache=True, parallel=True)
def _trend(a, window, min_count, ac, oc, out):  # pragma: no cover - compiled
    # Per cell, over the valid points of the window: count k, sums of the age a = t - s of
    # the point at time s (0 for the newest) and a**2, and of d = y - K, d*a and d**2 with K
    # a per-cell shift near the window mean. Ages stay below `window`, so the count and age
    # sums are exact integers (float32 up to _TREND_AGE32, the dtype of ac) and k*saa - sa**2
    # has no cancellation; K keeps sa*sd - k*sad free of the cancellation a large level or a
    # steep trend would cause (the absolute-time sums used before lost digits growing with t
    # and the level). A step ages every point by one (sa += k, saa += 2 sa + k, sad += sd),
    # drops the point leaving at age `window` and adds the new one at age 0: no time index in
    # the hot loop, which advances two rows per pass over the per-cell state (held in
    # registers between them), halving the state's cache traffic, and writes each output
    # once: the numerator rounded to the output dtype over the exact denominator, divided
    # there (float32: twice the SIMD lanes; oc = (NaN, inf) in that dtype).
    # K starts at 0. After a pair of rows where some qualifying window mean sits more than
    # sqrt(_OFF_CENTRE) standard deviations from K (the first values, a jump after a gap) or
    # a float32 output overflowed, both rows are recomputed from scratch around their own
    # window means and divided in float64. Every `recentre` steps anyway (a trend drifts the
    # mean; add/remove rounding builds up) K moves to the mean, the value sums are recomputed
    # from the window's rows, which are still in cache (the exact count and age sums stay),
    # and the pair's second row is rewritten from them.
    T, n = a.shape
    w = float(window)
    minc = float(max(min_count, 2))
    recentre = max(window, _RECENTRE)
    acs = (ac[0], ac[1], ac[2], ac[3], ac[4])
    ocs = (oc[0], oc[1])
    nblocks = (n + _WBLOCK - 1) // _WBLOCK
    for b in prange(nblocks):
        j0 = b * _WBLOCK
        m = min(n, j0 + _WBLOCK) - j0
        K = np.zeros(m, a.dtype)
        c = np.zeros(m, ac.dtype)
        sa = np.zeros(m, ac.dtype)
        saa = np.zeros(m, ac.dtype)
        sd = np.zeros(m, np.float64)
        sad = np.zeros(m, np.float64)
        sdd = np.zeros(m, np.float64)
        nan_row = np.full(m, np.nan, a.dtype)  # stands for the rows before the series
        steps = 0  # since the value sums were last recomputed
        for t in range(0, T, 2):
            redo = t  # the last row of an odd-length series: from scratch, once per segment
            if t + 1 < T:
                redo = T  # first row to recompute from scratch (T: none)
                row0 = a[t, j0 : j0 + m]
                row1 = a[t + 1, j0 : j0 + m]
                o0 = out[t, j0 : j0 + m]
                o1 = out[t + 1, j0 : j0 + m]
                # a NaN row as the leaving row early on: no 'has a leaving row' flag in the loop
                old0 = a[t - window, j0 : j0 + m] if t >= window else nan_row
                old1 = a[t + 1 - window, j0 : j0 + m] if t + 1 >= window else nan_row
                bad = False  # a boolean reduction vectorises (mask registers)
                for jj in range(m):
                    kj = np.float64(K[jj])
                    k, x_a, x_aa, x_d, x_ad, x_dd = c[jj], sa[jj], saa[jj], sd[jj], sad[jj], sdd[jj]
                    k, x_a, x_aa, x_d, x_ad, x_dd, num, dn, good, off0 = _trend_step(
                        row0[jj], old0[jj], kj, k, x_a, x_aa, x_d, x_ad, x_dd, acs, w
                    )
                    over0 = _trend_put(o0, jj, num, dn, good, ocs)
                    k, x_a, x_aa, x_d, x_ad, x_dd, num, dn, good, off1 = _trend_step(
                        row1[jj], old1[jj], kj, k, x_a, x_aa, x_d, x_ad, x_dd, acs, w
                    )
                    over1 = _trend_put(o1, jj, num, dn, good, ocs)
                    c[jj] = k
                    sa[jj] = x_a
                    saa[jj] = x_aa
                    sd[jj] = x_d
                    sad[jj] = x_ad
                    sdd[jj] = x_dd
                    bad = bad | off0 | over0 | off1 | over1
                steps += 2
                if bad:  # a row lost digits or overflowed float32: redo both (rare)
                    redo = t
                    steps = 0
                elif steps >= recentre:  # K to the mean of the window ending at t + 1
                    steps = 0
                    _trend_centre(K, c, sd)
                    _trend_sums(a, t + 1, window, j0, m, K, c, sa, saa, sd, sad, sdd, False)
                    _trend_out(out[t + 1, j0 : j0 + m], c, sa, saa, sd, sad, minc)
            # Rows from `redo` to the pair's last: all sums recomputed from the window's rows
            # twice, K moving to the window mean in between; the state is left at the last
            # row; divided in float64 (no float32 overflow).
            for r in range(redo, min(t + 2, T)):
                _trend_sums(a, r, window, j0, m, K, c, sa, saa, sd, sad, sdd, True)
                _trend_centre(K, c, sd)
                _trend_sums(a, r, window, j0, m, K, c, sa, saa, sd, sad, sdd, False)
                _trend_out(out[r, j0 : j0 + m], c, sa, saa, sd, sad, minc)
    return out


def trend(a: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Trailing least-squares linear slope along axis 0 (time), skipping NaN.

    `a` is (time,), (time, n) or (time, y, x); same shape and dtype (float32/float64; other
    dtypes become float64) out. out[t] is the ordinary least-squares slope of the valid values
    of a[t-window+1 .. t] against their time index, in units of `a` per time step (per month
    for monthly data); NaN where fewer than `min_count` (default `window`, at least 2) points
    are valid. Running sums: exact ones of ages within the window, float64 ones of values
    shifted to near the window mean, re-centred whenever the mean drifts away and at least
    every 64 steps (no cancellation from a large level, a steep trend or a long series).
    """
    if isinstance(window, bool) or int(window) != window or window < 2:
        raise ValueError(f"trend needs an integer window >= 2, got {window!r}")
    window, min_count = check_window(window, min_count, lo=2)
    a2, shape = to_time_cells(a)
    w = float(window)
    ages = np.float32 if window <= _TREND_AGE32 else np.float64
    ac = np.array([1.0, 0.0, w, w * w, max(min_count, 2)], ages)
    oc = np.array([np.nan, np.inf], a2.dtype)
    return from_time_cells(_trend(a2, window, min_count, ac, oc, np.empty_like(a2)), shape)


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
def _event_decay(e, factor, consts, decayed, since):  # pragma: no cover - compiled
    # The decayed sum is accumulated in float64; the time of the last event and the step
    # counter are kept in the input dtype (consts = (1, NaN) in it; exact: see
    # `_exact_counts`), so the months-since loop does not widen float32 to float64.
    T, n = e.shape
    one = consts[0]
    nan = consts[1]
    nblocks = (n + _WBLOCK - 1) // _WBLOCK
    for b in prange(nblocks):
        j0 = b * _WBLOCK
        m = min(n, j0 + _WBLOCK) - j0
        d = np.zeros(m, np.float64)
        last = np.full(m, nan)  # time of the last event, NaN before the first
        ft = -one  # the step counter t in the input dtype (float32 * int would be float64)
        for t in range(T):
            ft += one
            row = e[t, j0 : j0 + m]
            od = decayed[t, j0 : j0 + m]
            os = since[t, j0 : j0 + m]
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
    x = _exact_counts(e2)
    factor = 0.5 ** (1.0 / float(half_life))
    decayed, since = _event_decay(
        x, factor, _consts(x, 1.0, np.nan), np.empty_like(x), np.empty_like(x)
    )
    return (
        from_time_cells(decayed.astype(e2.dtype, copy=False), shape),
        from_time_cells(since.astype(e2.dtype, copy=False), shape),
    )
