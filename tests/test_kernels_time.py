"""Time-axis kernels against their references in `kernels.reference` (hypothesis).

Inputs are small (numba compiles once per dtype; cached in NUMBA_CACHE_DIR) and use values
on a quarter grid, so sums are exact and ties / zero variances are common edge cases.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import kernels
from kernels import reference as ref
from kernels.cases import CASES

VALUES = [np.nan, -2.5, -1.0, -0.25, 0.0, 0.25, 1.0, 1.75, 3.0, 10.0]
SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def time_arrays(draw, max_t: int = 14, elements=None):
    """(time,), (time, n) or (time, y, x) float32/float64 with NaNs, empties, all-NaN."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    ndim = draw(st.sampled_from([1, 2, 3]))
    t = draw(st.integers(0, max_t))
    if ndim == 1:
        shape: tuple[int, ...] = (t,)
    elif ndim == 2:
        shape = (t, draw(st.integers(0, 4)))
    else:
        shape = (t, draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if draw(st.booleans()) and draw(st.booleans()):  # ~1/4: all-NaN
        return np.full(shape, np.nan, dtype)
    elems = st.sampled_from(VALUES) if elements is None else elements
    return draw(hnp.arrays(dtype, shape, elements=elems))


def assert_same(got, want):
    """Same shape and dtype, equal NaN pattern, values within dtype-appropriate tolerance."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same(g, w)
        return
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    tol = 1e-5 if got.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(got, want, rtol=tol, atol=100 * tol, equal_nan=True)


def window_and_min_count(draw, lo: int = 1):
    window = draw(st.integers(max(lo, 1), 16))
    min_count = draw(st.one_of(st.none(), st.integers(lo, window)))
    return window, min_count


MOVES = ["move_mean", "move_sum", "move_min", "move_max"]


@pytest.mark.parametrize("name", MOVES)
@SETTINGS
@given(a=time_arrays(), data=st.data())
def test_move_matches_reference(name, a, data):
    window, min_count = window_and_min_count(data.draw)
    got = getattr(kernels, name)(a, window, min_count=min_count)
    assert_same(got, getattr(ref, name)(a, window, min_count=min_count))


@SETTINGS
@given(a=time_arrays(), data=st.data())
def test_move_std_matches_reference(a, data):
    window, min_count = window_and_min_count(data.draw)
    ddof = data.draw(st.sampled_from([0, 1]))
    got = kernels.move_std(a, window, min_count=min_count, ddof=ddof)
    assert_same(got, ref.move_std(a, window, min_count=min_count, ddof=ddof))


def test_move_std_is_stable_for_large_offsets():
    """Welford with removal: a large mean does not swamp a small spread."""
    rng = np.random.default_rng(0)
    a = 1e6 + rng.normal(size=(200, 3))
    np.testing.assert_allclose(
        kernels.move_std(a, 12, ddof=1), ref.move_std(a, 12, ddof=1), rtol=1e-7
    )


def test_move_std_is_stable_for_drifting_levels():
    """Long series whose level drifts far from where it started, with an all-NaN gap after
    which the series resumes 1e9 higher: sums shifted by a fixed first value (or plain
    sums) lose most digits here; the re-centred shifted sums must not."""
    rng = np.random.default_rng(1)
    t = np.arange(3000, dtype=np.float64)[:, None]
    a = 1e6 + 1e3 * t + rng.normal(scale=[0.5, 50.0], size=(3000, 2))
    a[1500:1600, 0] = np.nan
    a[1600:, 0] += 1e9
    a[rng.random(a.shape) < 0.1] = np.nan
    for window, ddof in ((12, 1), (100, 0)):
        np.testing.assert_allclose(
            kernels.move_std(a, window, min_count=2, ddof=ddof),
            ref.move_std(a, window, min_count=2, ddof=ddof),
            rtol=1e-9,
        )


def test_move_std_for_cells_empty_longer_than_the_first_scan():
    """Cells that start empty for longer than the kernel looks for a first value (sea, or a
    series that begins late), then run at a level far from zero, next to a full cell: the
    late cells must be re-centred when their values arrive."""
    rng = np.random.default_rng(2)
    a = 5e8 + rng.normal(scale=3.0, size=(400, 3))
    a[:300, 0] = np.nan
    a[:399, 1] = np.nan  # one value only, at the very end
    for window in (12, 100):
        np.testing.assert_allclose(kernels.move_std(a, window, min_count=1),
                                   ref.move_std(a, window, min_count=1), rtol=1e-9)


def test_move_std_float32_beyond_float32_squares():
    """float32 values whose squared deviations overflow float32: computed in float64."""
    rng = np.random.default_rng(2)
    a = (rng.normal(size=(40, 3)) * 1e20).astype(np.float32)
    got = kernels.move_std(a, 6, min_count=2)
    assert np.isfinite(got[1:]).all()
    assert_same(got, ref.move_std(a, 6, min_count=2))


@pytest.mark.parametrize("name", ["move_std", "move_min", "move_max", "move_mean"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window", [1, 5, 64, 100])
def test_long_series_match_reference(name, dtype, window):
    """Series much longer than the window (the hypothesis cases are short): many van Herk
    blocks for min/max, several re-centrings of the moving std, an all-NaN stretch."""
    rng = np.random.default_rng(window)
    a = rng.normal(loc=3.0, size=(300, 3)).astype(dtype)
    a[rng.random(a.shape) < 0.2] = np.nan
    a[100:180, 1] = np.nan
    for min_count in (1, max(1, window // 2)):
        got = getattr(kernels, name)(a, window, min_count=min_count)
        assert_same(got, getattr(ref, name)(a, window, min_count=min_count))


def test_float32_time_counts_fall_back_to_float64(monkeypatch):
    """Kernels that count time steps in the input dtype switch to float64 when float32
    could not count them exactly (past 2**24 steps; lowered here to 3 to run small)."""
    from kernels import timeseries

    monkeypatch.setattr(timeseries, "_F32_EXACT", 3)
    rng = np.random.default_rng(3)
    a = rng.normal(size=(20, 4)).astype(np.float32)
    a[rng.random(a.shape) < 0.2] = np.nan
    assert timeseries._exact_counts(a).dtype == np.float64
    assert_same(kernels.move_std(a, 4, min_count=2), ref.move_std(a, 4, min_count=2))
    assert_same(kernels.move_min(a, 4, min_count=1), ref.move_min(a, 4, min_count=1))
    e = (np.nan_to_num(a) > 1.0).astype(np.float32)
    assert_same(kernels.event_decay(e, 2.0), ref.event_decay(e, 2.0))


@SETTINGS
@given(a=time_arrays(), alpha=st.sampled_from([0.1, 0.5, 0.9, 1.0]), k=st.integers(1, 3))
def test_ewm_mean_matches_reference(a, alpha, k):
    assert_same(kernels.ewm_mean(a, alpha, min_count=k), ref.ewm_mean(a, alpha, min_count=k))


def test_ewm_mean_matches_pandas_ignore_na():
    pd = pytest.importorskip("pandas")
    a = np.array([np.nan, 1.0, 2.0, np.nan, np.nan, 5.0, 0.5, np.nan])
    want = pd.Series(a).ewm(alpha=0.3, adjust=True, ignore_na=True, min_periods=1).mean()
    np.testing.assert_allclose(kernels.ewm_mean(a, 0.3), want.to_numpy(), rtol=1e-12)


@SETTINGS
@given(a=time_arrays(), k=st.integers(0, 16))
def test_lag_matches_reference(a, k):
    assert_same(kernels.lag(a, k), ref.lag(a, k))


@SETTINGS
@given(a=time_arrays(), data=st.data())
def test_trend_matches_reference(a, data):
    window, min_count = window_and_min_count(data.draw, lo=2)
    assert_same(
        kernels.trend(a, window, min_count=min_count), ref.trend(a, window, min_count=min_count)
    )


def test_trend_of_a_line_is_its_slope():
    t = np.arange(30, dtype=np.float64)
    a = np.stack([3.0 * t - 7.0, -0.5 * t], axis=1)
    out = kernels.trend(a, 6)
    assert np.isnan(out[:5]).all()
    np.testing.assert_allclose(out[5:], np.broadcast_to([3.0, -0.5], (25, 2)), rtol=1e-12)


def test_trend_is_stable_for_large_levels_and_long_series():
    """A long series (odd length) on a steep trend far from zero, one cell resuming 1e9
    higher after an all-NaN gap, one dropping by 1e12: running sums against the absolute
    time index lost ~3 digits here (relative error 2e-3 at window 12); sums of ages within
    the window and of values re-centred on the window mean must not."""
    rng = np.random.default_rng(5)
    t = np.arange(4001, dtype=np.float64)[:, None]
    a = 1e6 + 1e3 * t + rng.normal(scale=[0.5, 50.0, 1.0], size=(4001, 3))
    a[2000:2100, 0] = np.nan
    a[2100:, 0] += 1e9
    a[3000:, 2] -= 1e12
    a[rng.random(a.shape) < 0.1] = np.nan
    for window in (12, 13, 100):
        np.testing.assert_allclose(
            kernels.trend(a, window, min_count=2),
            ref.trend(a, window, min_count=2),
            rtol=1e-9,
        )


def test_trend_very_long_series_keeps_its_digits():
    """50 000 steps of a wandering level: the add/remove rounding of the running sums would
    build up to ~2e-8 relative error without the periodic exact recomputation."""
    rng = np.random.default_rng(7)
    a = 1e3 + np.cumsum(rng.normal(size=(50_000, 2)), axis=0) * 0.01
    a += rng.normal(size=a.shape)
    a[rng.random(a.shape) < 0.1] = np.nan
    np.testing.assert_allclose(
        kernels.trend(a, 64, min_count=2), ref.trend(a, 64, min_count=2), rtol=1e-9
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window", [2, 5, 64, 100])
@pytest.mark.parametrize("length", [300, 301])
def test_trend_long_series_match_reference(dtype, window, length):
    """Series much longer than the window (the hypothesis cases are short): many periodic
    re-centrings, both parities of length (rows go two at a time), an all-NaN stretch."""
    rng = np.random.default_rng(window + length)
    a = rng.normal(loc=3.0, size=(length, 3)).astype(dtype)
    a[rng.random(a.shape) < 0.2] = np.nan
    a[100:180, 1] = np.nan
    for min_count in (2, max(2, window // 2)):
        got = kernels.trend(a, window, min_count=min_count)
        assert_same(got, ref.trend(a, window, min_count=min_count))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("above", [0, 1])
def test_trend_count_and_age_sums_exact_at_their_float32_bound(dtype, above):
    """Count and age sums are float32 up to a window of _TREND_AGE32 (exact while k * saa <
    2**24) and float64 beyond: both sides of the bound, with full windows (the largest
    sums) in one cell, on a steep line far from zero."""
    from kernels.timeseries import _TREND_AGE32

    window = _TREND_AGE32 + above
    rng = np.random.default_rng(window)
    a = 1e4 + 3.0 * np.arange(400)[:, None] + rng.normal(size=(400, 3))
    a[:, 1:][rng.random((400, 2)) < 0.05] = np.nan
    a = a.astype(dtype)
    for min_count in (2, window):
        got = kernels.trend(a, window, min_count=min_count)
        assert_same(got, ref.trend(a, window, min_count=min_count))


def test_trend_float32_beyond_float32_numerators():
    """float32 values whose slope numerators overflow float32: divided in float64."""
    rng = np.random.default_rng(2)
    a = (rng.normal(size=(41, 3)) * 1e37).astype(np.float32)
    got = kernels.trend(a, 6, min_count=2)
    assert np.isfinite(got[1:]).all()
    assert_same(got, ref.trend(a, 6, min_count=2))


@SETTINGS
@given(
    a=time_arrays(max_t=20),
    start=st.one_of(st.none(), st.integers(-25, 25)),
    stop=st.one_of(st.none(), st.integers(-25, 25)),
    period=st.integers(1, 5),
    phase=st.integers(-6, 6),
    min_count=st.integers(1, 4),
)
def test_standardized_anomaly_matches_reference(a, start, stop, period, phase, min_count):
    kw = dict(period=period, phase=phase, min_count=min_count)
    base = slice(start, stop)
    assert_same(
        kernels.standardized_anomaly(a, base, **kw), ref.standardized_anomaly(a, base, **kw)
    )


@SETTINGS
@given(
    e=time_arrays(elements=st.sampled_from([np.nan, 0.0, 0.0, 0.0, 1.0, 2.0])),
    half_life=st.sampled_from([0.5, 1.0, 3.0, np.inf]),
)
def test_event_decay_matches_reference(e, half_life):
    assert_same(kernels.event_decay(e, half_life), ref.event_decay(e, half_life))


def test_event_decay_half_life_and_months_since():
    e = np.array([0, 1, 0, 0, np.nan, 2, 0], np.float64)
    decayed, since = kernels.event_decay(e, 2.0)
    assert decayed[3] == pytest.approx(0.5)  # one event, two steps later
    np.testing.assert_array_equal(since, [np.nan, 0, 1, 2, 3, 0, 1])


# --------------------------------------------------------------------------- never the future
CAUSAL = [c for c in CASES if c.causal]


@pytest.mark.parametrize("case", CAUSAL, ids=lambda c: c.label)
@settings(max_examples=15, deadline=None)
@given(a=time_arrays(max_t=30), data=st.data())
def test_output_never_uses_the_future(case, a, data):
    if a.shape[0] < 2:
        return
    t = data.draw(st.integers(0, a.shape[0] - 2))
    b = a.copy()
    b[t + 1 :] = 99.0
    params = case.call()  # the case's parameters; its array is replaced by `a` and `b`
    fa = case.spec.func(a, *params.args[1:], **params.kwargs)
    fb = case.spec.func(b, *params.args[1:], **params.kwargs)
    pairs = zip(
        fa if isinstance(fa, tuple) else (fa,), fb if isinstance(fb, tuple) else (fb,), strict=True
    )
    for x, y in pairs:
        np.testing.assert_array_equal(x[: t + 1], y[: t + 1])


# --------------------------------------------------------------------------- SPI
@st.composite
def precip_arrays(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    t = draw(st.integers(0, 48))
    shape = draw(st.sampled_from([(t,), (t, 2), (t, 1, 2)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p = rng.gamma(draw(st.sampled_from([0.5, 2.0, 20.0])), 30.0, size=shape)
    p[rng.random(shape) < draw(st.sampled_from([0.0, 0.3, 0.8]))] = 0.0
    p[rng.random(shape) < draw(st.sampled_from([0.0, 0.05]))] = np.nan
    return p.astype(dtype)


@settings(max_examples=12, deadline=None)
@given(
    p=precip_arrays(),
    scale=st.sampled_from([1, 3, 6, 12]),
    period=st.sampled_from([1, 3, 12]),
    stop=st.one_of(st.none(), st.integers(10, 48)),
    min_count=st.integers(2, 5),
)
def test_spi_matches_scipy_reference(p, scale, period, stop, min_count):
    kw = dict(period=period, min_count=min_count)
    got = kernels.spi(p, scale, slice(0, stop), **kw)
    want = ref.spi(p, scale, slice(0, stop), **kw)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, atol=1e-5, equal_nan=True)
    assert np.all(np.abs(got[~np.isnan(got)]) <= 3.09)


def test_spi_special_functions_match_scipy():
    from scipy import special

    from kernels import drought as spi_mod

    for a in [0.05, 0.3, 1.0, 2.5, 7.0, 30.0, 300.0, 3000.0]:
        for x in [1e-3, 0.1, 1.0, 0.9 * a, a, 1.1 * a, 3 * a + 5]:
            assert spi_mod._gammainc(a, x) == pytest.approx(special.gammainc(a, x), abs=1e-12)
        assert spi_mod._digamma(a) == pytest.approx(special.digamma(a), rel=1e-12, abs=1e-12)
        assert spi_mod._trigamma(a) == pytest.approx(special.polygamma(1, a), rel=1e-11)
    for p in [1e-10, 1e-3, 0.02, 0.3, 0.5, 0.9, 0.99, 0.999]:
        assert spi_mod._ndtri(p) == pytest.approx(special.ndtri(p), abs=1e-10)


def test_spi_of_gamma_data_is_standard_normal():
    rng = np.random.default_rng(1)
    p = rng.gamma(2.0, 40.0, size=(600, 4))
    s = kernels.spi(p, 1, slice(None), period=1)
    assert abs(np.mean(s)) < 0.1 and abs(np.std(s) - 1.0) < 0.1


# --------------------------------------------------------------------------- edges and errors
# One case per time kernel: the table's parameters on arrays of every layout.
TIME_CASES = list({c.kernel: c for c in CASES if c.spec.family == "time"}.values())


@pytest.mark.parametrize("case", TIME_CASES, ids=lambda c: c.kernel)
@pytest.mark.parametrize("shape", [(0,), (0, 3), (5, 0), (0, 2, 2), (1,), (1, 2, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_shapes_and_dtypes(case, shape, dtype):
    params = case.call()
    out = case.spec.func(np.ones(shape, dtype), *params.args[1:], **params.kwargs)
    want_dtype = np.float64 if dtype == np.int64 else dtype
    for o in out if isinstance(out, tuple) else (out,):
        assert o.shape == shape and o.dtype == want_dtype


def test_non_contiguous_input():
    a = np.arange(60, dtype=np.float64).reshape(10, 6)[:, ::2]
    np.testing.assert_array_equal(kernels.move_sum(a, 2), ref.move_sum(a, 2))
    f = np.asfortranarray(np.arange(24.0).reshape(4, 6))
    np.testing.assert_array_equal(
        kernels.move_max(f, 3, min_count=1), ref.move_max(f, 3, min_count=1)
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda a: kernels.move_mean(a, 0),
        lambda a: kernels.move_mean(a, 3, min_count=4),
        lambda a: kernels.move_mean(a, 2.5),
        lambda a: kernels.move_std(a, 3, ddof=-1),
        lambda a: kernels.ewm_mean(a, 0.0),
        lambda a: kernels.lag(a, -1),
        lambda a: kernels.trend(a, 1),
        lambda a: kernels.event_decay(a, 0),
        lambda a: kernels.spi(a, 0, slice(None)),
        lambda a: kernels.move_mean(np.float64(1.0), 1),
    ],
)
def test_bad_arguments_raise(call):
    with pytest.raises(ValueError):
        call(np.ones((4, 2)))


def test_baseline_must_be_a_slice():
    with pytest.raises(TypeError):
        kernels.standardized_anomaly(np.ones((4, 2)), (0, 2))  # type: ignore[arg-type]


def test_one_compilation_per_dtype():
    """N-D, Fortran-ordered and integer inputs reach the compiled loops as C-contiguous 2-D
    float32 or float64: at most one specialisation per float dtype (cache=True then serves
    every later process from NUMBA_CACHE_DIR)."""
    from kernels import timeseries

    rng = np.random.default_rng(4)
    for a in (
        rng.random(10).astype(np.float32),
        rng.random((10, 3, 2)).astype(np.float32),
        np.asfortranarray(rng.random((10, 4))),
        np.arange(20).reshape(10, 2),
    ):
        kernels.move_std(a, 3, ddof=1)
        kernels.move_min(a, 3)
        kernels.move_max(a, 3)
        kernels.event_decay(a, 2.0)
    for func in (timeseries._move_std, timeseries._move_extreme, timeseries._event_decay):
        dtypes = [sig[0].dtype for sig in func.signatures]
        assert len(dtypes) == len(set(dtypes)) <= 2, func.signatures  # no layout variants
