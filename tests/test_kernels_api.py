"""The public surface of `kernels`: registry, docstrings, references, pure-Python fallback."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap

import kernels
from kernels import reference
from kernels.registry import BY_NAME, KERNELS


def test_registry_lists_exactly_the_public_api():
    assert sorted(kernels.__all__) == sorted(BY_NAME)
    for spec in KERNELS:
        assert getattr(kernels, spec.name) is spec.func


def test_every_kernel_has_a_documented_reference_with_the_same_signature():
    for spec in KERNELS:
        doc = inspect.getdoc(spec.func)
        assert doc and len(doc.split()) > 40, f"{spec.name}: docstring must say what, units, shapes"
        assert spec.reference is getattr(reference, spec.name)
        fast = inspect.signature(spec.func).parameters
        slow = inspect.signature(spec.reference).parameters
        assert list(fast) == list(slow), spec.name
        for p in fast.values():
            assert repr(p.default) == repr(slow[p.name].default), (spec.name, p.name)
        assert spec.func.__annotations__, f"{spec.name} must be type-annotated"


def test_options_are_keyword_only():
    for spec in KERNELS:
        params = inspect.signature(spec.func).parameters.values()
        for p in params:
            if p.default is not inspect.Parameter.empty:
                assert p.kind is inspect.Parameter.KEYWORD_ONLY, (spec.name, p.name)


JIT_OFF_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import kernels
    from kernels import reference as ref
    from kernels.timeseries import _move_sum_mean
    assert not hasattr(_move_sum_mean, "signatures"), "JIT should be disabled"
    rng = np.random.default_rng(0)
    a = rng.normal(size=(9, 2, 3)).astype(np.float32)
    a[rng.random(a.shape) < 0.2] = np.nan
    lab = rng.integers(-1, 3, size=(2, 3))
    p = rng.gamma(1.5, 20.0, size=(36, 2))
    checks = [
        ("move_mean", (a, 3), {"min_count": 2}),
        ("move_std", (a, 4), {"min_count": 2, "ddof": 1}),
        ("move_max", (a, 4), {"min_count": 1}),
        ("ewm_mean", (a, 0.4), {}),
        ("trend", (a, 4), {"min_count": 2}),
        ("standardized_anomaly", (a, slice(0, 8)), {"period": 3}),
        ("event_decay", ((a > 0).astype(np.float64), 2.0), {}),
        ("zonal_stats", (a, lab, 3), {"stat": "mean"}),
        ("broadcast_regions", (np.arange(3.0), lab), {}),
        ("focal_mean", (a, 1), {"shape": "disk"}),
        ("focal_max", (a, 1), {}),
        ("spatial_lag", (a, 1.5), {}),
        ("spi", (p, 3, slice(0, 36)), {"period": 3, "min_count": 3}),
        ("rasterize_polygons", ([[[(0.1, 0.1), (2.2, 0.3), (1.1, 2.9)]]], np.arange(3) + 0.5,
                                np.arange(3) + 0.5), {}),
    ]
    for name, args, kw in checks:
        got = getattr(kernels, name)(*args, **kw)
        want = getattr(ref, name)(*args, **kw)
        for g, w in zip(got if isinstance(got, tuple) else (got,),
                        want if isinstance(want, tuple) else (want,)):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, equal_nan=True, err_msg=name)
    print("ok", len(checks))
    """
)


def test_pure_python_fallback_matches_reference():
    """The loops are also right as plain Python (NUMBA_DISABLE_JIT=1), so they can be debugged."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    res = subprocess.run(
        [sys.executable, "-c", JIT_OFF_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip() == "ok 14"
