"""What a region cube covers: counts for a report or manifest, and the regions without
features with the reason, so no region disappears from a night's outputs unexplained."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr


def _feature_names(cube: xr.Dataset) -> list[str]:
    if "feature_names" in cube.attrs:
        return list(json.loads(cube.attrs["feature_names"]))
    return [str(v) for v in cube.data_vars if v != "population"]


def _finite(cube: xr.Dataset, names: list[str], year: int) -> np.ndarray:
    """(feature, unit) bool: finite values in `year`."""
    unit = [d for d in cube.dims if d != "year"][0]
    return np.stack([np.isfinite(cube[n].sel(year=year).transpose(unit).values)
                     for n in names]) if names else np.zeros((0, cube.sizes[unit]), bool)


def regions_without_features(cube: xr.Dataset, year: int | None = None) -> list[dict[str, str]]:
    """The regions of a region cube with no finite feature in `year` (default: the last),
    each as {"region", "iso3", "name", "reason"}; the reason says which inputs are absent
    for the region's country."""
    year = int(cube["year"].values[-1]) if year is None else int(year)
    names = _feature_names(cube)
    ok = _finite(cube, names, year).any(axis=0)
    out = []
    for i in np.flatnonzero(~ok):
        code = str(cube["region"].values[i])
        iso = str(cube["iso3"].values[i]) if "iso3" in cube.coords else ""
        name = str(cube["region_name"].values[i]) if "region_name" in cube.coords else ""
        out.append({"region": code, "iso3": iso, "name": name,
                    "reason": f"no input has a value for the region or its country {iso} "
                              f"in {year} (no sub-national rows, and {iso} is in no country "
                              f"table)"})
    return out


def coverage_facts(cube: xr.Dataset, year: int | None = None) -> dict[str, Any]:
    """Coverage of a region or country cube in `year` (default: the last) as plain JSON:
    units and countries with at least one feature, years, the share of features each unit
    has, and per feature the number of units with a value."""
    year = int(cube["year"].values[-1]) if year is None else int(year)
    unit = [d for d in cube.dims if d != "year"][0]
    names = _feature_names(cube)
    finite = _finite(cube, names, year)
    has_any = finite.any(axis=0)
    countries = (cube["iso3"].values if "iso3" in cube.coords
                 else cube[unit].values)
    facts: dict[str, Any] = {
        "level": unit, "year": year,
        "years": [int(cube["year"].values[0]), int(cube["year"].values[-1])],
        "units": int(cube.sizes[unit]),
        "units_with_features": int(has_any.sum()),
        "countries_with_features": int(len({str(c) for c, h in zip(countries, has_any,
                                                                   strict=True) if h})),
        "features": len(names),
        "median_feature_share": float(np.median(finite.mean(axis=0))) if names else 0.0,
        "units_per_feature": {n: int(finite[k].sum()) for k, n in enumerate(names)},
    }
    if unit == "region":
        facts["regions_without_features"] = regions_without_features(cube, year)
        if "unmatched_region_codes" in cube.attrs:
            facts["unmatched_region_codes"] = json.loads(cube.attrs["unmatched_region_codes"])
    return facts
