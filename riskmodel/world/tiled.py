"""The synthetic world generated tile by tile, for grids too large for memory (the global
0.1-degree world): every value is a function of global cell coordinates, so any window of
rows and columns can be generated alone and adjacent windows agree exactly.

`plan_world` draws everything global once, all of it small: the random fields on coarse
lattices (`riskmodel.world.lattice`), drought episodes, towns, country and admin-1 seeds,
the country and admin-1 tables (economy, supervision, crises). The constants the
whole-grid generator takes from the whole grid (the land threshold, the z-score moments,
the label-rate scale of the truth) come from the same formulas evaluated on a regular
sample of about 200 000 cells (every cell when the grid is smaller). `world_window` then
computes a window with the equations of `make_climate`, `make_economy`,
`make_demography` and `make_truth`; Poisson and binomial case counts are drawn per fixed
noise tile of `noise_tile` cells from a Generator seeded by (seed, target, tile), so
windows aligned to noise tiles assemble exactly the draws of the whole grid.

Not the same world as `make_world` for the same config (that one smooths white noise on
the grid itself and keeps only large islands); the same variables, units and formulas, and
similar distributions (tests/test_world_tiled.py compares them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from riskmodel.config import WorldConfig
from riskmodel.contract import VARIABLES
from riskmodel.errors import ConfigError
from riskmodel.world.drivers import (
    ANOMALY_RHO,
    cell_area_factor,
    climate_from,
    crop_share_from,
    demography_from,
    demography_norms,
    draw_crises,
    draw_droughts,
    draw_towns,
    economy_tables,
    n_towns,
    town_bump,
)
from riskmodel.world.fields import STREAMS, field_sigmas, rng_for
from riskmodel.world.geography import Regions, draw_regions, label_cells
from riskmodel.world.lattice import LatticeField, lattice_field, sample
from riskmodel.world.supervision import Supervision, make_supervision
from riskmodel.world.truth import (
    LABEL_RATE,
    _solve_scale,
    draw_cases,
    draw_surveys,
    expected_cases,
    latent_risk,
    truth_arrays,
    truth_norms,
)

NOISE_TILE = 50          # cells per edge of a noise tile (case-count draws)
SAMPLE_CELLS = 200_000   # cells in the sample that sets the world's global constants
TOWN_REACH = 6.0         # a town's bump is cut beyond this many radii (exp(-18) ~ 1.5e-8)
TARGETS = ("fl", "cl")
# The gridded drivers (the truth variables come from `truth_arrays`).
GRID_DRIVERS = tuple(name for name, var in VARIABLES.items() if var.role == "driver"
                     and "lat" in var.dims)


@dataclass(frozen=True)
class TiledWorld:
    """Everything global about a tiled world; `world_window` computes any window from it."""

    cfg: WorldConfig
    seed: int
    fields: dict[str, LatticeField]
    land_threshold: float
    regions: Regions
    droughts: list[tuple[int, int, float, float, float]]
    towns: list[tuple[int, int, float, float]]
    tables: dict[str, np.ndarray]          # (time, country), (time, admin1) or (time,)
    supervision: Supervision
    noise_tile: int = NOISE_TILE
    norms: dict[str, tuple[float, float]] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)


def sample_axes(ny: int, nx: int, cells: int = SAMPLE_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the regular sample that sets a world's global constants: every
    `stride`-th cell each way, `stride` the smallest giving at most `cells` cells."""
    stride = max(1, math.ceil(math.sqrt(ny * nx / cells)))
    return np.arange(stride // 2, ny, stride), np.arange(stride // 2, nx, stride)


def plan_world(cfg: WorldConfig, seed: int, noise_tile: int = NOISE_TILE,
               sample_cells: int = SAMPLE_CELLS) -> TiledWorld:
    """Draw the global part of the tiled world for `cfg` and `seed` and set its constants
    on the regular sample (`sample_axes`). Memory: the lattices (about 100 MB at 0.1
    degree) and the sample, independent of how the grid is later tiled."""
    if cfg.scenario != "well-specified":
        raise ConfigError(f"[world] scenario = {cfg.scenario!r}: scenario worlds are "
                          f"generated whole (riskmodel world); the tiled generator makes "
                          f"the well-specified world only")
    ny, nx, nt = cfg.ny, cfg.nx, cfg.n_months
    sig = field_sigmas(ny, nx)
    geo_rng = rng_for(seed, "geography")
    fields = {"elevation": lattice_field(geo_rng, (ny, nx), sig["elevation"])}
    climate_rng = rng_for(seed, "climate")
    for name in ("t_base", "t_anom", "p_base", "p_anom"):
        anomaly = name in ANOMALY_RHO
        fields[name] = lattice_field(climate_rng, (ny, nx), sig[name],
                                     n_time=nt if anomaly else None,
                                     rho=ANOMALY_RHO.get(name, 0.0))
    droughts = draw_droughts(climate_rng, nt, ny, nx)

    rows, cols = sample_axes(ny, nx, sample_cells)
    elev = sample(fields["elevation"], rows, cols)
    threshold = float(np.quantile(elev, 1.0 - cfg.land_fraction))
    land_y, land_x = np.nonzero(elev > threshold)
    land_y, land_x = rows[land_y], cols[land_x]
    cells = np.column_stack([land_y, land_x]).astype(np.float64)
    regions = draw_regions(geo_rng, rng_for(seed, "names"), cells, cfg.n_countries,
                           cfg.n_admin1)

    economy_rng = rng_for(seed, "economy")
    tables = economy_tables(economy_rng, nt, len(regions.country_codes))
    fields["crop"] = lattice_field(economy_rng, (ny, nx), sig["crop"])
    demo_rng = rng_for(seed, "demography")
    fields["logpop"] = lattice_field(demo_rng, (ny, nx), sig["logpop"])
    # Towns may sit on any cell of the sample's land blocks (not only on sample cells),
    # so they coincide no more often than on the whole grid.
    town_y, town_x = _block_cells(land_y, land_x, int(rows[1] - rows[0]) if len(rows) > 1
                                  else 1, ny, nx)
    towns = draw_towns(demo_rng, n_towns(ny, nx), town_y, town_x, cfg.resolution)
    for name in ("child", "young", "base_mig"):
        fields[name] = lattice_field(demo_rng, (ny, nx), sig[name])
    tables["crisis"] = draw_crises(demo_rng, nt, len(regions.admin1_codes))
    supervision = make_supervision(regions, cfg, seed, tables["poverty_rate"],
                                   tables["gdp_per_capita"])
    tables.update(supervision.series)
    truth_rng = rng_for(seed, "truth")
    for t in TARGETS:
        fields[f"local_{t}"] = lattice_field(truth_rng, (ny, nx), sig[f"local_{t}"])

    world = TiledWorld(cfg=cfg, seed=seed, fields=fields, land_threshold=threshold,
                       regions=regions, droughts=droughts, towns=towns, tables=tables,
                       supervision=supervision, noise_tile=noise_tile)
    return _with_constants(world, rows, cols)


def _block_cells(ys: np.ndarray, xs: np.ndarray, stride: int, ny: int,
                 nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Every cell of the `stride` x `stride` blocks around the sample cells (`ys`, `xs`)
    (each sample cell sits at offset stride // 2 of its block), inside the grid."""
    dy, dx = np.meshgrid(np.arange(stride) - stride // 2, np.arange(stride) - stride // 2,
                         indexing="ij")
    yy = (ys[:, None] + dy.ravel()[None]).ravel()
    xx = (xs[:, None] + dx.ravel()[None]).ravel()
    keep = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
    return yy[keep], xx[keep]


def _with_constants(world: TiledWorld, rows: np.ndarray, cols: np.ndarray) -> TiledWorld:
    """`world` with its z-score moments and label-rate scales, set on the sample cells
    `rows` x `cols` by the formulas `make_world` applies to the whole grid."""
    land, country_id, admin1_id = regions_at(world, rows, cols)
    logpop = _logpop(world, rows, cols)
    world = replace(world, norms=demography_norms(land, country_id, logpop,
                                                  world.tables["gdp_per_capita"]))
    drivers = _drivers(world, rows, cols, land, country_id, admin1_id, logpop)
    world = replace(world, norms={**world.norms, **truth_norms(land, country_id, drivers)})
    latent = _latent(world, rows, cols, land, country_id, admin1_id, drivers)
    scale = {}
    for t, exposed in (("fl", latent["pop"]), ("cl", latent["kids"])):
        _, base = expected_cases(land, latent[f"eta_{t}"], exposed)
        scale[t] = _solve_scale(base, latent["detect"], LABEL_RATE[t], land)
    return replace(world, scale=scale)


def regions_at(world: TiledWorld, rows: np.ndarray,
               cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Land mask (bool), country and admin-1 index (int32, -1 at sea) of the cells
    `rows` x `cols`."""
    land = sample(world.fields["elevation"], rows, cols) > world.land_threshold
    country_id = np.full(land.shape, -1, dtype=np.int32)
    admin1_id = np.full(land.shape, -1, dtype=np.int32)
    yy, xx = np.nonzero(land)
    if len(yy):
        cells = np.column_stack([rows[yy], cols[xx]]).astype(np.float64)
        country_id[yy, xx], admin1_id[yy, xx] = label_cells(world.regions, cells)
    return land, country_id, admin1_id


def _logpop(world: TiledWorld, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Log population (before the land mask) of the cells `rows` x `cols`: the smooth field
    plus every town within `TOWN_REACH` radii, added in the towns' global order."""
    logpop = 1.1 * sample(world.fields["logpop"], rows, cols)
    for ty, tx, r, amp in world.towns:
        reach = TOWN_REACH * r
        r0, r1 = np.searchsorted(rows, [ty - reach, ty + reach], side="left")
        c0, c1 = np.searchsorted(cols, [tx - reach, tx + reach], side="left")
        if r0 < r1 and c0 < c1:
            logpop[r0:r1, c0:c1] += town_bump(rows[r0:r1, None] - ty, cols[None, c0:c1] - tx,
                                              r, amp)
    return logpop


def _drivers(world: TiledWorld, rows: np.ndarray, cols: np.ndarray, land: np.ndarray,
             country_id: np.ndarray, admin1_id: np.ndarray,
             logpop: np.ndarray) -> dict[str, np.ndarray]:
    """Every driver of `make_world` on the cells `rows` x `cols` (plus the latent
    `_precip_anomaly`), with the world's tables and demographic norms."""
    f = world.fields

    def at(name: str) -> np.ndarray:
        return sample(f[name], rows, cols)

    climate = climate_from(at("t_base"), at("t_anom"), at("p_base"), at("p_anom"),
                           world.droughts, rows, cols, land)
    demography = demography_from(
        land, country_id, admin1_id, logpop, world.tables["gdp_per_capita"], world.norms,
        {k: at(k) for k in ("child", "young", "base_mig")}, climate["_precip_anomaly"],
        world.tables["crisis"], cell_area_factor(world.cfg.resolution))
    return {**world.tables, **climate, **demography,
            "crop_share": crop_share_from(at("crop"), land)}


def _latent(world: TiledWorld, rows: np.ndarray, cols: np.ndarray, land: np.ndarray,
            country_id: np.ndarray, admin1_id: np.ndarray,
            drivers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`latent_risk` of the cells `rows` x `cols` with the world's truth norms."""
    local = {t: sample(world.fields[f"local_{t}"], rows, cols) for t in TARGETS}
    return latent_risk(land, country_id, admin1_id, drivers, world.norms, local)


def aligned(world: TiledWorld, r0: int, r1: int, c0: int,
            c1: int) -> tuple[int, int, int, int]:
    """The window [r0, r1) x [c0, c1) widened to whole noise tiles (clipped to the grid)."""
    t, ny, nx = world.noise_tile, world.cfg.ny, world.cfg.nx
    return ((r0 // t) * t, min(ny, -(-r1 // t) * t), (c0 // t) * t, min(nx, -(-c1 // t) * t))


def world_window(world: TiledWorld, r0: int, r1: int, c0: int,
                 c1: int) -> dict[str, np.ndarray] | None:
    """Every gridded variable of the world on rows [r0, r1) and columns [c0, c1), as
    `make_world` stores it (float32 NaN / int32 0 at sea), plus `land` (int8),
    `country_id`, `admin1_id` and `_survey_weight` (children 5-17 per cell, float64).

    None when the window holds no land: then only the region rasters are meaningful and
    `regions_at` gives them. The window is computed on whole noise tiles and cut.
    """
    a0, a1, b0, b1 = aligned(world, r0, r1, c0, c1)
    rows, cols = np.arange(a0, a1), np.arange(b0, b1)
    land, country_id, admin1_id = regions_at(world, rows, cols)
    if not land[r0 - a0:r1 - a0, c0 - b0:c1 - b0].any():
        return None
    logpop = _logpop(world, rows, cols)
    drivers = _drivers(world, rows, cols, land, country_id, admin1_id, logpop)
    latent = _latent(world, rows, cols, land, country_id, admin1_id, drivers)
    prevalence, lam, cases = {}, {}, {}
    for k, (t, exposed) in enumerate((("fl", latent["pop"]), ("cl", latent["kids"]))):
        prevalence[t], base = expected_cases(land, latent[f"eta_{t}"], exposed)
        lam[t] = world.scale[t] * base
        cases[t] = _draw_tiled(world, k, lam[t], latent["detect"], a0, b0)
    out = {k: drivers[k] for k in GRID_DRIVERS}
    out.update(truth_arrays(land, latent["detect"], prevalence, lam, cases))
    out.update(land=land.astype(np.int8), country_id=country_id, admin1_id=admin1_id,
               _survey_weight=latent["kids"])
    cut = (slice(r0 - a0, r1 - a0), slice(c0 - b0, c1 - b0))
    return {k: v[(..., *cut)] for k, v in out.items()}


def _draw_tiled(world: TiledWorld, target: int, lam: np.ndarray, detect: np.ndarray,
                a0: int, b0: int) -> tuple[np.ndarray, np.ndarray]:
    """Case counts for an aligned window starting at (a0, b0): `draw_cases` per noise
    tile, each from its own Generator (seed, truth stream, target, tile row, tile col)."""
    t = world.noise_tile
    incidence = np.zeros(lam.shape, dtype=np.int32)
    identified = np.zeros(lam.shape, dtype=np.int32)
    for i in range(0, lam.shape[1], t):
        for j in range(0, lam.shape[2], t):
            rng = np.random.default_rng([world.seed, STREAMS["truth"], target,
                                         (a0 + i) // t, (b0 + j) // t])
            sub = (slice(None), slice(i, i + t), slice(j, j + t))
            incidence[sub], identified[sub] = draw_cases(rng, lam[sub], detect[sub])
    return incidence, identified


class SurveyTotals:
    """Children-weighted sums of true child-labour prevalence per (month, admin-1), added
    window by window. Each cell's terms are rounded to fixed point (1/65536 of a child)
    and summed as integers, so the sums, and the surveys drawn from them, do not depend
    on how the grid was tiled or in which order the windows come."""

    SCALE = 65536.0

    def __init__(self, world: TiledWorld) -> None:
        self.world = world
        nt, n_admin = world.cfg.n_months, len(world.regions.admin1_codes)
        self.weighted = np.zeros((nt, n_admin), dtype=np.int64)
        self.children = np.zeros(n_admin, dtype=np.int64)

    def add(self, window: dict[str, np.ndarray]) -> None:
        """Add a window from `world_window`."""
        admin = window["admin1_id"]
        keep = admin >= 0
        a = admin[keep]
        w = np.nan_to_num(window["_survey_weight"])[keep]
        prev = window["true_prevalence_cl"][:, keep].astype(np.float64)
        np.add.at(self.children, a, np.rint(w * self.SCALE).astype(np.int64))
        for t in range(len(prev)):
            np.add.at(self.weighted[t], a, np.rint(prev[t] * w * self.SCALE).astype(np.int64))

    def surveys(self) -> np.ndarray:
        """`survey_cl_prevalence` (time, admin1) from the sums (`draw_surveys`)."""
        world = self.world
        pw, w = self.weighted / self.SCALE, self.children / self.SCALE
        return draw_surveys(rng_for(world.seed, "survey"), world.regions.admin1_country,
                            world.cfg.n_months, lambda t, a: float(pw[t, a] / max(w[a], 1e-9)))
