"""Grid -> region reduction: the cos(latitude)-weighted mean of a gridded variable over
each region of a label raster, with `kernels.zonal_stats`.

On a regular lat/lon grid a cell's area is proportional to cos(latitude), so weighting by
it gives the area-weighted mean. Cells with NaN values are skipped; a region with no valid
cell (a small country between cell centres) stays NaN.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

import kernels


def region_means(da: xr.DataArray, labels: np.ndarray, codes: tuple[str, ...],
                 dim: str = "country") -> xr.DataArray:
    """cos(lat)-weighted means of `da` ((lat, lon) or (time, lat, lon)) per region.

    `labels` is the (lat, lon) int32 raster of region indices into `codes` (-1 = none).
    Returns (dim,) or (time, dim) float64 in the units of `da`, NaN for regions without a
    valid cell.
    """
    weights = np.cos(np.deg2rad(da["lat"].values))[:, None] * np.ones(da.sizes["lon"])
    values = np.asarray(da.transpose(..., "lat", "lon").values, dtype=np.float64)
    out = kernels.zonal_stats(values, labels, len(codes), stat="weighted_mean",
                              weights=weights)
    dims = (("time",) if "time" in da.dims else ()) + (dim,)
    coords: dict[str, object] = {dim: list(codes)}
    if "time" in da.dims:
        coords["time"] = da["time"].values
    return xr.DataArray(out, dims=dims, coords=coords, attrs=dict(da.attrs))
