"""Standardized Precipitation Index (McKee et al. 1993), gamma fit per cell and calendar slot.

Steps, per cell: (1) trailing sum of `scale` steps (NaN if any of them is missing);
(2) for each calendar slot, over the valid accumulations in the baseline: q = share of
zeros, and a two-parameter gamma (location 0) fitted by maximum likelihood to the non-zero
ones - Newton's method on log(alpha) - digamma(alpha) = log(mean x) - mean(log x), started
from Thom's (1958) approximation, the same estimator as `scipy.stats.gamma.fit(x, floc=0)`;
(3) H(x) = q + (1 - q) * GammaCDF(x), SPI = Phi^-1(H) clipped to [-3.09, 3.09].

The special functions are written here (digamma/trigamma by recurrence + asymptotic series,
the regularised incomplete gamma by series / continued fraction as in Numerical Recipes, the
normal quantile by Acklam's rational approximation refined by one Halley step on erfc), so
the whole index is one compiled loop; they are checked against scipy in the tests.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._util import from_time_cells, to_time_cells

__all__ = ["spi", "SPI_CLIP"]

#: SPI values are clipped to +-SPI_CLIP (probabilities 0.001 .. 0.999).
SPI_CLIP = 3.09


@njit(cache=True)
def _digamma(x):  # pragma: no cover - compiled
    r = 0.0
    while x < 10.0:
        r -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    return (
        r
        + math.log(x)
        - 0.5 / x
        - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))))
    )


@njit(cache=True)
def _trigamma(x):  # pragma: no cover - compiled
    r = 0.0
    while x < 10.0:
        r += 1.0 / (x * x)
        x += 1.0
    f = 1.0 / (x * x)
    return (
        r
        + 1.0 / x
        + f / 2.0
        + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30 - f * (5.0 / 66)))))
    )


@njit(cache=True)
def _gammainc(a, x):  # pragma: no cover - compiled
    """Regularised lower incomplete gamma P(a, x), a > 0."""
    if x <= 0.0:
        return 0.0
    lg = math.lgamma(a)
    if x < a + 1.0:
        ap = a
        s = 1.0 / a
        d = s
        for _ in range(100000):
            ap += 1.0
            d *= x / ap
            s += d
            if abs(d) < abs(s) * 1e-15:
                break
        return s * math.exp(-x + a * math.log(x) - lg)
    # continued fraction for Q(a, x) (modified Lentz)
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        de = d * c
        h *= de
        if abs(de - 1.0) < 1e-15:
            break
    return 1.0 - math.exp(-x + a * math.log(x) - lg) * h


@njit(cache=True)
def _ndtri(p):  # pragma: no cover - compiled
    """Standard normal quantile (Acklam + one Halley step): ~1e-15 relative."""
    if p <= 0.0:
        return -np.inf
    if p >= 1.0:
        return np.inf
    a1, a2, a3 = -3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02
    a4, a5, a6 = 1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00
    b1, b2, b3 = -5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02
    b4, b5 = 6.680131188771972e01, -1.328068155288572e01
    c1, c2, c3 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00
    c4, c5, c6 = -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00
    d1, d2, d3, d4 = (
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e00,
        3.754408661907416e00,
    )
    plow = 0.02425
    if p < plow:
        q = math.sqrt(-2.0 * math.log(p))
        z = (((((c1 * q + c2) * q + c3) * q + c4) * q + c5) * q + c6) / (
            (((d1 * q + d2) * q + d3) * q + d4) * q + 1.0
        )
    elif p <= 1.0 - plow:
        q = p - 0.5
        r = q * q
        z = (
            (((((a1 * r + a2) * r + a3) * r + a4) * r + a5) * r + a6)
            * q
            / (((((b1 * r + b2) * r + b3) * r + b4) * r + b5) * r + 1.0)
        )
    else:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        z = -(((((c1 * q + c2) * q + c3) * q + c4) * q + c5) * q + c6) / (
            (((d1 * q + d2) * q + d3) * q + d4) * q + 1.0
        )
    e = 0.5 * math.erfc(-z / math.sqrt(2.0)) - p
    u = e * math.sqrt(2.0 * math.pi) * math.exp(z * z / 2.0)
    return z - u / (1.0 + z * u / 2.0)


@njit(cache=True)
def _gamma_shape(a_stat):  # pragma: no cover - compiled
    """MLE shape alpha solving log(alpha) - digamma(alpha) = A (A > 0)."""
    alpha = (1.0 + math.sqrt(1.0 + 4.0 * a_stat / 3.0)) / (4.0 * a_stat)
    for _ in range(50):
        f = math.log(alpha) - _digamma(alpha) - a_stat
        fp = 1.0 / alpha - _trigamma(alpha)
        step = f / fp
        new = alpha - step
        if new <= 0.0:
            new = alpha / 2.0
        if abs(new - alpha) <= 1e-13 * alpha:
            alpha = new
            break
        alpha = new
    return alpha


#: Cells per work item of `_spi`: it is compute-bound (a gamma fit per cell and slot, an
#: incomplete gamma and a normal quantile per value), so small blocks that give every thread
#: work on small grids matter more than long streams.
_SPI_BLOCK = 16


@njit(cache=True, parallel=True)
def _spi(p, scale, b0, b1, bstep, period, phase, min_count, clip, out):  # pragma: no cover
    T, n = p.shape
    nblocks = (n + _SPI_BLOCK - 1) // _SPI_BLOCK
    for b in prange(nblocks):
        j0 = b * _SPI_BLOCK
        m = min(n, j0 + _SPI_BLOCK) - j0
        acc = np.empty((T, m), np.float64)
        tot = np.zeros(m, np.float64)
        bad = np.zeros(m, np.bool_)
        for t in range(T):  # (1) trailing sums, summed afresh (exact zeros stay zero)
            for jj in range(m):
                tot[jj] = 0.0
                bad[jj] = t < scale - 1
            for u in range(max(0, t - scale + 1), t + 1):
                for jj in range(m):
                    v = p[u, j0 + jj]
                    if v == v and v >= 0.0:
                        tot[jj] += v
                    else:
                        bad[jj] = True
            for jj in range(m):
                acc[t, jj] = np.nan if bad[jj] else tot[jj]
        nv = np.zeros((period, m), np.int64)  # (2) baseline statistics per slot
        nz = np.zeros((period, m), np.int64)
        sx = np.zeros((period, m), np.float64)
        slx = np.zeros((period, m), np.float64)
        for t in range(b0, b1, bstep):
            k = (t + phase) % period
            for jj in range(m):
                x = acc[t, jj]
                if x == x:
                    nv[k, jj] += 1
                    if x > 0.0:
                        nz[k, jj] += 1
                        sx[k, jj] += x
                        slx[k, jj] += math.log(x)
        alpha = np.full((period, m), np.nan)
        beta = np.full((period, m), np.nan)
        q = np.full((period, m), np.nan)
        for k in range(period):
            for jj in range(m):
                npos = nz[k, jj]
                if nv[k, jj] < min_count or npos < 2:
                    continue
                mean = sx[k, jj] / npos
                a_stat = math.log(mean) - slx[k, jj] / npos
                if not a_stat > 1e-12:  # (near) constant sample: no gamma fit
                    continue
                al = _gamma_shape(a_stat)
                alpha[k, jj] = al
                beta[k, jj] = mean / al
                q[k, jj] = (nv[k, jj] - npos) / nv[k, jj]
        for t in range(T):  # (3) probabilities -> normal quantiles
            k = (t + phase) % period
            for jj in range(m):
                x = acc[t, jj]
                al = alpha[k, jj]
                if x == x and al == al:
                    h = q[k, jj] + (1.0 - q[k, jj]) * _gammainc(al, x / beta[k, jj])
                    z = _ndtri(h)
                    out[t, j0 + jj] = min(clip, max(-clip, z))
                else:
                    out[t, j0 + jj] = np.nan
    return out


def spi(
    precip: np.ndarray,
    scale: int,
    baseline: slice,
    *,
    period: int = 12,
    phase: int = 0,
    min_count: int = 10,
) -> np.ndarray:
    """Standardized Precipitation Index for an accumulation period of `scale` time steps.

    `precip` is (time,), (time, n) or (time, y, x) precipitation totals per step (any unit,
    e.g. mm/month; >= 0, negative values are treated as missing); result of the same shape and
    dtype (float32/float64; other dtypes become float64), dimensionless, in [-3.09, 3.09].
    `scale` is the accumulation length in steps (1, 3, 6, 12 months): out[t] uses the sum of
    precip[t-scale+1 .. t] and is NaN if any of those is NaN or t < scale-1. Time index t
    belongs to calendar slot (t + phase) % period; per cell and slot, the gamma distribution
    and the probability of zero are fitted over the valid accumulations at indices in
    `baseline` (a slice of the time axis). NaN where a slot has fewer than `min_count` valid
    baseline accumulations, fewer than 2 non-zero ones, or no spread to fit. A zero
    accumulation maps to Phi^-1(q), q the baseline share of zeros.
    """
    if isinstance(scale, bool) or int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be an integer >= 1 (time steps), got {scale!r}")
    if not isinstance(baseline, slice):
        raise TypeError(f"baseline must be a slice of the time axis, got {type(baseline).__name__}")
    if int(period) != period or period < 1:
        raise ValueError(f"period must be an integer >= 1, got {period!r}")
    if int(min_count) != min_count or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    p2, shape = to_time_cells(precip, "precip")
    b0, b1, bstep = baseline.indices(p2.shape[0])
    out = _spi(
        p2,
        int(scale),
        b0,
        b1,
        bstep,
        int(period),
        int(phase) % int(period),
        int(min_count),
        SPI_CLIP,
        np.empty_like(p2),
    )
    return from_time_cells(out, shape)
