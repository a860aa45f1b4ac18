"""Climatic features: anomalies, heat, dryness and droughts, and their spatial reach.

Anomalies are standardised against a fixed per-calendar-month climatology of the first
`baseline_months` of the record (a fixed baseline, as climate services use); features in
that warm-up period see the baseline's later months, so models train on later months only
(`features.cube.WARMUP_MONTHS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

import kernels
from features._apply import along_time, full_grid, on_space, steps, to_grid
from features.catalogue import feature

BASELINE_MONTHS = 96


def _phase(inputs: xr.Dataset) -> int:
    return int(inputs["time"].dt.month.values[0]) - 1


def _anomaly(da: xr.DataArray, inputs: xr.Dataset, baseline_months: int) -> xr.DataArray:
    return along_time(kernels.standardized_anomaly, da, baseline=slice(0, baseline_months),
                      phase=_phase(inputs))


@feature("temp_anomaly", domain="climatic", inputs=("temperature",),
         monthly_only=True,
         kernels=("standardized_anomaly",), units="1", baseline_months=BASELINE_MONTHS,
         meaning="temperature anomaly against the calendar-month climatology, in standard "
                 "deviations")
def temp_anomaly(inputs: xr.Dataset, baseline_months: int) -> xr.DataArray:
    return _anomaly(inputs["temperature"], inputs, baseline_months)


@feature("precip_anomaly", domain="climatic", inputs=("precipitation",),
         monthly_only=True,
         kernels=("standardized_anomaly",), units="1", baseline_months=BASELINE_MONTHS,
         meaning="precipitation anomaly against the calendar-month climatology, in standard "
                 "deviations")
def precip_anomaly(inputs: xr.Dataset, baseline_months: int) -> xr.DataArray:
    return _anomaly(inputs["precipitation"], inputs, baseline_months)


@feature("precip_anomaly_6m", domain="climatic", inputs=("precipitation",),
         monthly_only=True,
         kernels=("standardized_anomaly", "move_mean"), units="1", window=6,
         baseline_months=BASELINE_MONTHS,
         meaning="mean precipitation anomaly over the last 6 months (persistent dryness < 0)")
def precip_anomaly_6m(inputs: xr.Dataset, window: int, baseline_months: int) -> xr.DataArray:
    anom = _anomaly(inputs["precipitation"], inputs, baseline_months)
    return along_time(kernels.move_mean, anom, window=window, min_count=window // 2)


@feature("heat_months_12", domain="climatic", inputs=("temperature",),
         monthly_only=True,
         kernels=("standardized_anomaly", "move_sum"), units="month", window=12, threshold=1.0,
         baseline_months=BASELINE_MONTHS,
         meaning="months in the last year with a temperature anomaly above +1 sd")
def heat_months_12(inputs: xr.Dataset, window: int, threshold: float,
                   baseline_months: int) -> xr.DataArray:
    anom = _anomaly(inputs["temperature"], inputs, baseline_months)
    hot = (anom > threshold).astype(np.float32).where(anom.notnull())
    return along_time(kernels.move_sum, hot, window=window, min_count=1)


@feature("spi_3", domain="climatic", inputs=("precipitation",), kernels=("spi",), units="1",
         monthly_only=True,
         scale=3, baseline_months=BASELINE_MONTHS,
         meaning="Standardized Precipitation Index over 3 months (< -1: moderate drought)")
def spi_3(inputs: xr.Dataset, scale: int, baseline_months: int) -> xr.DataArray:
    return along_time(kernels.spi, inputs["precipitation"], scale=scale,
                      baseline=slice(0, baseline_months), phase=_phase(inputs))


@feature("spi_12", domain="climatic", inputs=("precipitation",), kernels=("spi",), units="1",
         monthly_only=True,
         scale=12, baseline_months=BASELINE_MONTHS,
         meaning="Standardized Precipitation Index over 12 months (long droughts)")
def spi_12(inputs: xr.Dataset, scale: int, baseline_months: int) -> xr.DataArray:
    return along_time(kernels.spi, inputs["precipitation"], scale=scale,
                      baseline=slice(0, baseline_months), phase=_phase(inputs))


@feature("drought_duration", domain="climatic", inputs=("precipitation",),
         monthly_only=True,
         kernels=("spi", "event_decay"), units="month", scale=3, threshold=-1.0,
         baseline_months=BASELINE_MONTHS,
         meaning="months the current drought (SPI-3 below -1) has lasted; 0 outside droughts")
def drought_duration(inputs: xr.Dataset, scale: int, threshold: float,
                     baseline_months: int) -> xr.DataArray:
    s = spi_3(inputs, scale=scale, baseline_months=baseline_months)
    # Months since the last non-drought month is the length of the running drought.
    not_drought = (s >= threshold).astype(np.float32).where(s.notnull(), 1.0)
    since = along_time(lambda a: kernels.event_decay(a, 1.0)[1], not_drought)
    return since.where(s.notnull())


def lag_reach(params: Mapping[str, Any]) -> int:
    """Cells `kernels.spatial_lag` reads away from a cell: neighbours within `radius` cells
    (Euclidean), so at most floor(radius) rows or columns away."""
    return math.floor(params["radius"])


@feature("drought_spatial_lag", domain="climatic", inputs=("precipitation",),
         monthly_only=True,
         kernels=("spatial_lag",), units="1", grid_only=True, halo=lag_reach, radius=6,
         window=6, baseline_months=BASELINE_MONTHS,
         meaning="inverse-distance weighted 6-month precipitation anomaly of neighbours "
                 "within 6 cells (shocks next door)")
def drought_spatial_lag(inputs: xr.Dataset, radius: int, window: int,
                        baseline_months: int) -> xr.DataArray:
    anom = precip_anomaly_6m(inputs, window=window, baseline_months=baseline_months)
    return on_space(kernels.spatial_lag, anom, halo=lag_reach({"radius": radius}),
                    radius=radius)


@feature("temp_mean_12m", domain="climatic", inputs=("temperature",),
         monthly_only=True,
         kernels=("move_mean",), units="degC", window=12,
         meaning="mean temperature over the last 12 months (climate zone)")
def temp_mean_12m(inputs: xr.Dataset, window: int) -> xr.DataArray:
    return along_time(kernels.move_mean, inputs["temperature"], window=window,
                      min_count=window // 2)


@feature("precip_total_12m", domain="climatic", inputs=("precipitation",),
         monthly_only=True,
         kernels=("move_sum",), units="mm", window=12,
         meaning="precipitation over the last 12 months")
def precip_total_12m(inputs: xr.Dataset, window: int) -> xr.DataArray:
    return along_time(kernels.move_sum, inputs["precipitation"], window=window)


@feature("temp_anomaly_degc", domain="climatic", inputs=("temperature_anomaly",),
         kernels=(), units="degC",
         meaning="temperature anomaly as published (e.g. a country's yearly anomaly against "
                 "its 1991-2020 mean)")
def temp_anomaly_degc(inputs: xr.Dataset) -> xr.DataArray:
    return to_grid(inputs["temperature_anomaly"], inputs)


@feature("temp_anomaly_3y", domain="climatic", inputs=("temperature_anomaly",),
         kernels=("move_mean",), units="degC", window=36,
         meaning="mean temperature anomaly over the last 3 years (persistent heat)")
def temp_anomaly_3y(inputs: xr.Dataset, window: int) -> xr.DataArray:
    w = steps(inputs, window)
    # Half the window must have values (18 of 36 months, 2 of 3 years).
    mean = along_time(kernels.move_mean, inputs["temperature_anomaly"], window=w,
                      min_count=(w + 1) // 2)
    return to_grid(mean, inputs)


@feature("warming_trend_10y", domain="climatic", inputs=("temperature_anomaly",),
         kernels=("trend",), units="degC decade-1", window=120,
         meaning="least-squares warming trend of the temperature anomaly over the last 10 "
                 "years, per decade")
def warming_trend_10y(inputs: xr.Dataset, window: int) -> xr.DataArray:
    # trend is per time step; times the steps in a decade gives degrees per decade.
    w = steps(inputs, window)
    slope = along_time(kernels.trend, inputs["temperature_anomaly"], window=w,
                       min_count=(w + 1) // 2)
    return to_grid(slope * float(w), inputs)


@feature("recent_warming", domain="climatic", inputs=("warming_1981_2010",), kernels=(),
         units="degC",
         meaning="static climatology: how much warmer 1981-2010 was than 1961-1990 "
                 "(HadCRUT4, area-weighted over the region)")
def recent_warming(inputs: xr.Dataset) -> xr.DataArray:
    return full_grid(to_grid(inputs["warming_1981_2010"], inputs), inputs)


__all__ = ["BASELINE_MONTHS", "full_grid"]
