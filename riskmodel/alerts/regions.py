"""Alert areas from the region risk dataset: one area per scored GDL region and year.

The grid's areas are admin-1 units or clusters of cells (`areas.py`); on the real world the
unit is the sub-national region, scored once a year. `RegionSource` yields the same `Area`
records from the region risk dataset (`riskmodel.regions.risk_dataset`): key and admin-1
scope = the gdlcode, country = its ISO 3166-1 alpha-3 code, risk = the relative risk score
and its interval, drivers from the dataset, and the region's modelled estimate with its
units for the message text. Its polygon is the GDL polygon, simplified for CAP to at most
`max_vertices` positions (CAP receivers handle kilobytes, not the 3,000-vertex coastline of
an Arctic region). `check_partner_regions` refuses a partner scope naming a region the
dataset does not have or one outside the partner's countries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
import xarray as xr
from shapely.geometry import MultiPolygon, shape
from shapely.geometry.polygon import orient

from riskmodel.alerts.areas import Area
from riskmodel.alerts.geometry import Polygon
from riskmodel.alerts.partners import PartnersConfig
from riskmodel.errors import ConfigError, InputError
from riskmodel.regions.risk_dataset import (RATE_UNITS_TEXT, TARGET_NAME,
                                            validate_region_risk)

MAX_VERTICES = 500  # positions per area after simplification (all its polygons together)


def _n_vertices(geom: Any) -> int:
    return int(shapely.get_num_coordinates(geom))


def simplify_geometry(geometry: Mapping[str, Any], max_vertices: int = MAX_VERTICES
                      ) -> list[Polygon]:
    """A GeoJSON Polygon/MultiPolygon (lon, lat) as a list of polygons (exterior then holes,
    exteriors counter-clockwise, rings closed, 5 decimals), simplified with growing
    tolerance (topology preserved) until it has at most `max_vertices` positions."""
    geom = shape(geometry)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(f"region polygon: type {geom.geom_type}; expected Polygon or "
                         f"MultiPolygon")
    tol = 0.005
    while _n_vertices(geom) > max_vertices and tol < 5:
        geom = shapely.simplify(shape(geometry), tol, preserve_topology=True)
        tol *= 2
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    out: list[Polygon] = []
    for p in parts:
        if p.is_empty:
            continue
        p = orient(p, 1.0)
        rings = [p.exterior, *p.interiors]
        out.append([[(round(x, 5), round(y, 5)) for x, y in r.coords] for r in rings])
    return out


class RegionSource:
    """Areas, their history and their polygons from one region risk dataset."""

    def __init__(self, ds: xr.Dataset, polygons: Mapping[str, Mapping[str, Any]],
                 max_vertices: int = MAX_VERTICES) -> None:
        validate_region_risk(ds)
        self.ds = ds
        self.polygons = polygons
        self.max_vertices = max_vertices
        self.codes = [str(c) for c in ds["region"].values]
        self.iso3 = [str(c) for c in ds["iso3"].values]
        self.names = [str(c) for c in ds["region_name"].values]
        cn = ({str(c): str(n) for c, n in zip(ds["country"].values, ds["country_name"].values,
                                              strict=True)}
              if "country_name" in ds.variables else {})
        self.country_names = [cn.get(c, c) for c in self.iso3]
        self.features = [str(f) for f in ds["feature"].values]
        self.domains = ([str(d) for d in ds["feature_domain"].values]
                        if "feature_domain" in ds.variables else [""] * len(self.features))
        missing = [c for c in self.codes if c not in polygons]
        if missing:
            raise InputError(f"region polygons: no polygon for {len(missing)} region(s) of the "
                             f"risk dataset ({', '.join(missing[:5])}); alerts need the area")
        self._geometry: dict[str, list[Polygon]] = {}

    def year(self) -> int:
        """The dataset's as-of year."""
        return int(self.ds.attrs["as_of"])

    def risks(self, target: str, year: int) -> np.ndarray:
        return self.ds["risk"].sel(target=target, year=year).values.astype(np.float64)

    def areas(self, target: str, year: int) -> list[Area]:
        """One area per region scored for `target` in `year` (unscored regions have none, so
        an open alert on a region that lost its score resolves like a vanished area)."""
        ds, sel = self.ds, {"target": target, "year": year}
        risk = self.risks(target, year)
        lo = ds["risk_lo"].sel(sel).values
        hi = ds["risk_hi"].sel(sel).values
        pop = np.nan_to_num(ds["population"].sel(year=year).values.astype(np.float64))
        f = ds["driver_feature"].sel(sel).transpose("rank", "region").values
        c = ds["driver_contrib"].sel(sel).transpose("rank", "region").values
        rate = {k: ds[f"{target}_{k}"].sel(year=year).values
                for k in ("rate", "rate_lo", "rate_hi", "rate_standard_detection")
                if f"{target}_{k}" in ds}
        out = []
        for i in np.flatnonzero(np.isfinite(risk)):
            drivers = tuple((self.features[int(fi)], self.domains[int(fi)], round(float(ci), 4))
                            for fi, ci in zip(f[:, i], c[:, i], strict=True)
                            if fi >= 0 and np.isfinite(ci) and ci != 0)
            est: dict[str, Any] = {k: round(float(v[i]), 4) for k, v in rate.items()
                                   if np.isfinite(v[i])}
            est.update(units=RATE_UNITS_TEXT[target], what=TARGET_NAME[target], year=int(year))
            r = float(risk[i])
            out.append(Area(
                key=self.codes[i], kind="region", target=target, country=self.iso3[i],
                country_name=self.country_names[i], admin1=(self.codes[i],),
                name=self.names[i], risk=r, risk_lo=float(lo[i]), risk_hi=float(hi[i]),
                risk_max=r, population=float(pop[i]), child_population=0.0,
                exposed=float(pop[i]) * r, n_cells=0, drivers=drivers,
                cells=np.zeros(0, dtype=np.int64), estimates=est))
        return out

    def history(self, target: str, year: int, n: int) -> dict[str, list[tuple[str, float]]]:
        """The region risks of the `n` years before `year` that the dataset carries, for the
        rise rule (the store's own record wins for years it has)."""
        years = [int(y) for y in self.ds["year"].values if int(y) < year][-n:]
        out: dict[str, list[tuple[str, float]]] = {}
        for y in years:
            r = self.risks(target, y)
            for i in np.flatnonzero(np.isfinite(r)):
                out.setdefault(self.codes[i], []).append((str(y), float(r[i])))
        return out

    def geometry(self, area: Area) -> list[Polygon]:
        """The area's GDL polygon, simplified (cached per region)."""
        if area.key not in self._geometry:
            self._geometry[area.key] = simplify_geometry(self.polygons[area.key],
                                                         self.max_vertices)
        return self._geometry[area.key]


def check_partner_regions(partners: PartnersConfig, ds: xr.Dataset, source: str) -> None:
    """Raise ConfigError when a partner's `regions` names a code the region risk dataset
    does not have, or a region outside the partner's countries, or when a partner is
    narrowed to admin-1 units (a grid's; region alerts would never reach it)."""
    iso3 = {str(c): str(i) for c, i in zip(ds["region"].values, ds["iso3"].values,
                                            strict=True)}
    for p in partners.partner:
        if p.admin1:
            raise ConfigError(f"{source}: partner {p.id}: `admin1` scopes grid areas; region "
                              f"alerts are scoped with `regions` (GDL codes)")
        for code in p.regions:
            if code not in iso3:
                raise ConfigError(f"{source}: partner {p.id}: region {code!r} is not a GDL "
                                  f"region of the risk dataset")
            if iso3[code] not in p.countries:
                raise ConfigError(f"{source}: partner {p.id}: region {code} is in "
                                  f"{iso3[code]}, not in the partner's countries "
                                  f"({', '.join(p.countries)})")
