"""Small fake risk datasets that follow the nightly run's contract exactly (no tests here).

The grid is 12 x 16 cells of 0.25 degrees; column 0 is sea; countries XAA, XAB, XAC are
columns 1-5, 6-10, 11-15; each has admin-1 areas -01 (south half) and -02 (north half).
`levels` sets the FL risk per admin-1 id (CL gets `cl_levels` or 0.8 x FL).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

NY, NX, RES = 12, 16, 0.25
COUNTRIES = ("XAA", "XAB", "XAC")
ADMIN1 = tuple(f"{c}-{k:02d}" for c in COUNTRIES for k in (1, 2))
FEATURES = ("spi3", "price_shock", "young_share", "inspection_cov")
DOMAINS = ("climatic", "economic", "demographic", "supervisory")


def regions() -> tuple[np.ndarray, np.ndarray]:
    """country_id and admin1_id rasters (lat, lon), -1 at sea."""
    cid = np.full((NY, NX), -1, dtype=np.int32)
    aid = np.full((NY, NX), -1, dtype=np.int32)
    for c in range(3):
        cols = slice(1 + 5 * c, 6 + 5 * c)
        cid[:, cols] = c
        aid[: NY // 2, cols] = 2 * c
        aid[NY // 2:, cols] = 2 * c + 1
    return cid, aid


def make_risk(levels: Mapping[str, float] | None = None, *, as_of: str = "2026-05",
              cl_levels: Mapping[str, float] | None = None, synthetic: int = 1,
              months: int = 1, cell_levels: np.ndarray | None = None,
              programme_fl: tuple[int, ...] = (0, 1, 0),
              prev_levels: Mapping[str, float] | None = None) -> xr.Dataset:
    """A risk dataset for month `as_of` plus `months - 1` earlier months (at `prev_levels`
    if given, else at the same level)."""
    levels = dict(levels or {})
    cid, aid = regions()
    fl = np.zeros((NY, NX), dtype=np.float32)
    for i, a in enumerate(ADMIN1):
        fl[aid == i] = levels.get(a, 0.1)
    if cell_levels is not None:
        fl = np.where(aid >= 0, cell_levels, 0).astype(np.float32)
    if cl_levels is None:
        cl = (fl * 0.8).astype(np.float32)
    else:
        cl = np.zeros_like(fl)
        for i, a in enumerate(ADMIN1):
            cl[aid == i] = cl_levels.get(a, 0.1)
    sea = cid < 0
    fl[sea] = np.nan
    cl[sea] = np.nan
    y, m = (int(v) for v in as_of.split("-"))
    k = y * 12 + m - 1
    times = np.array([np.datetime64(f"{(k - j) // 12:04d}-{(k - j) % 12 + 1:02d}-01", "ns")
                      for j in reversed(range(months))])
    fl_prev, cl_prev = fl, cl
    if prev_levels is not None:
        fl_prev = np.full_like(fl, np.nan)
        for i, a in enumerate(ADMIN1):
            fl_prev[aid == i] = prev_levels.get(a, 0.1)
        cl_prev = (fl_prev * 0.8).astype(np.float32)
    r = np.stack([np.stack([fl_prev] * (months - 1) + [fl]),
                  np.stack([cl_prev] * (months - 1) + [cl])])  # target, time, lat, lon
    lat = (np.arange(NY) + 0.5) * RES - 1.0
    lon = (np.arange(NX) + 0.5) * RES + 20.0
    dims4 = ("target", "time", "lat", "lon")
    drv_f = np.full((2, months, 3, NY, NX), -1, dtype=np.int16)
    drv_c = np.zeros((2, months, 3, NY, NX), dtype=np.float32)
    drv_f[:, :, 0], drv_c[:, :, 0] = 0, 0.6
    drv_f[:, :, 1], drv_c[:, :, 1] = 1, 0.25
    drv_f[:, :, 2], drv_c[:, :, 2] = 3, -0.1
    pop = np.where(sea, np.nan, 1000.0).astype(np.float32)
    ds = xr.Dataset(
        {
            "risk": (dims4, r.astype(np.float32)),
            "risk_lo": (dims4, np.clip(r - 0.1, 0, 1).astype(np.float32)),
            "risk_hi": (dims4, np.clip(r + 0.1, 0, 1).astype(np.float32)),
            "driver_feature": (("target", "time", "rank", "lat", "lon"), drv_f),
            "driver_contrib": (("target", "time", "rank", "lat", "lon"), drv_c),
            "feature_domain": (("feature",), np.array(DOMAINS)),
            "domain_contrib": (("target", "time", "domain", "lat", "lon"),
                               np.stack([drv_c[:, :, 0], drv_c[:, :, 1], np.zeros_like(
                                   drv_c[:, :, 0]), drv_c[:, :, 2]], axis=2)),
            "country_id": (("lat", "lon"), cid),
            "admin1_id": (("lat", "lon"), aid),
            "admin1_country": (("admin1",), np.array([i // 2 for i in range(6)], np.int32)),
            "country_name": (("country",), np.array(["Alphaland", "Betaland", "Gammaland"])),
            "admin1_name": (("admin1",), np.array([f"Province {a}" for a in ADMIN1])),
            "population": (("lat", "lon"), pop),
            "child_population": (("lat", "lon"), (pop * 0.3).astype(np.float32)),
            "programme_fl": (("country",), np.array(programme_fl, np.int8)),
            "programme_cl": (("country",), np.array([1, 0, 0], np.int8)),
            "programme_fprw": (("country",), np.array([1, 1, 0], np.int8)),
            "ta_request": (("country",), np.array([0, 1, 1], np.int8)),
            "ratified_fl": (("country",), np.array([3, 2, 1], np.int8)),
            "ratified_cl": (("country",), np.array([2, 2, 0], np.int8)),
        },
        coords={"target": ["fl", "cl"], "time": times, "lat": lat, "lon": lon,
                "country": list(COUNTRIES), "admin1": list(ADMIN1), "rank": [0, 1, 2],
                "feature": list(FEATURES), "domain": list(dict.fromkeys(DOMAINS))},
        attrs={"synthetic": synthetic, "as_of": as_of, "horizon": 3,
               "model_id_fl": "fl-test-0001", "model_id_cl": "cl-test-0001",
               "config_hash": "0123456789abcdef", "code_version": "test"},
    )
    return ds
