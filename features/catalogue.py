"""The feature catalogue: one registry of named, documented features.

Every feature has a name, a domain (`climatic`, `economic`, `demographic`, `supervisory`),
the canonical inputs it reads, the kernel that computes it and its parameters, units and a
one-line meaning. Domain modules register features with `@feature(...)`; the cube builder,
the CLI listing, the docs and the tests all read this one table.

A feature function takes the canonical inputs (`xarray.Dataset`) and returns a float32
`DataArray` on (time, lat, lon), or on (time, region) in region mode (inputs with no grid,
see `features._apply`). It may read only the variables it declares in `inputs` (a test
enforces it) and, at month t, only data up to t. Features that need the grid itself (cell
areas, neighbours) are marked `grid_only` and skipped in region mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import xarray as xr

Domain = Literal["climatic", "economic", "demographic", "supervisory"]
DOMAINS: tuple[Domain, ...] = ("climatic", "economic", "demographic", "supervisory")


@dataclass(frozen=True)
class Feature:
    """One catalogue entry; `compute(inputs, **params)` returns (time, space) float32."""

    name: str
    domain: Domain
    inputs: tuple[str, ...]
    kernel: str
    params: Mapping[str, Any]
    units: str
    meaning: str
    compute: Callable[..., xr.DataArray] = field(repr=False, compare=False)
    grid_only: bool = False

    def describe(self) -> dict[str, Any]:
        """The entry as plain JSON-able data (for `riskmodel features list --json`)."""
        return {"name": self.name, "domain": self.domain, "inputs": list(self.inputs),
                "kernel": self.kernel, "params": dict(self.params), "units": self.units,
                "meaning": self.meaning, "grid_only": self.grid_only}


CATALOGUE: dict[str, Feature] = {}


def feature(name: str, *, domain: Domain, inputs: tuple[str, ...], kernel: str, units: str,
            meaning: str, grid_only: bool = False,
            **params: Any) -> Callable[[Callable[..., xr.DataArray]],
                                       Callable[..., xr.DataArray]]:
    """Register the decorated function as feature `name` with its documentation.

    `grid_only` marks features that need the grid itself (skipped in region mode); every
    other keyword is a parameter passed to the function and recorded in the catalogue.
    """
    if domain not in DOMAINS:
        raise ValueError(f"feature {name}: unknown domain {domain!r}")

    def register(fn: Callable[..., xr.DataArray]) -> Callable[..., xr.DataArray]:
        if name in CATALOGUE:
            raise ValueError(f"feature {name} registered twice")
        CATALOGUE[name] = Feature(name, domain, inputs, kernel, params, units, meaning, fn,
                                  grid_only)
        return fn

    return register
