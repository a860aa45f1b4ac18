"""Sub-national region polygons (Global Data Lab's, or any GeoJSON of the same shape): the
frozen `RegionSet` every region-level stage reads.

The reader is `riskmodel.sources.boundaries.read_geojson` with region codes: it refuses a
broken file with one line naming the file, feature and code (invalid JSON, a missing or
malformed code, an iso3 that is not ISO 3166-1 alpha-3, a duplicate code, a geometry that
is not a (Multi)Polygon, coordinates outside WGS 84, rings that cannot enclose anything),
and repairs features that are not OGC-valid (self-crossing rings, holes outside their
shell; about 60 of GDL's simplified outlines) with `shapely.make_valid`, naming them in a
notice: they are regions people live in, and neither refusing the file nor dropping them
would be honest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskmodel.config import BoundariesSource, RunConfig
from riskmodel.errors import ConfigError
from riskmodel.sources.boundaries import read_geojson
from riskmodel.sources.inputs import sources_of
from riskmodel.sources.notices import Notices
from riskmodel.sources.paths import resolve_path


@dataclass(frozen=True)
class RegionSet:
    """Checked sub-national regions, sorted by code: `codes[i]` (e.g. GDL's `AFGr101`) lies
    in country `iso3[i]` (ISO 3166-1 alpha-3), is called `names[i]` ("" when unnamed) and
    has `geometries[i]` (a GeoJSON Polygon or MultiPolygon mapping, WGS 84 lon/lat;
    repaired when the file's was not OGC-valid). `repaired` lists (code, reason) of those;
    `notices` the lines reading the file added (repairs, skipped codes), so whoever is
    handed the set rather than reading the file again can repeat them.
    """

    path: Path
    codes: tuple[str, ...]
    iso3: tuple[str, ...]
    names: tuple[str, ...]
    geometries: tuple[dict[str, Any], ...]
    repaired: tuple[tuple[str, str], ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def countries(self) -> tuple[str, ...]:
        """The distinct ISO alpha-3 codes of the regions, sorted."""
        return tuple(sorted(set(self.iso3)))

    def country_index(self, countries: list[str] | tuple[str, ...]) -> np.ndarray:
        """Each region's index into `countries` (int32, (n_regions,)); KeyError naming a
        region whose country is not listed."""
        at = {c: i for i, c in enumerate(countries)}
        missing = sorted({c for c in self.iso3 if c not in at})
        if missing:
            raise KeyError(f"regions in countries {missing[:5]} not among the countries")
        return np.asarray([at[c] for c in self.iso3], dtype=np.int32)


def read_regions(path: Path, notices: Notices, *, code_property: str = "gdlcode",
                 country_property: str = "iso3", name_property: str | None = "name",
                 skip_codes: tuple[str, ...] = (), repair: bool = True) -> RegionSet:
    """Read and check the region polygons of a GeoJSON FeatureCollection (module
    docstring); repairs and skipped codes are added to `notices`. Raises `InputError`."""
    before = len(notices.lines)
    b = read_geojson(path, code_property, skip_codes, notices,
                     country_property=country_property, name_property=name_property,
                     repair=repair)
    return RegionSet(path, b.codes, b.countries, b.names, b.geometries, b.repaired,
                     tuple(notices.lines[before:]))


def region_set(config: RunConfig, notices: Notices | None = None) -> RegionSet:
    """The regions of a run config: its `[sources] boundaries` input, which must name a
    geojson input with `country_property` (sub-national regions)."""
    src = sources_of(config)
    b = src.inputs.get(src.boundaries) if src.boundaries else None
    if not isinstance(b, BoundariesSource) or b.country_property is None:
        raise ConfigError("[sources] boundaries must name a geojson input with "
                          "country_property (sub-national region polygons) to build regions")
    path = resolve_path(b.path, what=f"input {src.boundaries!r}")
    return read_regions(path, Notices() if notices is None else notices,
                        code_property=b.code_property, country_property=b.country_property,
                        name_property=b.name_property, skip_codes=b.skip_codes,
                        repair=b.repair)
