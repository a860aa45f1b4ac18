"""Smooth random fields drawn on a coarse lattice and read at any cell by bilinear
interpolation: the random fields of the tiled world (`riskmodel.world.tiled`).

A tiled world needs every field as a function of global cell coordinates, so that a tile
can be generated alone and agree exactly with its neighbours. A field of length scale
`sigma` cells is drawn on a lattice of spacing `step = max(1, sigma // 3)` cells by the
whole-grid generator's own `smooth_field` / `ar1_fields` (length scale `sigma / step`
lattice spacings), once for the whole grid; a cell is then a bilinear mix of its four
nodes, the same number whichever tile asks. At 0.1 degree the finest lattice (sigma 6) has
901 x 1801 nodes, the coarsest (the land field, sigma 360) 17 x 32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.world.fields import ar1_fields, smooth_field


@dataclass(frozen=True)
class LatticeField:
    """A standardised random field on lattice nodes; node k of an axis lies at fine cell
    coordinate k * step + (step - 1) / 2."""

    values: np.ndarray  # (rows, cols) or (time, rows, cols) nodes, float64
    step: int           # fine cells per lattice spacing


def lattice_step(sigma: float) -> int:
    """Lattice spacing (cells) for a field of length scale `sigma` cells: about three
    lattice spacings per sigma, so bilinear interpolation keeps the field smooth."""
    return max(1, int(sigma // 3))


def lattice_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float,
                  n_time: int | None = None, rho: float = 0.0) -> LatticeField:
    """A standardised field of length scale `sigma` cells over a grid of `shape` cells:
    static (y, x) when `n_time` is None, else `n_time` months AR(1) in time with `rho`."""
    step = lattice_step(sigma)
    nodes = (shape[0] // step + 2, shape[1] // step + 2)
    if n_time is None:
        values = smooth_field(rng, nodes, sigma=sigma / step)
    else:
        values = ar1_fields(rng, n_time, nodes, sigma=sigma / step, rho=rho)
    return LatticeField(values=values, step=step)


def _axis_weights(index: np.ndarray, step: int, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Lower node and weight of the upper node for fine cells `index` along one axis."""
    u = (index - (step - 1) / 2.0) / step
    k = np.clip(np.floor(u).astype(np.int64), 0, n_nodes - 2)
    return k, np.clip(u - k, 0.0, 1.0)


def sample(field: LatticeField, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The field at the cells `rows` x `cols` (global indices, ascending): (len(rows),
    len(cols)) or (time, len(rows), len(cols)) float64.

    Element-wise arithmetic only (no BLAS), so a cell's value does not depend on which
    other cells are asked for with it.
    """
    v = field.values
    kr, wr = _axis_weights(np.asarray(rows), field.step, v.shape[-2])
    kc, wc = _axis_weights(np.asarray(cols), field.step, v.shape[-1])
    lo, hi = int(kc.min()), int(kc.max()) + 2  # only the node columns these cells touch
    part = v[..., lo:hi]
    kc = kc - lo
    wr2 = wr[:, None]
    by_row = (1.0 - wr2) * part[..., kr, :] + wr2 * part[..., kr + 1, :]
    return (1.0 - wc) * by_row[..., kc] + wc * by_row[..., kc + 1]
