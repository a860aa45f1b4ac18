"""A small region risk dataset for the region-output tests: 10 real GDL polygons (Ghana,
Togo, two Russian federal districts, one of them across the antimeridian) with made-up
numbers from a seeded generator, three years, one region unscored per target."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.datasets import dataset_path
from riskmodel.regions.risk_dataset import TargetEstimate, assemble_region_risk

CODES = ("GHAr101", "GHAr102", "GHAr103", "GHAr104", "GHAr105", "TGOr101", "TGOr102",
         "TGOr103", "RUSr107", "RUSr108")
YEARS = (2017, 2018, 2019)
FEATURES = ("msch", "lgnic", "conflict_active", "pop_density")
FEATURE_NAMES = ("mean years of schooling, adults 25+", "log GNI per capita",
                 "active armed conflict", "population density")


@lru_cache(maxsize=1)
def _all_features() -> tuple[dict[str, Any], ...]:
    path = dataset_path("gdl_subnational/gdl_regions.geojson")
    return tuple(json.loads(path.read_text(encoding="utf-8"))["features"])


def polygons(codes: tuple[str, ...] = CODES) -> dict[str, dict[str, Any]]:
    """gdlcode -> GeoJSON geometry of the shipped GDL polygons for `codes`."""
    return {f["properties"]["gdlcode"]: f["geometry"] for f in _all_features()
            if f["properties"]["gdlcode"] in codes}


def names(codes: tuple[str, ...] = CODES) -> tuple[list[str], list[str]]:
    by = {f["properties"]["gdlcode"]: f["properties"] for f in _all_features()}
    return [by[c]["iso3"] for c in codes], [by[c]["name"] or c for c in codes]


def estimate(rng: np.random.Generator, scale: float, unscored: tuple[int, ...],
             model_id: str, units: str, standard: bool = False) -> TargetEstimate:
    ny, nr = len(YEARS), len(CODES)
    rate = rng.gamma(2.0, scale, size=(ny, nr))
    # A rise over the years in region 0, so the rise rule has something to see.
    rate[:, 0] = scale * np.array([1.0, 2.0, 6.0])
    lo, hi = rate * 0.7, rate * 1.4
    reasons = np.full((ny, nr), "", dtype=object)
    for r in unscored:
        rate[:, r] = lo[:, r] = hi[:, r] = np.nan
        reasons[:, r] = "no outcome-model inputs for this country"
    feat = np.tile(np.array([0, 2, -1])[None, :, None], (ny, 1, nr)).astype(np.int16)
    contrib = rng.normal(0, 1, size=(ny, 3, nr)).astype(np.float32)
    contrib[:, 2] = np.nan
    std = (rate * 0.8, lo * 0.8, hi * 0.8) if standard else None
    return TargetEstimate(rate=rate, lo=lo, hi=hi, driver_feature=feat, driver_contrib=contrib,
                          reasons=reasons.astype(str), model_id=model_id,
                          contrib_units=units, standard=std)


def region_risk(seed: int = 7) -> xr.Dataset:
    """The fixture dataset (as_of 2019)."""
    rng = np.random.default_rng(seed)
    iso3, nm = names()
    cl = estimate(rng, 5.0, (7,), "cl-test0001", "percentage points")
    fl = estimate(rng, 2.0, (8,), "fl-test0001", "per 100,000", standard=True)
    pop = rng.uniform(2e5, 5e6, size=(len(YEARS), len(CODES)))
    return assemble_region_risk(
        years=YEARS, regions=CODES, iso3=iso3, region_name=nm, features=FEATURES,
        feature_long_name=FEATURE_NAMES, population=pop, estimates={"cl": cl, "fl": fl},
        country_name={"GHA": "Ghana", "TGO": "Togo", "RUS": "Russian Federation"},
        feature_domain=("demographic", "economic", "conflict", "demographic"),
        as_of=2019, config_hash="cfg0123", code_version="test", history="made in tests")
