"""Every kernel case of `kernels.cases` against its reference twin, compiled and as plain
Python (`NUMBA_DISABLE_JIT=1`), and the table's coverage of the registry.

The JIT-off check runs this module's `test_case_matches_reference_on_small_grid` in a
subprocess with Numba's JIT disabled; by hand:
`NUMBA_DISABLE_JIT=1 python -m pytest tests/test_kernel_cases.py -k "small_grid or jit"`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.cases import BY_LABEL, CASES, KernelCase
from kernels.registry import BY_NAME, KERNELS

ROOT = Path(__file__).resolve().parents[1]
DTYPES = [np.float32, np.float64]
JIT_OFF = os.environ.get("NUMBA_DISABLE_JIT") == "1"


def check_against_reference(case: KernelCase, shape: tuple[int, int, int], seed: int,
                            dtype: type) -> np.ndarray:
    """The kernel and its reference on the case's inputs: same shapes, dtypes and NaN
    pattern, values within the case's tolerance. Returns the kernel's (first) output."""
    call = case.call(shape, seed, dtype)
    got = case.spec.func(*call.args, **call.kwargs)
    want = case.spec.reference(*call.args, **call.kwargs)
    got_parts = got if isinstance(got, tuple) else (got,)
    want_parts = want if isinstance(want, tuple) else (want,)
    assert len(got_parts) == len(want_parts), case.label
    rtol, atol = case.tolerance(dtype)
    for g, w in zip(got_parts, want_parts, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, (case.label, g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{case.label} {shape} seed={seed}")
    return got_parts[0]


def test_every_registry_kernel_has_a_case() -> None:
    covered = {c.kernel for c in CASES}
    assert [k.name for k in KERNELS if k.name not in covered] == []


def test_cases_name_registry_kernels_once() -> None:
    assert len(BY_LABEL) == len(CASES), "case labels must be unique"
    for case in CASES:
        assert case.kernel in BY_NAME, case.label
        assert case.label.split()[0] == case.kernel, case.label


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_case_matches_reference_on_small_grid(case: KernelCase, dtype: type) -> None:
    """Also the JIT-off check's subset (see the module docstring)."""
    out = check_against_reference(case, case.small, 0, dtype)
    # The small grid is large enough for the parameters to give values (not all NaN/fill).
    assert (out >= 0 if out.dtype.kind == "i" else np.isfinite(out)).any(), case.label


def test_jit_state_matches_environment() -> None:
    """With NUMBA_DISABLE_JIT=1 the kernels run as plain Python; else they are compiled."""
    from kernels.timeseries import _move_sum_mean

    assert numba.config.DISABLE_JIT == JIT_OFF
    assert hasattr(_move_sum_mean, "signatures") != JIT_OFF


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
@settings(max_examples=8, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from(DTYPES))
def test_case_matches_reference_on_random_grids(case: KernelCase, data: st.DataObject,
                                                seed: int, dtype: type) -> None:
    nt, ny, nx = case.small
    shape = (data.draw(st.integers(max(1, nt // 2), nt)), data.draw(st.integers(1, ny)),
             data.draw(st.integers(1, nx)))
    check_against_reference(case, shape, seed, dtype)


@pytest.mark.skipif(JIT_OFF, reason="already running with the JIT off")
def test_pure_python_fallback_matches_reference() -> None:
    """The loops are also right as plain Python: the small-grid cases with the JIT off."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
         "-k", "small_grid or jit_state"],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT, check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    passed = re.search(r"(\d+) passed", res.stdout)
    assert passed and int(passed.group(1)) == len(CASES) * len(DTYPES) + 1, res.stdout[-500:]
