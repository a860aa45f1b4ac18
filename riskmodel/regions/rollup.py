"""Population-weighted roll-up of region values to countries."""

from __future__ import annotations

import numpy as np
import xarray as xr


def rollup_to_countries(values: xr.DataArray, population: xr.DataArray,
                        iso3: xr.DataArray | None = None) -> xr.DataArray:
    """Population-weighted mean of `values` (..., region) over each country's regions.

    `population` (persons) is (region,) or broadcastable against `values` (e.g. (year,
    region)); `iso3` (region,) gives each region's country (default: the `iso3` coordinate
    of `values`). Regions with a NaN value or a NaN or non-positive population are left
    out; a country none of whose regions is left is NaN. Returns (..., country) float64
    with the countries sorted, attrs of `values` kept (units unchanged)."""
    if iso3 is None:
        if "iso3" not in values.coords:
            raise ValueError("values has no iso3 coordinate; pass iso3")
        iso3 = values["iso3"]
    codes = np.asarray([str(c) for c in np.asarray(iso3)])
    countries = sorted(set(codes))
    index = np.searchsorted(countries, codes)
    w = population.where(population > 0).broadcast_like(values)
    ok = values.notnull() & w.notnull()
    wv = (values * w).where(ok, 0.0).transpose(..., "region").values.astype(np.float64)
    ww = w.where(ok, 0.0).transpose(..., "region").values.astype(np.float64)
    lead = wv.shape[:-1]
    num = np.zeros((*lead, len(countries)))
    den = np.zeros((*lead, len(countries)))
    for k in range(len(countries)):  # few hundred countries; vectorised over the rest
        cols = index == k
        num[..., k] = wv[..., cols].sum(axis=-1)
        den[..., k] = ww[..., cols].sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    dims = (*[d for d in values.transpose(..., "region").dims if d != "region"], "country")
    coords = {d: values[d] for d in dims[:-1] if d in values.coords}
    coords["country"] = countries
    return xr.DataArray(out, dims=dims, coords=coords, attrs=dict(values.attrs))
