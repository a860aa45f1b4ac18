"""A tiny risk dataset in the nightly run's layout, for the targeting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

NAN = np.nan


def tiny_risk() -> xr.Dataset:
    """A 2x3 grid, two months; XAA, XAB, XAE on land, one sea cell, one empty cell.

    Latest month, fl: XAA cells 0.25 (pop 1) and 0.625 (pop 3) -> weighted mean 0.53125
    (the plain mean would be 0.4375); XAB 0.75; XAE 0.5. cl is fl / 2. The first month
    holds other values that must be ignored.
    """
    cid = np.array([[0, 0, 1], [2, -1, 3]], dtype=np.int32)  # 3 = XZZ: cells, no people
    pop = np.array([[1.0, 3.0, 2.0], [4.0, NAN, 0.0]], dtype=np.float32)
    latest = np.array([[0.25, 0.625, 0.75], [0.5, NAN, 0.9]], dtype=np.float32)
    risk = np.stack([np.stack([np.full_like(latest, 0.99), latest]),
                     np.stack([np.full_like(latest, 0.99), latest / 2])])
    return xr.Dataset(
        {"risk": (("target", "time", "lat", "lon"), risk),
         "population": (("lat", "lon"), pop),
         "country_id": (("lat", "lon"), cid)},
        coords={"target": ["fl", "cl"],
                "time": pd.to_datetime(["2026-09-01", "2026-10-01"]),
                "lat": [10.05, 10.15], "lon": [20.05, 20.15, 20.25],
                "country": ["XAA", "XAB", "XAE", "XZZ"]})
