"""One night's risk dataset with partners' own models: the cells of each outcome partner's
countries scored by the model trained on that partner's visit outcomes (area offsets
added), every other cell by the config's model.

`[model] outcomes_partner` names the partners whose outcomes train models of their own
(`riskmodel.training.ensure_partner_models`). No other partner may cover their countries
for their targets (`riskmodel.training.check_outcome_partners`), and alert clusters grow
within a country's partner zone (`riskmodel.alerts.publish.partner_zones`), percentile
rules rank within a country: so what a partner's outcomes change reaches only that
partner's cells, alerts and percentile ranks, never another partner's view.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from riskmodel.alerts.partners import PartnersConfig
from riskmodel.models.outcomes import apply_area_offsets
from riskmodel.models.registry import RegisteredModel


def offsets_of(models: Mapping[str, RegisteredModel]) -> dict[str, dict[str, float]]:
    """{target: {admin1 code: log-odds offset}} stored in the metadata of a partner's
    models (`outcomes.area_offsets`; none when no offsets were fitted)."""
    out: dict[str, dict[str, float]] = {}
    for target, reg in models.items():
        areas = reg.meta.get("outcomes", {}).get("area_offsets", {}).get("areas", {})
        out[target] = {code: float(v["offset"]) for code, v in areas.items()}
    return out


def country_cells(risk: xr.Dataset, countries: tuple[str, ...]) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """((lat, lon) bool, (admin1,) bool): the cells and admin-1 units of `countries`."""
    codes = [str(c) for c in risk["country"].values]
    idx = [codes.index(c) for c in countries if c in codes]
    cells = np.isin(risk["country_id"].values, idx)
    units = np.isin(risk["admin1_country"].values, idx)
    return cells, units


def compose_partner_risk(base: xr.Dataset, own: Mapping[str, xr.Dataset],
                         partners: PartnersConfig,
                         model_ids: Mapping[str, Mapping[str, str]]) -> xr.Dataset:
    """`base` with, for each partner P of `own` (P's risk dataset, offsets applied), every
    variable on (target, ..., lat, lon) or (target, ..., admin1) taken from P's dataset in
    P's countries for the targets P's dataset holds. Records `admin1_offset` (zeros
    outside the partners' units), the partners (`outcomes_partners`) and their model ids
    (`model_id_<target>_<partner>`) in the attrs."""
    out = base.copy()
    out["admin1_offset"] = (("target", "admin1"),
                            np.zeros((base.sizes["target"], base.sizes["admin1"]), np.float32),
                            {"units": "1", "long_name": "log-odds offset added to the risk "
                             "of the unit's cells, fitted from the visit outcomes of the "
                             "partner covering it (0: no correction)"})
    targets = [str(t) for t in base["target"].values]
    for pid, ds in own.items():
        cells, units = country_cells(base, partners.get(pid).countries)
        for t in (str(t) for t in ds["target"].values):
            ti = targets.index(t)
            for name, src in ds.data_vars.items():
                if "target" not in src.dims or name not in out:
                    continue
                if "lat" in src.dims and "lon" in src.dims:
                    mask = xr.DataArray(cells, dims=("lat", "lon"))
                elif "admin1" in src.dims:
                    mask = xr.DataArray(units, dims=("admin1",))
                else:
                    continue
                dst = out[name]
                new = xr.where(mask, src.sel(target=t), dst.sel(target=t))
                values = dst.values.copy()
                axis = dst.dims.index("target")
                moved = np.moveaxis(values, axis, 0)
                moved[ti] = new.transpose(*[d for d in dst.dims if d != "target"]).values
                out[name] = (dst.dims, values, dst.attrs)
            out.attrs[f"model_id_{t}_{pid}"] = model_ids[pid][t]
    out.attrs["outcomes_partners"] = " ".join(own)
    return out


def partner_risk(base: xr.Dataset, scored: Mapping[str, xr.Dataset],
                 models: Mapping[str, Mapping[str, RegisteredModel]],
                 partners: PartnersConfig) -> xr.Dataset:
    """The night's risk dataset of one month: each partner's scores (`scored`, from its own
    `models`) with its area offsets added, composed over `base` (`compose_partner_risk`)."""
    own = {pid: apply_area_offsets(ds, offsets_of(models[pid]), pid)
           for pid, ds in scored.items()}
    ids = {pid: {t: reg.model_id for t, reg in models[pid].items()} for pid in scored}
    return compose_partner_risk(base, own, partners, ids)
