"""The features the input checks read: one month's raw feature values of the land cells.

Both scoring engines (`riskmodel.scale.score.score_months`) hand back the (cells, F)
matrix of the as-of month they scored, so coverage and drift read exactly the values the
models saw, whether the features were built for the whole grid or block by block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from riskmodel.models.table import feature_matrix, land_cells


@dataclass(frozen=True)
class FeatureRows:
    """Raw feature values of the land cells at one month: `values` (cells, F) float32, one
    row per land cell (ascending flat (lat, lon) index), columns in the order of `names`."""

    names: tuple[str, ...]
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(self.names):
            raise ValueError(f"feature rows: values of shape {self.values.shape} for "
                             f"{len(self.names)} feature names")

    def column(self, name: str) -> np.ndarray:
        """The values of feature `name`, one per land cell."""
        return self.values[:, self.names.index(name)]

    @classmethod
    def from_cube(cls, cube: xr.Dataset, month: int, country_id: np.ndarray) -> FeatureRows:
        """The rows of every feature of `cube` at time index `month`, land cells being
        those with `country_id` >= 0."""
        names = tuple(str(n) for n in cube.data_vars)
        return cls(names, feature_matrix(cube, names, month, land_cells(country_id)))
