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


# Sub-national regions are often smaller than a source cell (a 1-degree GPW cell is about
# 111 km across; many GDL regions are cities), so reducing at cell centres would leave them
# NaN. `Supersampled` splits every source cell into sub-cells of about FINE_DEGREES,
# labels the sub-cells with `kernels.rasterize_polygons` and reduces with
# `kernels.zonal_stats`: a region gets the share of each cell its sub-cells cover.
FINE_DEGREES = 0.1
EARTH_KM_PER_DEG = 111.32


class Supersampled:
    """Fractional reduction of (lat, lon) grids to zones (polygons `geometries`, GeoJSON
    mappings) through sub-cells of about `fine` degrees.

    A sub-cell belongs to the zone containing its centre. Means weight each sub-cell by its
    area (cos latitude) and take the value of the source cell it lies in; sums (counts such
    as persons) give each source cell's value to its sub-cells that lie in some zone, in
    proportion to their area, so a coastal cell's count is not lost to the sea and the
    totals over zones equal the totals over cells that touch a zone. Zones without any
    sub-cell centre (smaller than a sub-cell) take the source cell at their representative
    point (sums: times the zone's share of that cell's area); `fallback` lists them.
    Labels are computed once per source grid and kept on the object (in memory only).
    """

    def __init__(self, geometries: tuple[dict, ...], fine: float = FINE_DEGREES) -> None:
        self.geometries = geometries
        self.fine = fine
        self._rasters: dict[tuple, np.ndarray] = {}
        self._points: np.ndarray | None = None
        self._area_deg2: np.ndarray | None = None

    def labels(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, int]:
        """(sub-cell zone labels (ny*k, nx*k) int32, k) for the grid of centres `lat`,
        `lon` (regular, ascending)."""
        res = float(lat[1] - lat[0]) if lat.size > 1 else 1.0
        k = max(1, int(round(res / self.fine)))
        flat = _sub_centres(lat, k)
        flon = _sub_centres(lon, k)
        # Keyed by the sub-cells: grids of different cells on one sub-grid (GPW's 1 degree,
        # HadCRUT's 5) share one rasterisation.
        key = (round(float(flat[0]), 6), flat.size, round(float(flat[-1]), 6),
               round(float(flon[0]), 6), flon.size, round(float(flon[-1]), 6))
        if key not in self._rasters:
            self._rasters[key] = kernels.rasterize_polygons(list(self.geometries), flon, flat)
        return self._rasters[key], k

    def _sub_weights(self, lat: np.ndarray, k: int) -> np.ndarray:
        return np.cos(np.deg2rad(_sub_centres(lat, k)))

    @staticmethod
    def _fallback(found: np.ndarray, zone_of: np.ndarray | None) -> np.ndarray:
        """Indices of zones without a sub-cell centre that have a polygon (a coarse zone
        without any polygon stays NaN)."""
        has = np.ones(found.shape, bool)
        if zone_of is not None:
            has = np.isin(np.arange(found.size), np.asarray(zone_of))
        return np.flatnonzero(~found & has)

    def _points_and_areas(self) -> tuple[np.ndarray, np.ndarray]:
        import shapely
        from shapely.geometry import shape
        if self._points is None or self._area_deg2 is None:
            geoms = [shape(g) for g in self.geometries]
            pts = shapely.point_on_surface(geoms)
            self._points = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
            self._area_deg2 = np.asarray(shapely.area(geoms), float)
        return self._points, self._area_deg2

    def _cell_of(self, zones: np.ndarray, lat: np.ndarray,
                 lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, zone area / cell area) of the source cell at each zone's
        representative point."""
        pts, area = self._points_and_areas()
        res_y = float(lat[1] - lat[0]) if lat.size > 1 else 1.0
        res_x = float(lon[1] - lon[0]) if lon.size > 1 else 1.0
        i = np.clip(np.floor((pts[zones, 1] - (lat[0] - res_y / 2)) / res_y), 0,
                    lat.size - 1).astype(int)
        j = np.clip(np.floor((pts[zones, 0] - (lon[0] - res_x / 2)) / res_x), 0,
                    lon.size - 1).astype(int)
        share = np.minimum(1.0, area[zones] / (res_x * res_y))
        return i, j, share

    def means(self, values: np.ndarray, lat: np.ndarray, lon: np.ndarray,
              n_zones: int, zone_of: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                      np.ndarray]:
        """(area-weighted means (n_zones,), indices of fallback zones) of a (lat, lon)
        grid. `zone_of` maps the polygons' indices to coarser zones (e.g. regions to
        countries; -1 = none), whose means then cover all their polygons."""
        lab, k = self.labels(lat, lon)
        lab = lab if zone_of is None else _map_labels(lab, zone_of)
        up = np.repeat(np.repeat(np.asarray(values, np.float64), k, 0), k, 1)
        w = np.broadcast_to(self._sub_weights(lat, k)[:, None], up.shape)
        out = kernels.zonal_stats(up, lab, n_zones, stat="weighted_mean",
                                  weights=np.ascontiguousarray(w))
        missing = self._fallback(kernels.zonal_stats(np.ones_like(up), lab, n_zones,
                                                     stat="count") > 0, zone_of)
        if missing.size:
            poly = missing if zone_of is None else _first_polygon(zone_of, missing)
            i, j, _ = self._cell_of(poly, lat, lon)
            out[missing] = np.asarray(values, np.float64)[i, j]
        return out, missing

    def sums(self, values: np.ndarray, lat: np.ndarray, lon: np.ndarray, n_zones: int,
             zone_of: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
        """(sums (n_zones,), indices of fallback zones, share of the grid's total given to
        zones) of a (lat, lon) grid of counts; `zone_of` as for `means`."""
        lab, k = self.labels(lat, lon)
        lab = lab if zone_of is None else _map_labels(lab, zone_of)
        v = np.asarray(values, np.float64)
        w = np.broadcast_to(self._sub_weights(lat, k)[:, None], lab.shape) * (lab >= 0)
        ny, nx = v.shape
        land = w.reshape(ny, k, nx, k).sum(axis=(1, 3))  # zone-covered weight per cell
        with np.errstate(invalid="ignore", divide="ignore"):
            per_weight = np.where(land > 0, v / land, np.nan)
        up = np.repeat(np.repeat(per_weight, k, 0), k, 1) * w
        out = kernels.zonal_stats(up, lab, n_zones, stat="sum")
        total = float(np.nansum(v))
        given = float(np.nansum(out))
        counted = kernels.zonal_stats(np.ones(lab.shape), lab, n_zones, stat="count") > 0
        out[counted & np.isnan(out)] = 0.0  # zones only over no-data cells (sea): none
        missing = self._fallback(counted, zone_of)
        if missing.size:
            poly = missing if zone_of is None else _first_polygon(zone_of, missing)
            i, j, share = self._cell_of(poly, lat, lon)
            out[missing] = v[i, j] * share
        return out, missing, (given / total if total else float("nan"))

    def areas_km2(self, lat: np.ndarray, lon: np.ndarray, n_zones: int,
                  zone_of: np.ndarray | None = None) -> np.ndarray:
        """Area of each zone in km^2 from its sub-cells (fallback zones: from the polygon,
        degrees^2 times cos(latitude))."""
        lab, k = self.labels(lat, lon)
        lab = lab if zone_of is None else _map_labels(lab, zone_of)
        res = float(lat[1] - lat[0]) / k if lat.size > 1 else self.fine
        cell = (EARTH_KM_PER_DEG * res) ** 2 * self._sub_weights(lat, k)[:, None]
        out = kernels.zonal_stats(np.ascontiguousarray(
            np.broadcast_to(cell, lab.shape)), lab, n_zones, stat="sum")
        missing = self._fallback(np.isfinite(out), zone_of)
        if missing.size:
            pts, area = self._points_and_areas()
            poly = missing if zone_of is None else _first_polygon(zone_of, missing)
            out[missing] = (area[poly] * EARTH_KM_PER_DEG ** 2
                            * np.cos(np.deg2rad(pts[poly, 1])))
        return out


def _sub_centres(centres: np.ndarray, k: int) -> np.ndarray:
    """Centres of the k sub-cells of each cell of a regular ascending axis."""
    c = np.asarray(centres, np.float64)
    step = float(c[1] - c[0]) if c.size > 1 else 1.0
    offsets = (np.arange(k) + 0.5) / k * step - step / 2
    return (c[:, None] + offsets[None, :]).ravel()


def _map_labels(labels: np.ndarray, zone_of: np.ndarray) -> np.ndarray:
    """Polygon labels mapped to coarser zones (-1 stays -1)."""
    table = np.append(np.asarray(zone_of, np.int32), np.int32(-1))
    return table[labels]  # label -1 indexes the appended -1


def _first_polygon(zone_of: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """For each coarse zone, the first polygon mapped to it (the largest would be better
    but a zone without any sub-cell has only small polygons)."""
    first = {}
    for p, z in enumerate(np.asarray(zone_of)):
        first.setdefault(int(z), p)
    return np.asarray([first[int(z)] for z in zones], dtype=int)
