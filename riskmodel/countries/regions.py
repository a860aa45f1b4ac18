"""World Bank regions of countries, for leave-one-region-out cross-validation.

Regions come from the `REGION_WB` property of the shipped Natural Earth 1:110m countries
(riskmodel/datasets/natural_earth_110m, see its SOURCE.md), keyed by `ISO_A3_EH`, so
every region fold is a set of whole countries. A country the file does not list is an
error naming it: silently putting it in no region would leak it into every fold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache

from riskmodel.datasets import dataset_path
from riskmodel.errors import InputError

BOUNDARIES = dataset_path("natural_earth_110m/ne_110m_admin_0_countries.geojson")


@lru_cache(maxsize=1)
def _regions() -> dict[str, str]:
    doc = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    out = {}
    for f in doc["features"]:
        p = f["properties"]
        if p.get("ISO_A3_EH") and p["ISO_A3_EH"] != "-99" and p.get("REGION_WB"):
            out[p["ISO_A3_EH"]] = p["REGION_WB"]
    return out


def regions_of(codes: Iterable[str]) -> dict[str, str]:
    """{iso3: World Bank region} for `codes`; `InputError` naming any code without one."""
    table = _regions()
    codes = sorted(set(codes))
    missing = [c for c in codes if c not in table]
    if missing:
        raise InputError(f"{BOUNDARIES}: no REGION_WB for {missing}; leave-one-region-out "
                         f"needs a region for every country with outcome rows")
    return {c: table[c] for c in codes}
