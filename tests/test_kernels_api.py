"""The public surface of `kernels`: registry, docstrings, references (the example calls and
the pure-Python fallback are in test_kernel_cases.py)."""

from __future__ import annotations

import inspect

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
