"""Spatial, zonal and rasterisation kernels against `kernels.reference` (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import kernels
from kernels import reference as ref
from kernels import zonal

VALUES = [np.nan, -2.5, -1.0, -0.25, 0.0, 0.25, 1.0, 1.75, 3.0, 10.0]
SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def grids(draw, min_side: int = 1, max_side: int = 8):
    """(y, x) or (time, y, x) float32/float64 with NaNs, sometimes all-NaN."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    ny = draw(st.integers(min_side, max_side))
    nx = draw(st.integers(min_side, max_side))
    shape = (ny, nx) if draw(st.booleans()) else (draw(st.integers(1, 3)), ny, nx)
    if draw(st.integers(0, 5)) == 0:
        return np.full(shape, np.nan, dtype)
    return draw(hnp.arrays(dtype, shape, elements=st.sampled_from(VALUES)))


def assert_same(got, want):
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    tol = 1e-5 if got.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(got, want, rtol=tol, atol=100 * tol, equal_nan=True)


@SETTINGS
@given(
    a=grids(),
    radius=st.integers(0, 10),
    shape=st.sampled_from(["square", "disk"]),
    min_count=st.integers(1, 5),
)
def test_focal_mean_matches_reference(a, radius, shape, min_count):
    kw = dict(shape=shape, min_count=min_count)
    assert_same(kernels.focal_mean(a, radius, **kw), ref.focal_mean(a, radius, **kw))


@SETTINGS
@given(a=grids(), radius=st.integers(0, 10), shape=st.sampled_from(["square", "disk"]))
def test_focal_max_matches_reference(a, radius, shape):
    assert_same(kernels.focal_max(a, radius, shape=shape), ref.focal_max(a, radius, shape=shape))


@SETTINGS
@given(
    a=grids(),
    radius=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.3, 9.0]),
    power=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_spatial_lag_matches_reference(a, radius, power):
    assert_same(
        kernels.spatial_lag(a, radius, power=power), ref.spatial_lag(a, radius, power=power)
    )


@SETTINGS
@given(a=grids(), radius=st.sampled_from([0.0, 1.0, 2.3, 6.0]), data=st.data())
def test_spatial_lag_where_equals_the_whole_grid_there(a, radius, data):
    # Only the masked cells, each the same to the bit as the whole grid's; NaN elsewhere.
    mask = data.draw(hnp.arrays(np.bool_, a.shape[-2:]))
    got = kernels.spatial_lag(a, radius, where=mask)
    whole = kernels.spatial_lag(a, radius)
    assert got.shape == a.shape and got.dtype == whole.dtype
    np.testing.assert_array_equal(got[..., mask], whole[..., mask])
    assert np.isnan(got[..., ~mask]).all()
    assert_same(got, ref.spatial_lag(a, radius, where=mask))


def test_spatial_lag_where_refuses_a_mask_of_another_shape():
    with pytest.raises(ValueError, match=r"bool \(y, x\) mask of shape \(4, 5\)"):
        kernels.spatial_lag(np.zeros((2, 4, 5), np.float32), 2.0, where=np.ones((5, 4), bool))
    with pytest.raises(ValueError, match="bool"):
        kernels.spatial_lag(np.zeros((4, 5), np.float32), 2.0, where=np.ones((4, 5)))


def test_focal_mean_wide_grid_crosses_column_blocks():
    """Grids wider than one work item (256 columns) stitch the halo correctly."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 5, 600))
    a[rng.random(a.shape) < 0.1] = np.nan
    for r in (1, 7):
        for shape in ("square", "disk"):
            assert_same(kernels.focal_mean(a, r, shape=shape), ref.focal_mean(a, r, shape=shape))
        assert_same(kernels.focal_max(a, r), ref.focal_max(a, r))


@pytest.mark.parametrize("fn", [kernels.focal_mean, kernels.focal_max, kernels.spatial_lag])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 2, 2), (2, 0, 4)])
def test_spatial_empty(fn, shape):
    out = fn(np.ones(shape, np.float32), 1)
    assert out.shape == shape and out.dtype == np.float32


# --------------------------------------------------------------------------- zones
@st.composite
def zonal_cases(draw):
    values = draw(grids(max_side=6))
    n_zones = draw(st.integers(0, 4))
    labels = draw(hnp.arrays(np.int32, values.shape[-2:], elements=st.integers(-1, n_zones - 1)))
    weights = draw(
        hnp.arrays(
            np.float64, values.shape[-2:], elements=st.sampled_from([np.nan, 0.0, 0.5, 1.0, 7.0])
        )
    )
    return values, labels, n_zones, weights


@SETTINGS
@given(case=zonal_cases(), stat=st.sampled_from(["sum", "mean", "weighted_mean", "max", "count"]))
def test_zonal_stats_matches_reference(case, stat):
    values, labels, n_zones, weights = case
    w = weights if stat == "weighted_mean" else None
    got = kernels.zonal_stats(values, labels, n_zones, stat=stat, weights=w)
    want = ref.zonal_stats(values, labels, n_zones, stat=stat, weights=w)
    assert got.dtype == np.float64 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
    if stat == "count":
        assert not np.isnan(got).any()


def test_zonal_stats_large_grid_uses_several_chunks():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(2, 300, 300)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    labels = rng.integers(-1, 5, size=(300, 300))
    for stat in ("sum", "mean", "max", "count"):
        got = kernels.zonal_stats(values, labels, 5, stat=stat)
        want = ref.zonal_stats(values, labels, 5, stat=stat)
        np.testing.assert_allclose(got, want, rtol=1e-9)


@SETTINGS
@given(case=zonal_cases(), fill=st.sampled_from([np.nan, -9.0, 0.0]), with_time=st.booleans())
def test_broadcast_regions_matches_reference(case, fill, with_time):
    values, labels, n_zones, _ = case
    rng = np.random.default_rng(n_zones)
    table = rng.normal(size=((3,) if with_time else ()) + (n_zones,)).astype(values.dtype)
    got = kernels.broadcast_regions(table, labels, fill=fill)
    want = ref.broadcast_regions(table, labels, fill=fill)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("blocky", [True, False])
def test_broadcast_regions_long_and_short_label_runs(blocky):
    """Both strategies: painting whole runs (blocky zones) and a per-cell gather (noisy)."""
    rng = np.random.default_rng(5)
    if blocky:
        labels = np.repeat(np.repeat(rng.integers(-1, 4, (4, 3)), 8, axis=0), 16, axis=1)
    else:
        labels = rng.integers(-1, 4, (32, 48))
    runs = np.count_nonzero(np.diff(labels.ravel())) + 1
    assert (labels.size / runs >= zonal._MIN_MEAN_RUN) == blocky
    table = rng.normal(size=(3, 4)).astype(np.float32)
    got = kernels.broadcast_regions(table, labels, fill=-9.0)
    np.testing.assert_array_equal(got, ref.broadcast_regions(table, labels, fill=-9.0))


def test_zonal_round_trip():
    labels = np.array([[0, 0, 1], [-1, 2, 2]])
    table = kernels.zonal_stats(np.arange(6.0).reshape(2, 3), labels, 3, stat="mean")
    np.testing.assert_array_equal(table, [0.5, 2.0, 4.5])
    grid = kernels.broadcast_regions(table, labels)
    np.testing.assert_array_equal(grid, [[0.5, 0.5, 2.0], [np.nan, 4.5, 4.5]])


@pytest.mark.parametrize(
    "call",
    [
        lambda: kernels.zonal_stats(np.ones((2, 2)), np.array([[0, 1], [2, 3]]), 3),
        lambda: kernels.zonal_stats(np.ones((2, 2)), np.array([[0, -2], [0, 0]]), 3),
        lambda: kernels.zonal_stats(np.ones((2, 2)), np.zeros((2, 3), int), 3),
        lambda: kernels.zonal_stats(np.ones((2, 2)), np.zeros((2, 2), int), 1, stat="median"),
        lambda: kernels.zonal_stats(
            np.ones((2, 2)), np.zeros((2, 2), int), 1, stat="weighted_mean"
        ),
        lambda: kernels.broadcast_regions(np.ones(2), np.array([[0, 2]])),
        lambda: kernels.focal_mean(np.ones((3, 3)), -1),
        lambda: kernels.focal_mean(np.ones((3, 3)), 1, shape="hex"),
        lambda: kernels.focal_mean(np.ones(3), 1),
    ],
)
def test_bad_arguments_raise(call):
    with pytest.raises(ValueError):
        call()


def test_zonal_labels_must_be_integers():
    with pytest.raises(TypeError):
        kernels.zonal_stats(np.ones((2, 2)), np.zeros((2, 2)), 1)


# --------------------------------------------------------------------------- rasterise
def _star(rng, cx, cy, r_lo, r_hi, n):
    """A simple (star-shaped) ring around (cx, cy) with radii in [r_lo, r_hi].

    Angles are evenly spread with jitter, so with n >= 6 the ring keeps a disk of radius
    r_lo * cos(pi / 4) around the centre inside (room for a hole).
    """
    ang = (np.arange(n) + rng.uniform(0, 0.5, n)) * (2 * math.pi / n)
    rad = rng.uniform(r_lo, r_hi, n)
    return np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], axis=1)


@st.composite
def polygon_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    geoms = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["poly", "poly_hole", "multi", "geojson", "none"]))
        if kind == "none":
            geoms.append(None)
            continue
        parts = []
        x0, cy = rng.uniform(-5, 25), rng.uniform(-5, 15)
        for k in range(2 if kind == "multi" else 1):
            cx = x0 + 15 * k  # parts 15 apart, radii <= 7: disjoint
            rings = [
                _star(rng, cx, cy, 3, 7, draw(st.integers(6 if kind == "poly_hole" else 3, 12)))
            ]
            if kind == "poly_hole":
                rings.append(_star(rng, cx, cy, 0.3, 1.5, draw(st.integers(3, 8))))
            parts.append(rings)
        if kind == "multi":
            geoms.append(parts)
        elif kind == "geojson":
            geoms.append({"type": "Polygon", "coordinates": [r.tolist() for r in parts[0]]})
        else:
            geoms.append(parts[0])
    nx, ny = draw(st.integers(1, 40)), draw(st.integers(1, 30))
    x = np.sort(rng.uniform(-10, 45, nx))
    x = np.unique(x)
    y = rng.uniform(-10, 25, ny)
    return geoms, x, y


@settings(max_examples=40, deadline=None)
@given(case=polygon_cases())
def test_rasterize_matches_shapely(case):
    pytest.importorskip("shapely")
    geoms, x, y = case
    got = kernels.rasterize_polygons(geoms, x, y)
    want = ref.rasterize_polygons(geoms, x, y)
    assert got.dtype == np.int32 and got.shape == (len(y), len(x))
    np.testing.assert_array_equal(got, want)


def test_rasterize_holes_multipolygons_and_overlap():
    x = np.arange(10) + 0.5
    y = np.arange(6) + 0.5
    square_with_hole = [[(1, 1), (6, 1), (6, 5), (1, 5)], [(2, 2), (4, 2), (4, 4), (2, 4)]]
    multi = {
        "type": "MultiPolygon",
        "coordinates": [
            [[(7, 0), (8, 0), (8, 2), (7, 2), (7, 0)]],
            [[(7, 4), (10, 4), (10, 6), (7, 6)]],
        ],
    }
    later = [[(5, 0), (6, 0), (6, 2), (5, 2)]]
    out = kernels.rasterize_polygons([square_with_hole, multi, later, None], x, y, fill=-1)
    assert out[0, 0] == -1
    assert out[1, 1] == 0 and out[2, 2] == -1 and out[3, 3] == -1 and out[4, 4] == 0
    assert out[0, 7] == 1 and out[1, 7] == 1 and out[3, 7] == -1 and out[5, 9] == 1
    assert out[1, 5] == 2  # zone 2 is painted after zone 0
    assert (out != 3).all()


def test_rasterize_accepts_shapely_geometries():
    shapely_geometry = pytest.importorskip("shapely.geometry")
    poly = shapely_geometry.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2)]])
    out = kernels.rasterize_polygons([poly], np.arange(5) + 0.5, np.arange(5) + 0.5)
    assert out[0, 0] == 0 and out[4, 4] == -1


def test_rasterize_rejects_bad_input():
    with pytest.raises(ValueError):
        kernels.rasterize_polygons([[[(0, 0), (1, 0), (1, 1)]]], np.array([1.0, 0.0]), np.zeros(2))
    with pytest.raises(ValueError):
        kernels.rasterize_polygons(
            [{"type": "Point", "coordinates": [0, 0]}], np.zeros(1), np.zeros(1)
        )
