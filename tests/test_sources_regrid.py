"""kernels.regrid_area_weighted against its dense numpy twin (hypothesis), and the
properties that make it conservative: constants stay constant, area-weighted totals are
kept, NaN cells are skipped."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from kernels.regrid import regrid_reference


def _edges(draw, lo: float, hi: float, lat: bool) -> np.ndarray:
    n = draw(st.integers(1, 7))
    cuts = draw(st.lists(st.floats(lo + 0.01, hi - 0.01), min_size=n - 1, max_size=n - 1,
                         unique=True))
    e = np.array(sorted([lo, *cuts, hi]))
    if np.any(np.diff(e) < 1e-3):
        e = np.linspace(lo, hi, n + 1)
    return e


@st.composite
def cases(draw):
    lat0 = draw(st.floats(-80, 0))
    lat1 = lat0 + draw(st.floats(5, 80))
    lon0 = draw(st.floats(-180, 0))
    lon1 = lon0 + draw(st.floats(5, 180))
    src_y, src_x = _edges(draw, lat0, lat1, True), _edges(draw, lon0, lon1, False)
    # The destination may stick out of the source domain (no source there -> NaN).
    pad = draw(st.floats(0, 3))
    dst_y = _edges(draw, max(-90.0, lat0 - pad), min(90.0, lat1 + pad), True)
    dst_x = _edges(draw, lon0 - pad, lon1 + pad, False)
    shape = (draw(st.integers(1, 3)), src_y.size - 1, src_x.size - 1)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape)
    values[rng.random(shape) < draw(st.floats(0, 0.5))] = np.nan
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return values.astype(dtype), src_y, src_x, dst_y, dst_x


@settings(max_examples=60, deadline=None)
@given(cases())
def test_matches_reference(case) -> None:
    values, sy, sx, dy, dx = case
    fast = kernels.regrid_area_weighted(values, sy, sx, dy, dx)
    slow = regrid_reference(values, sy, sx, dy, dx)
    assert fast.dtype == values.dtype and fast.shape == slow.shape
    rtol = 1e-5 if values.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(fast, slow, rtol=rtol, atol=rtol)


def _area(edges_y: np.ndarray, edges_x: np.ndarray) -> np.ndarray:
    return np.diff(np.sin(np.deg2rad(edges_y)))[:, None] * np.diff(edges_x)[None, :]


@pytest.mark.parametrize("src_n, dst_n", [(4, 12), (12, 4), (5, 7)],
                         ids=["coarse-to-fine", "fine-to-coarse", "unaligned"])
def test_conserves_area_weighted_total(src_n: int, dst_n: int) -> None:
    rng = np.random.default_rng(1)
    sy, sx = np.linspace(-60, 60, src_n + 1), np.linspace(0, 90, src_n + 1)
    dy, dx = np.linspace(-60, 60, dst_n + 1), np.linspace(0, 90, dst_n + 1)
    v = rng.normal(size=(src_n, src_n))
    out = kernels.regrid_area_weighted(v, sy, sx, dy, dx)
    np.testing.assert_allclose((out * _area(dy, dx)).sum(), (v * _area(sy, sx)).sum(),
                               rtol=1e-12)
    const = kernels.regrid_area_weighted(np.full((src_n, src_n), 3.5), sy, sx, dy, dx)
    np.testing.assert_allclose(const, 3.5)


def test_coarse_to_fine_copies_and_nan_cells_are_skipped() -> None:
    v = np.array([[1.0, np.nan], [3.0, 4.0]])
    e = np.array([0.0, 10.0, 20.0])
    out = kernels.regrid_area_weighted(v, e, e, np.linspace(0, 20, 5), np.linspace(0, 20, 5))
    assert np.isnan(out[0:2, 2:4]).all()
    np.testing.assert_allclose(out[2:4, 0:2], 3.0, rtol=1e-14)
    coarse = kernels.regrid_area_weighted(v, e, e, np.array([0.0, 20.0]),
                                          np.array([0.0, 20.0]))
    a = _area(e, e)
    expected = (a[0, 0] * 1 + a[1, 0] * 3 + a[1, 1] * 4) / (a[0, 0] + a[1, 0] + a[1, 1])
    np.testing.assert_allclose(coarse[0, 0], expected)


def test_rejects_bad_edges() -> None:
    v = np.zeros((2, 2))
    e = np.array([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        kernels.regrid_area_weighted(v, e[::-1], e, e, e)
    with pytest.raises(ValueError, match=r"\[-90, 90\]"):
        kernels.regrid_area_weighted(v, np.array([80.0, 90.0, 100.0]), e, e, e)
    with pytest.raises(ValueError, match="does not match"):
        kernels.regrid_area_weighted(np.zeros((3, 2)), e, e, e, e)
