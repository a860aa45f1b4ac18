"""Geography of the synthetic world: grid, land, countries and admin-1 units.

Land is a smooth random field thresholded at the configured land fraction; countries are
Voronoi cells of random land seeds (so they are contiguous blobs), admin-1 units are Voronoi
cells of seeds inside each country, their number proportional to the country's area.
Codes come from the ISO 3166-1 user-assigned range XAA-XZZ, so no code names a real place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import label as connected_components

from riskmodel.config import WorldConfig
from riskmodel.world.fields import field_sigmas, rng_for, smooth_field

_SYLLABLES = ("al", "bar", "cor", "dan", "el", "fen", "gor", "hal", "is", "jor", "kel", "lun",
              "mar", "nor", "os", "pel", "quin", "ros", "sal", "tor", "ul", "ven", "wes", "yar")


@dataclass(frozen=True)
class Geography:
    """Grid coordinates and region rasters (-1 at sea) with their lookup tables."""

    lat: np.ndarray            # (ny,) cell-centre latitudes, ascending, degrees north
    lon: np.ndarray            # (nx,) cell-centre longitudes, ascending, degrees east
    land: np.ndarray           # (ny, nx) bool
    country_id: np.ndarray     # (ny, nx) int32, index into country_codes, -1 at sea
    admin1_id: np.ndarray      # (ny, nx) int32, index into admin1_codes, -1 at sea
    country_codes: list[str]   # ISO 3166-1 alpha-3 user-assigned codes
    country_names: list[str]
    admin1_codes: list[str]    # "<ISO3>-<NN>"
    admin1_names: list[str]
    admin1_country: np.ndarray  # (n_admin1,) int32 index into country_codes


@dataclass(frozen=True)
class Regions:
    """Country and admin-1 Voronoi seeds (grid row, col) with codes and names: enough to
    label any cell, so a tile can be labelled without the rest of the grid."""

    seeds: np.ndarray          # (n_countries, 2) country seeds in draw order
    rank: np.ndarray           # (n_countries,) int32 country index of each seed
    admin1_seeds: np.ndarray   # (n_admin1, 2) admin-1 seeds in admin-1 index order
    admin1_start: np.ndarray   # (n_countries + 1,) first admin-1 index of each country
    country_codes: list[str]
    country_names: list[str]
    admin1_codes: list[str]
    admin1_names: list[str]
    admin1_country: np.ndarray  # (n_admin1,) int32 index into country_codes


def _nearest_seed(cells: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Index of the nearest seed for each cell (both (n, 2) in grid units), chunked for memory
    (about 64 MiB of distances at a time; ties go to the lower seed index)."""
    out = np.empty(len(cells), dtype=np.int32)
    step = max(1024, (1 << 22) // max(1, len(seeds)))
    for i in range(0, len(cells), step):
        d = ((cells[i:i + step, None, :] - seeds[None, :, :]) ** 2).sum(-1)
        out[i:i + step] = d.argmin(1)
    return out


def _name(rng: np.random.Generator) -> str:
    n = int(rng.integers(2, 4))
    return "".join(rng.choice(_SYLLABLES, n)).capitalize()


def label_cells(regions: Regions, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Country and admin-1 index (int32, (n,)) of land `cells` ((n, 2) row, col): the nearest
    country seed, then the nearest admin-1 seed of that country."""
    owner = regions.rank[_nearest_seed(cells, regions.seeds)]
    admin = np.empty(len(cells), dtype=np.int32)
    for c in np.unique(owner):
        idx = np.flatnonzero(owner == c)
        lo, hi = regions.admin1_start[c], regions.admin1_start[c + 1]
        admin[idx] = lo + _nearest_seed(cells[idx], regions.admin1_seeds[lo:hi])
    return owner, admin


def draw_regions(rng: np.random.Generator, names_rng: np.random.Generator, cells: np.ndarray,
                 n_countries: int, n_admin1: int) -> Regions:
    """Draw country seeds among land `cells` ((n, 2) row, col), user-assigned codes, and
    admin-1 seeds inside each country, their number proportional to its share of `cells`."""
    n_land = len(cells)
    n_countries = min(n_countries, n_land)
    seeds = cells[rng.choice(n_land, n_countries, replace=False)]
    owner = _nearest_seed(cells, seeds)
    # Order countries by the position of their seed so codes read west to east, north to south.
    order = np.lexsort((seeds[:, 1], -seeds[:, 0]))
    rank = np.empty(n_countries, dtype=np.int32)
    rank[order] = np.arange(n_countries, dtype=np.int32)
    owner = rank[owner]
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    pool = [f"X{a}{b}" for a in letters for b in letters]
    codes = sorted(rng.choice(pool, n_countries, replace=False).tolist())

    sizes = np.bincount(owner, minlength=n_countries).astype(np.float64)
    # Every country gets at least one admin-1 unit; the rest in proportion to area.
    extra = n_admin1 - n_countries
    alloc = np.ones(n_countries, dtype=np.int64)
    if extra > 0:
        share = sizes / sizes.sum() * extra
        base = np.floor(share).astype(np.int64)
        rem = extra - base.sum()
        base[np.argsort(-(share - base), kind="stable")[:rem]] += 1
        alloc += base
    alloc = np.minimum(alloc, sizes.astype(np.int64))

    admin1_seeds: list[np.ndarray] = []
    admin1_codes: list[str] = []
    admin1_country: list[int] = []
    for c in range(n_countries):
        idx = np.flatnonzero(owner == c)
        k = int(alloc[c])
        sub_seeds = cells[idx[rng.choice(len(idx), k, replace=False)]]
        admin1_seeds.append(sub_seeds[np.lexsort((sub_seeds[:, 1], -sub_seeds[:, 0]))])
        for j in range(k):
            admin1_codes.append(f"{codes[c]}-{j + 1:02d}")
            admin1_country.append(c)

    country_names = [_name(names_rng) for _ in range(n_countries)]
    admin1_names = [_name(names_rng) for _ in range(len(admin1_codes))]
    return Regions(seeds=seeds, rank=rank, admin1_seeds=np.concatenate(admin1_seeds),
                   admin1_start=np.concatenate([[0], np.cumsum(alloc)]).astype(np.int64),
                   country_codes=codes, country_names=country_names,
                   admin1_codes=admin1_codes, admin1_names=admin1_names,
                   admin1_country=np.asarray(admin1_country, dtype=np.int32))


def make_geography(cfg: WorldConfig, seed: int) -> Geography:
    """Build the grid, land mask, countries and admin-1 units for `cfg` and `seed`."""
    rng = rng_for(seed, "geography")
    ny, nx = cfg.ny, cfg.nx
    lat, lon = grid_centres(cfg)

    # Land: a smooth field thresholded at the land fraction, keeping the largest landmass
    # plus islands big enough to host a region, so countries are not scattered specks.
    elev = smooth_field(rng, (ny, nx), sigma=field_sigmas(ny, nx)["elevation"])
    land = elev > np.quantile(elev, 1.0 - cfg.land_fraction)
    comp, n_comp = connected_components(land)
    if n_comp > 1:
        sizes = np.bincount(comp.ravel())[1:]
        keep = np.flatnonzero(sizes >= max(16, 0.02 * land.sum())) + 1
        land = np.isin(comp, keep)

    yy, xx = np.nonzero(land)
    cells = np.column_stack([yy, xx]).astype(np.float64)
    regions = draw_regions(rng, rng_for(seed, "names"), cells, cfg.n_countries, cfg.n_admin1)
    owner, admin = label_cells(regions, cells)
    country_id = np.full((ny, nx), -1, dtype=np.int32)
    country_id[yy, xx] = owner
    admin1_id = np.full((ny, nx), -1, dtype=np.int32)
    admin1_id[yy, xx] = admin
    return Geography(lat=lat, lon=lon, land=land, country_id=country_id, admin1_id=admin1_id,
                     country_codes=regions.country_codes, country_names=regions.country_names,
                     admin1_codes=regions.admin1_codes, admin1_names=regions.admin1_names,
                     admin1_country=regions.admin1_country)


def grid_centres(cfg: WorldConfig) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre latitudes (ny,) and longitudes (nx,) of the world grid, degrees, ascending."""
    res = cfg.resolution
    lat = (cfg.lat0 + res * (np.arange(cfg.ny) + 0.5)).astype(np.float64)
    lon = (cfg.lon0 + res * (np.arange(cfg.nx) + 0.5)).astype(np.float64)
    return lat, lon
