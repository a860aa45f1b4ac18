"""Drivers of the synthetic world in three domains: climatic, economic, demographic.

Every function is pure in (geography, config, seed). Units follow CF conventions and are
set as attributes when the dataset is assembled (see `riskmodel.world.generate`).
"""

from __future__ import annotations

import numpy as np

from kernels import broadcast_regions
from riskmodel.config import WorldConfig
from riskmodel.world.fields import (
    ANOMALY_RHO,
    ar1_fields,
    ar1_series,
    field_sigmas,
    moments,
    rng_for,
    smooth_field,
    standardise,
)
from riskmodel.world.geography import Geography


def month_of_year(n_months: int) -> np.ndarray:
    """Calendar month (0 = January) of each time step; the world starts in January."""
    return np.arange(n_months) % 12


def draw_droughts(rng: np.random.Generator, n_months: int, ny: int,
                  nx: int) -> list[tuple[int, int, float, float, float]]:
    """Drought episodes (start month, duration, centre row, centre col, radius in cells):
    about one per 2 years, anywhere in the region, 3-12 months long."""
    out = []
    for _ in range(max(1, n_months // 24)):
        t0 = int(rng.integers(0, n_months))
        dur = int(rng.integers(3, 13))
        cy, cx = rng.uniform(0, ny), rng.uniform(0, nx)
        radius = rng.uniform(0.1, 0.3) * max(ny, nx)
        out.append((t0, dur, cy, cx, radius))
    return out


def climate_from(t_base: np.ndarray, t_anom: np.ndarray, p_base: np.ndarray,
                 p_anom: np.ndarray, droughts: list[tuple[int, int, float, float, float]],
                 rows: np.ndarray, cols: np.ndarray, land: np.ndarray) -> dict[str, np.ndarray]:
    """Temperature (degC) and precipitation (mm) on (time, y, x) from standardised fields.

    `t_base`, `p_base` (y, x) and `t_anom`, `p_anom` (time, y, x) are the standardised
    random fields on the cells whose global row and column indices are `rows`, `cols`;
    `droughts` from `draw_droughts` (subtracted from `p_anom` in place). Sea is NaN.
    """
    nt = t_anom.shape[0]
    moy = month_of_year(nt)
    years = np.arange(nt) / 12.0
    season = np.cos(2 * np.pi * (moy - 3) / 12.0)[:, None, None]
    temperature = ((24.0 + 3.0 * t_base)[None] + 3.5 * season + 0.9 * t_anom
                   + 0.025 * years[:, None, None])
    p_base = np.exp(np.log(90.0) + 0.45 * p_base)
    wet = 1.0 + 0.85 * np.cos(2 * np.pi * (moy - 7) / 12.0)
    yy, xx = rows[:, None], cols[None, :]
    for t0, dur, cy, cx, radius in droughts:
        disc = np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius ** 2)))
        p_anom[t0:t0 + dur] -= 1.8 * disc[None]
    precipitation = p_base[None] * wet[:, None, None] * np.exp(0.45 * p_anom - 0.1)
    precipitation[precipitation < 2.0] = 0.0

    sea = ~land
    temperature[:, sea] = np.nan
    precipitation[:, sea] = np.nan
    # "_precip_anomaly" is latent (it drives migration and risk) and is never stored.
    return {"temperature": temperature.astype(np.float32),
            "precipitation": precipitation.astype(np.float32),
            "_precip_anomaly": p_anom.astype(np.float32),
            "_temp_anomaly": t_anom.astype(np.float32)}


def make_climate(geo: Geography, cfg: WorldConfig, seed: int) -> dict[str, np.ndarray]:
    """Monthly near-surface temperature (degC) and precipitation (mm/month) on (time, y, x).

    Temperature: a spatial base, a seasonal cycle, AR(1) spatially correlated anomalies
    and a slow warming trend. Precipitation: a wet/dry season around a spatial base,
    multiplicative AR(1) anomalies, and drought episodes (discs of strongly negative
    anomaly lasting 3-12 months); amounts below 2 mm are recorded as zero (dry months).
    """
    rng = rng_for(seed, "climate")
    nt, (ny, nx) = cfg.n_months, geo.land.shape
    sig = field_sigmas(ny, nx)
    t_base = smooth_field(rng, (ny, nx), sigma=sig["t_base"])
    t_anom = ar1_fields(rng, nt, (ny, nx), sigma=sig["t_anom"], rho=ANOMALY_RHO["t_anom"])
    p_base = smooth_field(rng, (ny, nx), sigma=sig["p_base"])
    p_anom = ar1_fields(rng, nt, (ny, nx), sigma=sig["p_anom"], rho=ANOMALY_RHO["p_anom"])
    droughts = draw_droughts(rng, nt, ny, nx)
    return climate_from(t_base, t_anom, p_base, p_anom, droughts, np.arange(ny), np.arange(nx),
                        geo.land)


def economy_tables(rng: np.random.Generator, n_months: int,
                   n_countries: int) -> dict[str, np.ndarray]:
    """Country GDP per capita (USD) and poverty rate (fraction) on (time, country) and the
    global commodity price index ((time,), first month = 100), all float32.

    GDP grows about 2% a year with AR(1) noise and one or two recessions per country;
    poverty follows GDP through a logistic curve and moves only once a year (surveys).
    """
    nt, nc = n_months, n_countries
    years = np.arange(nt) / 12.0
    log_gdp0 = rng.uniform(np.log(600.0), np.log(9000.0), nc)
    growth = rng.normal(0.02, 0.012, nc)
    noise = 0.03 * ar1_series(rng, nt, nc, rho=0.95)
    log_gdp = log_gdp0[None] + growth[None] * years[:, None] + noise
    for c in range(nc):
        for _ in range(int(rng.integers(1, 3))):
            t0 = int(rng.integers(12, nt))
            depth = rng.uniform(0.05, 0.15)
            ramp = np.clip((np.arange(nt) - t0) / 6.0, 0, 1)
            recover = np.clip((np.arange(nt) - t0 - 12) / 24.0, 0, 1)
            log_gdp[:, c] -= depth * ramp * (1 - recover)
    gdp = np.exp(log_gdp)
    # Poverty moves yearly: the January value of each year holds for the year.
    yearly = gdp[(np.arange(nt) // 12) * 12]
    poverty = 1.0 / (1.0 + np.exp(1.6 * (np.log(yearly) - np.log(2500.0))))
    poverty = np.clip(poverty + 0.04 * rng.standard_normal(nc)[None], 0.01, 0.95)

    log_price = np.cumsum(rng.normal(0, 0.04, nt))
    for _ in range(max(1, nt // 80)):
        t0 = int(rng.integers(0, nt))
        log_price[t0:] += rng.choice([-1, 1]) * rng.uniform(0.2, 0.4)
    commodity_price = 100.0 * np.exp(log_price - log_price[0])
    return {"gdp_per_capita": gdp.astype(np.float32), "poverty_rate": poverty.astype(np.float32),
            "commodity_price": commodity_price.astype(np.float32)}


def crop_share_from(field: np.ndarray, land: np.ndarray) -> np.ndarray:
    """Export-crop share of land (fraction, float32) from a standardised field; NaN at sea."""
    crop = 1.0 / (1.0 + np.exp(-(1.2 * field - 0.8)))
    return np.where(land, 0.8 * crop, np.nan).astype(np.float32)


def make_economy(geo: Geography, cfg: WorldConfig, seed: int) -> dict[str, np.ndarray]:
    """Country GDP per capita (USD, (time, country)), poverty rate (fraction, (time, country)),
    a global commodity price index ((time,), 2005 = 100) and export-crop share of land
    ((y, x), fraction); see `economy_tables` and `crop_share_from`."""
    rng = rng_for(seed, "economy")
    tables = economy_tables(rng, cfg.n_months, len(geo.country_codes))
    sigma = field_sigmas(*geo.land.shape)["crop"]
    crop = crop_share_from(smooth_field(rng, geo.land.shape, sigma=sigma), geo.land)
    return {**tables, "crop_share": crop}


def n_towns(ny: int, nx: int) -> int:
    """How many towns the population field has: one per 1500 cells, at least 3."""
    return max(3, (ny * nx) // 1500)


def draw_towns(rng: np.random.Generator, n: int, land_y: np.ndarray, land_x: np.ndarray,
               resolution: float) -> list[tuple[int, int, float, float]]:
    """`n` towns (row, col, radius in cells, log-population amplitude) on random land cells
    (`land_y`, `land_x`); radii grow as cells shrink so a town keeps its size in km."""
    towns = []
    for _ in range(n):
        i = int(rng.integers(0, len(land_y)))
        r = rng.uniform(1.0, 3.5) * max(1.0, 0.25 / resolution)
        towns.append((land_y[i], land_x[i], r, rng.uniform(1.0, 2.5)))
    return towns


def town_bump(dy: np.ndarray, dx: np.ndarray, r: float, amp: float) -> np.ndarray:
    """A town's log-population bump at row/col offsets (`dy`, `dx`) from its centre."""
    return amp * np.exp(-(dy ** 2 + dx ** 2) / (2 * r * r))


def cell_area_factor(resolution: float) -> float:
    """Persons per cell relative to a 0.25-degree cell: proportional to the cell's area,
    so population density (the feature) keeps the demo world's distribution."""
    return (resolution / 0.25) ** 2


def population_from(logpop: np.ndarray, land: np.ndarray, cells_scale: float) -> np.ndarray:
    """Persons per cell (float64) from log-population `logpop` (y, x), `cells_scale` times
    the persons of a 0.25-degree cell; NaN at sea."""
    return np.where(land, 15000.0 * cells_scale * np.exp(logpop), np.nan)


def child_shares_from(gdp_z: np.ndarray, urban: np.ndarray, child_field: np.ndarray,
                      young_field: np.ndarray, land: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Child (5-17) and young-child (5-11) shares of the population (y, x), NaN at sea.

    `gdp_z` and `urban` are the standardised log GDP of the cell's country and log
    population; `child_field`, `young_field` standardised local variation.
    """
    child_share = np.clip(0.33 - 0.04 * gdp_z - 0.02 * urban + 0.015 * child_field, 0.15, 0.5)
    child_share = np.where(land, child_share, np.nan)
    young_share = child_share * np.clip(0.52 + 0.03 * young_field, 0.4, 0.65)
    return child_share, young_share


def migrant_share_from(precip_anomaly: np.ndarray, base_field: np.ndarray) -> np.ndarray:
    """Recent-migrant share (time, y, x): a base level from the standardised `base_field`
    plus migration after dry spells (an exponentially smoothed precipitation deficit,
    lagged one month)."""
    deficit = np.maximum(-precip_anomaly, 0.0)
    mig = np.zeros_like(deficit)
    for t in range(1, len(deficit)):
        mig[t] = 0.85 * mig[t - 1] + 0.15 * deficit[t - 1]
    base_mig = np.clip(0.05 + 0.03 * base_field, 0.005, 0.2)
    return np.clip(base_mig[None] + 0.04 * mig, 0.0, 0.6)


def draw_crises(rng: np.random.Generator, n_months: int, n_admin: int) -> np.ndarray:
    """Crisis or conflict episodes (0/1, float64) on (time, admin1), 6-35 months each."""
    crisis = np.zeros((n_months, n_admin), dtype=np.float64)
    for _ in range(max(1, n_admin * n_months // 1500)):
        a = int(rng.integers(0, n_admin))
        t0 = int(rng.integers(0, n_months))
        crisis[t0:t0 + int(rng.integers(6, 36)), a] = 1.0
    return crisis


def displacement_from(crisis: np.ndarray) -> np.ndarray:
    """Displaced share per (time, admin1): follows crisis episodes and decays after them."""
    disp = np.zeros_like(crisis)
    for t in range(1, len(crisis)):
        disp[t] = 0.9 * disp[t - 1] + 0.1 * crisis[t]
    return 0.01 + 0.25 * disp


def demography_norms(land: np.ndarray, country_id: np.ndarray, logpop: np.ndarray,
                     gdp: np.ndarray) -> dict[str, tuple[float, float]]:
    """(mean, sd) over land cells of the country's log mean GDP and of log population, the
    constants `demography_from` standardises with (of the whole world, or of a sample)."""
    gdp_cell = broadcast_regions(np.log(gdp.mean(0)).astype(np.float64), country_id)
    return {"gdp": moments(gdp_cell), "urban": moments(logpop[land])}


def demography_from(land: np.ndarray, country_id: np.ndarray, admin1_id: np.ndarray,
                    logpop: np.ndarray, gdp: np.ndarray, norms: dict[str, tuple[float, float]],
                    fields: dict[str, np.ndarray], precip_anomaly: np.ndarray,
                    crisis: np.ndarray, cells_scale: float) -> dict[str, np.ndarray]:
    """The demographic variables of the cells of `land` (y, x), float32, NaN at sea.

    `logpop` (y, x) log population with towns; `gdp` (time, country) USD; `norms` from
    `demography_norms`; `fields` the standardised `child`, `young` and `base_mig` fields
    (y, x); `precip_anomaly` (time, y, x); `crisis` (time, admin1) from `draw_crises`;
    `cells_scale` as in `population_from`.
    """
    population = population_from(logpop, land, cells_scale)
    gdp_cell = broadcast_regions(np.log(gdp.mean(0)).astype(np.float64), country_id)
    child_share, young_share = child_shares_from(
        standardise(gdp_cell, norms["gdp"]), standardise(logpop, norms["urban"]),
        fields["child"], fields["young"], land)
    migrant_share = migrant_share_from(precip_anomaly, fields["base_mig"])
    displaced_share = broadcast_regions(displacement_from(crisis), admin1_id)
    for arr in (migrant_share, displaced_share):
        arr[:, ~land] = np.nan
    return {"population": population.astype(np.float32),
            "child_share": child_share.astype(np.float32),
            "young_child_share": young_share.astype(np.float32),
            "migrant_share": migrant_share.astype(np.float32),
            "displaced_share": displaced_share.astype(np.float32),
            "crisis": crisis.astype(np.float32)}


def make_demography(geo: Geography, cfg: WorldConfig, seed: int, gdp: np.ndarray,
                    precip_anomaly: np.ndarray) -> dict[str, np.ndarray]:
    """Population (persons per cell), child share (5-17) and young-child share (5-11) of the
    population, and monthly migrant, displaced and crisis indicators.

    Population is clustered (a lognormal field plus towns). Child shares fall with GDP.
    Migrant share rises after dry spells (lagged negative precipitation anomaly);
    displaced share follows crisis episodes in admin-1 units (`crisis`, 0/1 per admin-1
    and month) and decays after them.
    """
    rng = rng_for(seed, "demography")
    nt, (ny, nx) = cfg.n_months, geo.land.shape
    land = geo.land
    sig = field_sigmas(ny, nx)
    logpop = 1.1 * smooth_field(rng, (ny, nx), sigma=sig["logpop"])
    yy, xx = np.mgrid[0:ny, 0:nx]
    land_y, land_x = np.nonzero(land)
    for ty, tx, r, amp in draw_towns(rng, n_towns(ny, nx), land_y, land_x, cfg.resolution):
        logpop += town_bump(yy - ty, xx - tx, r, amp)
    fields = {k: smooth_field(rng, (ny, nx), sigma=sig[k]) for k in ("child", "young",
                                                                     "base_mig")}
    crisis = draw_crises(rng, nt, len(geo.admin1_codes))
    # Persons per cell here grow as cells shrink ((0.25 / resolution)^2, the inverse of
    # `cell_area_factor`): kept, because the demo (factor 1) and tiny worlds, their trained
    # models and byte-identical-run tests depend on it. The tiled world, made for the
    # 0.1-degree grid where the two differ 39-fold, scales with cell area.
    return demography_from(land, geo.country_id, geo.admin1_id, logpop, gdp,
                           demography_norms(land, geo.country_id, logpop, gdp), fields,
                           precip_anomaly, crisis, (0.25 / cfg.resolution) ** 2)
