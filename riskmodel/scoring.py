"""Scoring stage: calibrated risk, interval and drivers for one month, as a CF dataset.

The output follows the risk contract of docs/architecture.md: `risk`, `risk_lo`,
`risk_hi` on (target, time, lat, lon), the top drivers per cell (`driver_feature`,
`driver_contrib`) and per admin-1 unit, contributions grouped by feature domain, and the
area context alerts and targeting need (regions, population, programmes, ratifications).
Inspection coverage is set to the model's reference level for every area, so the score is
risk at standard detection, not "where inspectors already go".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

import kernels
from features import CATALOGUE, DOMAINS
from riskmodel.models.estimator import RiskModel
from riskmodel.models.table import feature_matrix, land_cells

N_DRIVERS = 3


def _top_drivers(contrib: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest positive contributions per row (-1 / NaN if none)."""
    k = min(k, contrib.shape[1])
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    vals = np.take_along_axis(contrib, order, axis=1)
    idx = np.where(vals > 0, order, -1).astype(np.int16)
    return idx, np.where(vals > 0, vals, np.nan).astype(np.float32)


def score_target(model: RiskModel, meta: dict[str, Any], cube: xr.Dataset, month: int,
                 cells: np.ndarray) -> dict[str, np.ndarray]:
    """Risk, interval and contributions (n_cells, n_features; log-odds) for land `cells` at
    time index `month`, with reference-valued features set to their reference level."""
    features = model.feature_names_in_
    X = feature_matrix(cube, features, month, cells)
    for name, value in meta.get("reference_values", {}).items():
        X[:, features.index(name)] = value
    risk, lo, hi = model.predict_interval(X)
    contrib = model.predict_contrib(X)
    # A feature held at one reference level everywhere (inspection coverage at standard
    # detection) is not a driver of any area: its contribution is the same shift for all
    # cells, so it is left out of the drivers and the domain sums.
    for name in meta.get("reference_values", {}):
        contrib[:, features.index(name)] = 0.0
    return {"risk": risk, "lo": lo, "hi": hi, "contrib": contrib}


def _grid(values: np.ndarray, cells: np.ndarray, shape: tuple[int, int],
          fill: float = np.nan, dtype: Any = np.float32) -> np.ndarray:
    out = np.full(int(np.prod(shape)), fill, dtype=dtype)
    out[cells] = values
    return out.reshape(shape)


def _context(inputs: xr.Dataset, month: int) -> dict[str, tuple]:
    """Area context at `month`: population, programmes, TA requests, ratifications."""
    t = inputs["time"].values[month]
    pop = inputs["population"].astype(np.float32)
    children = (inputs["population"] * inputs["child_share"]).astype(np.float32)
    recent = inputs["time"] > t - np.timedelta64(3 * 365, "D")
    upto = inputs["time"] <= t

    def at(name: str) -> np.ndarray:
        return inputs[name].sel(time=t).values

    ta = (inputs["ta_request_fl"] + inputs["ta_request_cl"]).where(recent & upto, 0).sum("time")
    ctx: dict[str, tuple] = {
        "population": (("lat", "lon"), pop.values,
                       {"units": "1", "long_name": "persons living in the cell"}),
        "child_population": (("lat", "lon"), children.values,
                             {"units": "1", "long_name": "children aged 5-17 in the cell"}),
        "programme_fl": (("country",), at("programme_fl").astype(np.int8),
                         {"long_name": "ILO programme focused on FL or FL+CL active (0/1)"}),
        "programme_cl": (("country",), at("programme_cl").astype(np.int8),
                         {"long_name": "ILO programme focused on CL or FL+CL active (0/1)"}),
        "programme_fprw": (("country",), at("programme_fprw").astype(np.int8),
                           {"long_name": "any ILO FPRW programme active (0/1)"}),
        "ta_request": (("country",), (ta.values > 0).astype(np.int8),
                       {"long_name": "technical-assistance request in the last 3 years (0/1)"}),
        "ratified_fl": (("country",), np.sum([at(f"ratified_{c}") for c in ("C029", "C105",
                                                                             "P029")], axis=0)
                        .astype(np.int8), {"long_name": "of C029, C105, P029 ratified"}),
        "ratified_cl": (("country",), np.sum([at(f"ratified_{c}") for c in ("C138", "C182")],
                                             axis=0).astype(np.int8), {"long_name": "of C138, C182 ratified"}),
    }
    return ctx


def score_month(models: dict[str, tuple[RiskModel, dict[str, Any]]], inputs: xr.Dataset,
                cube: xr.Dataset, month: int, attrs: dict[str, Any]) -> xr.Dataset:
    """The risk dataset for time index `month` and every target in `models`."""
    shape = (inputs.sizes["lat"], inputs.sizes["lon"])
    country_id = inputs["country_id"].values
    admin1_id = inputs["admin1_id"].values
    cells = land_cells(country_id)
    targets = list(models)
    first_model = next(iter(models.values()))[0]
    features = list(first_model.feature_names_in_)
    domain_of = np.array([CATALOGUE[f].domain if f in CATALOGUE else "other" for f in features])
    n_admin = inputs.sizes["admin1"]
    pop_cells = np.nan_to_num(inputs["population"].values.ravel()[cells])

    risk, lo, hi, dfeat, dcontrib, dom, a_feat, a_contrib = ([] for _ in range(8))
    for target in targets:
        model, meta = models[target]
        if list(model.feature_names_in_) != features:
            raise ValueError("all targets must use the same feature list")
        s = score_target(model, meta, cube, month, cells)
        risk.append(_grid(s["risk"], cells, shape))
        lo.append(_grid(s["lo"], cells, shape))
        hi.append(_grid(s["hi"], cells, shape))
        idx, val = _top_drivers(s["contrib"], N_DRIVERS)
        dfeat.append(np.stack([_grid(idx[:, r], cells, shape, -1, np.int16)
                               for r in range(idx.shape[1])]))
        dcontrib.append(np.stack([_grid(val[:, r], cells, shape) for r in range(val.shape[1])]))
        dom.append(np.stack([_grid(s["contrib"][:, domain_of == d].sum(1), cells, shape)
                             for d in DOMAINS]))
        # Admin-1 drivers: population-weighted mean contribution of the unit's cells.
        contrib_grid = np.full((len(features), *shape), np.nan, dtype=np.float64)
        contrib_grid.reshape(len(features), -1)[:, cells] = s["contrib"].T
        weights = _grid(pop_cells, cells, shape, 0.0, np.float64)
        per_admin = kernels.zonal_stats(contrib_grid, admin1_id, n_admin, stat="weighted_mean",
                                        weights=weights)  # (feature, admin1)
        ai, av = _top_drivers(np.nan_to_num(per_admin.T, nan=-np.inf), N_DRIVERS)
        a_feat.append(ai)
        a_contrib.append(av)

    time = inputs["time"].values[month:month + 1]
    g4 = ("target", "time", "lat", "lon")
    prob = {"units": "1", "valid_min": 0.0, "valid_max": 1.0}
    horizon = attrs.get("horizon", "H")
    band = {"nominal_coverage": float(first_model.interval),
            "comment": "band for the cell's true risk, calibrated at observed inspection "
                       "coverage; the extrapolation to the reference coverage is not "
                       "included (docs/models.md)"}
    ds = xr.Dataset(
        {
            "risk": (g4, np.stack(risk)[:, None], {
                **prob, "long_name": f"calibrated probability that at least one case is "
                                     f"identified in the next {horizon} months at standard "
                                     f"detection"}),
            "risk_lo": (g4, np.stack(lo)[:, None], {**prob, **band, "long_name": "lower bound "
                                                    "of the risk interval"}),
            "risk_hi": (g4, np.stack(hi)[:, None], {**prob, **band, "long_name": "upper bound "
                                                    "of the risk interval"}),
            "driver_feature": (("target", "time", "rank", "lat", "lon"),
                               np.stack(dfeat)[:, None],
                               {"long_name": "index into `feature` of the rank-th driver "
                                             "raising risk (-1: none)"}),
            "driver_contrib": (("target", "time", "rank", "lat", "lon"),
                               np.stack(dcontrib)[:, None],
                               {"units": "1", "long_name": "log-odds contribution of the "
                                                          "driver (LightGBM pred_contrib)"}),
            "domain_contrib": (("target", "time", "domain", "lat", "lon"),
                               np.stack(dom)[:, None].astype(np.float32),
                               {"units": "1", "long_name": "summed log-odds contribution of "
                                                          "the domain's features"}),
            "admin1_driver_feature": (("target", "time", "rank", "admin1"),
                                      np.stack([a.T for a in a_feat])[:, None],
                                      {"long_name": "index into `feature` of the admin-1 "
                                                    "unit's rank-th driver (-1: none)"}),
            "admin1_driver_contrib": (("target", "time", "rank", "admin1"),
                                      np.stack([a.T for a in a_contrib])[:, None],
                                      {"units": "1", "long_name": "population-weighted mean "
                                                                  "log-odds contribution"}),
            "feature_domain": (("feature",), np.array([str(d) for d in domain_of], dtype=object)),
            "country_id": inputs["country_id"].variable,
            "admin1_id": inputs["admin1_id"].variable,
            "admin1_country": inputs["admin1_country"].variable,
            **_context(inputs, month),
        },
        coords={
            "target": ("target", np.array(targets, dtype=object)),
            "time": ("time", time, inputs["time"].attrs),
            "lat": inputs["lat"], "lon": inputs["lon"],
            "rank": ("rank", np.arange(1, N_DRIVERS + 1, dtype=np.int8)),
            "feature": ("feature", np.array(features, dtype=object)),
            "domain": ("domain", np.array(DOMAINS, dtype=object)),
            "country": inputs["country"], "country_name": inputs["country_name"],
            "admin1": inputs["admin1"], "admin1_name": inputs["admin1_name"],
        },
        attrs={"title": "riskmodel risk scores", "Conventions": "CF-1.8", **attrs},
    )
    return ds
