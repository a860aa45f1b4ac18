"""Random fields with spatial and temporal correlation, the raw material of the world.

All fields are pure functions of a numpy Generator, so the world is a pure function of
(config, seed). Smoothing uses scipy's Gaussian filter with `mode="wrap"` off (the region
is not periodic): `mode="reflect"`.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

STREAMS = {
    "geography": 1, "climate": 2, "economy": 3, "demography": 4,
    "supervision": 5, "truth": 6, "survey": 7, "names": 8, "scenario": 9,
    "observation": 10,
}


def field_sigmas(ny: int, nx: int) -> dict[str, float]:
    """Length scale (cells) of every smooth random field of the world, by name.

    One table for both generators: `make_world` smooths white noise on the grid with these
    scales, the tiled generator (`riskmodel.world.tiled`) on a coarser lattice.
    """
    return {"elevation": max(ny, nx) / 10, "t_base": ny / 6, "t_anom": ny / 12,
            "p_base": ny / 5, "p_anom": ny / 12, "crop": 8, "logpop": ny / 15,
            "child": 6, "young": 6, "base_mig": 10, "local_fl": 6, "local_cl": 6}


# AR(1) coefficients of the monthly anomaly fields.
ANOMALY_RHO = {"t_anom": 0.6, "p_anom": 0.5}


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """An independent Generator per world component, so changing one leaves the others."""
    return np.random.default_rng([seed, STREAMS[stream]])


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """A standardised (mean 0, sd 1) Gaussian random field of `shape` with length scale `sigma` cells."""
    f = gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="reflect")
    return ((f - f.mean()) / (f.std() + 1e-12)).astype(np.float64)


def ar1_along_time(innovations: np.ndarray, rho: float) -> np.ndarray:
    """AR(1) process along axis 0 driven by standardised `innovations`; stays standardised."""
    out = np.empty_like(innovations)
    out[0] = innovations[0]
    scale = np.sqrt(1.0 - rho * rho)
    for t in range(1, len(innovations)):
        out[t] = rho * out[t - 1] + scale * innovations[t]
    return out


def ar1_fields(rng: np.random.Generator, n_time: int, shape: tuple[int, int], sigma: float,
               rho: float) -> np.ndarray:
    """(time, y, x) standardised anomalies: spatially smooth each month, AR(1) in time with `rho`."""
    noise = gaussian_filter(rng.standard_normal((n_time, *shape)), sigma=(0, sigma, sigma),
                            mode="reflect")
    noise /= noise.std() + 1e-12
    return ar1_along_time(noise, rho)


def ar1_series(rng: np.random.Generator, n_time: int, n: int, rho: float) -> np.ndarray:
    """(time, n) independent standardised AR(1) series."""
    return ar1_along_time(rng.standard_normal((n_time, n)), rho)


def moments(vals: np.ndarray) -> tuple[float, float]:
    """(mean, sd) of `vals` ignoring NaN: the constants a z-score divides by.

    Kept apart from `standardise` so a tiled world can take them from a sample of the
    whole grid and apply them to every tile alike (`riskmodel.world.tiled`).
    """
    return float(np.nanmean(vals)), float(np.nanstd(vals))


def standardise(a: np.ndarray, norm: tuple[float, float]) -> np.ndarray:
    """(a - mean) / sd with `norm` = (mean, sd) from `moments`."""
    return (a - norm[0]) / (norm[1] + 1e-12)


def zscore(a: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Standardise `a` over the cells where `mask` is true (all cells when None)."""
    return standardise(a, moments(a[..., mask] if mask is not None else a))
