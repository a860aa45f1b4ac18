"""Drivers of the synthetic world in three domains: climatic, economic, demographic.

Every function is pure in (geography, config, seed). Units follow CF conventions and are
set as attributes when the dataset is assembled (see `riskmodel.world.generate`).
"""

from __future__ import annotations

import numpy as np

from kernels import broadcast_regions
from riskmodel.config import WorldConfig
from riskmodel.world.fields import ar1_fields, ar1_series, rng_for, smooth_field
from riskmodel.world.geography import Geography


def month_of_year(n_months: int) -> np.ndarray:
    """Calendar month (0 = January) of each time step; the world starts in January."""
    return np.arange(n_months) % 12


def make_climate(geo: Geography, cfg: WorldConfig, seed: int) -> dict[str, np.ndarray]:
    """Monthly near-surface temperature (degC) and precipitation (mm/month) on (time, y, x).

    Temperature: a spatial base, a seasonal cycle, AR(1) spatially correlated anomalies
    and a slow warming trend. Precipitation: a wet/dry season around a spatial base,
    multiplicative AR(1) anomalies, and drought episodes (discs of strongly negative
    anomaly lasting 3-12 months); amounts below 2 mm are recorded as zero (dry months).
    """
    rng = rng_for(seed, "climate")
    nt, (ny, nx) = cfg.n_months, geo.land.shape
    moy = month_of_year(nt)
    years = np.arange(nt) / 12.0

    t_base = 24.0 + 3.0 * smooth_field(rng, (ny, nx), sigma=ny / 6)
    season = np.cos(2 * np.pi * (moy - 3) / 12.0)[:, None, None]
    t_anom = ar1_fields(rng, nt, (ny, nx), sigma=ny / 12, rho=0.6)
    temperature = (t_base[None] + 3.5 * season + 0.9 * t_anom
                   + 0.025 * years[:, None, None])

    p_base = np.exp(np.log(90.0) + 0.45 * smooth_field(rng, (ny, nx), sigma=ny / 5))
    wet = 1.0 + 0.85 * np.cos(2 * np.pi * (moy - 7) / 12.0)
    p_anom = ar1_fields(rng, nt, (ny, nx), sigma=ny / 12, rho=0.5)
    # Droughts: about one episode per 2 years, anywhere in the region.
    yy, xx = np.mgrid[0:ny, 0:nx]
    n_droughts = max(1, nt // 24)
    for _ in range(n_droughts):
        t0 = int(rng.integers(0, nt))
        dur = int(rng.integers(3, 13))
        cy, cx = rng.uniform(0, ny), rng.uniform(0, nx)
        radius = rng.uniform(0.1, 0.3) * max(ny, nx)
        disc = np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius ** 2)))
        p_anom[t0:t0 + dur] -= 1.8 * disc[None]
    precipitation = p_base[None] * wet[:, None, None] * np.exp(0.45 * p_anom - 0.1)
    precipitation[precipitation < 2.0] = 0.0

    sea = ~geo.land
    temperature[:, sea] = np.nan
    precipitation[:, sea] = np.nan
    # "_precip_anomaly" is latent (it drives migration and risk) and is never stored.
    return {"temperature": temperature.astype(np.float32),
            "precipitation": precipitation.astype(np.float32),
            "_precip_anomaly": p_anom.astype(np.float32),
            "_temp_anomaly": t_anom.astype(np.float32)}


def make_economy(geo: Geography, cfg: WorldConfig, seed: int) -> dict[str, np.ndarray]:
    """Country GDP per capita (USD, (time, country)), poverty rate (fraction, (time, country)),
    a global commodity price index ((time,), 2005 = 100) and export-crop share of land
    ((y, x), fraction).

    GDP grows about 2% a year with AR(1) noise and one or two recessions per country;
    poverty follows GDP through a logistic curve and moves only once a year (surveys).
    """
    rng = rng_for(seed, "economy")
    nt, nc = cfg.n_months, len(geo.country_codes)
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

    crop = 1.0 / (1.0 + np.exp(-(1.2 * smooth_field(rng, geo.land.shape, sigma=8) - 0.8)))
    crop = np.where(geo.land, 0.8 * crop, np.nan)
    return {"gdp_per_capita": gdp.astype(np.float32), "poverty_rate": poverty.astype(np.float32),
            "commodity_price": commodity_price.astype(np.float32),
            "crop_share": crop.astype(np.float32)}


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
    cells_scale = (0.25 / cfg.resolution) ** 2  # persons per cell scale with cell area
    logpop = 1.1 * smooth_field(rng, (ny, nx), sigma=ny / 15)
    yy, xx = np.mgrid[0:ny, 0:nx]
    land_y, land_x = np.nonzero(land)
    for _ in range(max(3, (ny * nx) // 1500)):
        i = int(rng.integers(0, len(land_y)))
        r = rng.uniform(1.0, 3.5) * max(1.0, 0.25 / cfg.resolution)
        logpop += rng.uniform(1.0, 2.5) * np.exp(-((yy - land_y[i]) ** 2 + (xx - land_x[i]) ** 2)
                                                 / (2 * r * r))
    population = np.where(land, 15000.0 * cells_scale * np.exp(logpop), np.nan)

    gdp_mean = np.log(gdp.mean(0))
    gdp_cell = broadcast_regions(gdp_mean.astype(np.float64), geo.country_id)
    gdp_z = (gdp_cell - np.nanmean(gdp_cell)) / (np.nanstd(gdp_cell) + 1e-12)
    urban = (logpop - np.mean(logpop[land])) / (np.std(logpop[land]) + 1e-12)
    child_share = np.clip(0.33 - 0.04 * gdp_z - 0.02 * urban
                          + 0.015 * smooth_field(rng, (ny, nx), sigma=6), 0.15, 0.5)
    child_share = np.where(land, child_share, np.nan)
    young_share = child_share * np.clip(0.52 + 0.03 * smooth_field(rng, (ny, nx), sigma=6),
                                        0.4, 0.65)

    # Migration after dry spells: an exponentially smoothed deficit, lagged one month.
    deficit = np.maximum(-precip_anomaly, 0.0)
    mig = np.zeros_like(deficit)
    for t in range(1, nt):
        mig[t] = 0.85 * mig[t - 1] + 0.15 * deficit[t - 1]
    base_mig = np.clip(0.05 + 0.03 * smooth_field(rng, (ny, nx), sigma=10), 0.005, 0.2)
    migrant_share = np.clip(base_mig[None] + 0.04 * mig, 0.0, 0.6)

    n_admin = len(geo.admin1_codes)
    crisis = np.zeros((nt, n_admin), dtype=np.float64)
    for _ in range(max(1, n_admin * nt // 1500)):
        a = int(rng.integers(0, n_admin))
        t0 = int(rng.integers(0, nt))
        crisis[t0:t0 + int(rng.integers(6, 36)), a] = 1.0
    disp = np.zeros_like(crisis)
    for t in range(1, nt):
        disp[t] = 0.9 * disp[t - 1] + 0.1 * crisis[t]
    displaced_share = 0.01 + 0.25 * broadcast_regions(disp, geo.admin1_id)

    for arr in (migrant_share, displaced_share):
        arr[:, ~land] = np.nan
    return {"population": population.astype(np.float32),
            "child_share": child_share.astype(np.float32),
            "young_child_share": young_share.astype(np.float32),
            "migrant_share": migrant_share.astype(np.float32),
            "displaced_share": displaced_share.astype(np.float32),
            "crisis": crisis.astype(np.float32)}
