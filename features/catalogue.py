"""The feature catalogue: one registry of named, documented features.

Every feature has a name, a domain (`climatic`, `economic`, `demographic`, `supervisory`),
the canonical inputs it reads, the kernels that compute it (names in `kernels.registry`,
checked when the feature registers) and its parameters, its spatial halo, units and a
one-line meaning. Domain modules register features with `@feature(...)`; the cube builder,
the CLI listing, the docs, block scoring (`halo_cells`) and the tests all read this one
table.

A feature function takes the canonical inputs (`xarray.Dataset`) and returns a float32
`DataArray` on (time, lat, lon), or on (time, region) in region mode (inputs with no grid,
see `features._apply`). It may read only the variables it declares in `inputs` (a test
enforces it) and, at step t, only data up to t. Features that need the grid itself (cell
areas, neighbours) are marked `grid_only` and skipped in region mode; features that need
calendar months (monthly climatologies, harvest months) are marked `monthly_only` and
skipped on a yearly axis. Parameters in months (`months`, `window`, `half_life`) are
turned into steps of the axis (`features._apply.steps`). A feature whose value
at a cell reads other cells (a neighbourhood kernel) declares its `halo`: how many cells
away it reads, so a block of the grid read with that border computes it exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import xarray as xr

from kernels.registry import BY_NAME as KERNELS_BY_NAME

Domain = Literal["climatic", "economic", "demographic", "supervisory"]
DOMAINS: tuple[Domain, ...] = ("climatic", "economic", "demographic", "supervisory")


@dataclass(frozen=True)
class Feature:
    """One catalogue entry; `compute(inputs, **params)` returns (time, space) float32.

    `kernels` are the `kernels.registry` names the feature computes with, in the order
    applied (empty when it only reshapes or combines its inputs); `halo` is how many cells
    away from a cell its value reads (0 for cell-wise features).
    """

    name: str
    domain: Domain
    inputs: tuple[str, ...]
    kernels: tuple[str, ...]
    params: Mapping[str, Any]
    units: str
    meaning: str
    compute: Callable[..., xr.DataArray] = field(repr=False, compare=False)
    grid_only: bool = False
    halo: int = 0
    monthly_only: bool = False

    @property
    def kernel(self) -> str:
        """The kernels as one label: names joined by `+`, or `none`."""
        return "+".join(self.kernels) or "none"

    def describe(self) -> dict[str, Any]:
        """The entry as plain JSON-able data (for `riskmodel features list --json`)."""
        return {"name": self.name, "domain": self.domain, "inputs": list(self.inputs),
                "kernel": self.kernel, "params": dict(self.params), "units": self.units,
                "meaning": self.meaning, "grid_only": self.grid_only, "halo": self.halo,
                "monthly_only": self.monthly_only}


CATALOGUE: dict[str, Feature] = {}


Halo = int | Callable[[Mapping[str, Any]], int]


def feature(name: str, *, domain: Domain, inputs: tuple[str, ...], kernels: tuple[str, ...],
            units: str, meaning: str, grid_only: bool = False, halo: Halo = 0,
            monthly_only: bool = False, **params: Any) -> Callable[[Callable[..., xr.DataArray]],
                                       Callable[..., xr.DataArray]]:
    """Register the decorated function as feature `name` with its documentation.

    `kernels` names the `kernels.registry` entries it computes with (an unknown name is a
    `ValueError` here, at import). `grid_only` marks features that need the grid itself
    (skipped in region mode), `monthly_only` those that need calendar months (skipped on a
    yearly axis). `halo` is the feature's reach in cells, or a function of its parameters
    giving it. Every other keyword is a parameter passed to the function and
    recorded in the catalogue.
    """
    if domain not in DOMAINS:
        raise ValueError(f"feature {name}: unknown domain {domain!r}")
    kernels = tuple(kernels)
    unknown = [k for k in kernels if k not in KERNELS_BY_NAME]
    if unknown:
        raise ValueError(f"feature {name}: unknown kernel(s) {unknown}; expected names from "
                         f"kernels.registry ({', '.join(sorted(KERNELS_BY_NAME))})")
    cells = halo(params) if callable(halo) else halo
    if isinstance(cells, bool) or not isinstance(cells, int) or cells < 0:
        raise ValueError(f"feature {name}: halo must be an integer >= 0 cells, got {cells!r}")

    def register(fn: Callable[..., xr.DataArray]) -> Callable[..., xr.DataArray]:
        if name in CATALOGUE:
            raise ValueError(f"feature {name} registered twice")
        CATALOGUE[name] = Feature(name, domain, inputs, kernels, params, units, meaning, fn,
                                  grid_only, cells, monthly_only)
        return fn

    return register


def halo_cells(names: Iterable[str] | None = None) -> int:
    """The widest halo (cells) of the catalogue features `names` (all when None): the border
    a block of the grid must be read with for all of them to equal the whole grid's."""
    entries = CATALOGUE.values() if names is None else (CATALOGUE[n] for n in names)
    return max((e.halo for e in entries), default=0)
