"""The region risk dataset: modelled estimates, relative risk and drivers per region and year.

This is the contract between the real-world models and every region output (`risk.nc`,
`regions.geojson`, the report, the alerts); docs/architecture.md ("Region risk") lists its
variables. `assemble_region_risk` builds it from plain arrays on (year, region): it ranks
each target's estimates into the relative risk score (the percentile among the regions
scored that year, Hazen plotting position, so the interval ends rank on the same scale),
turns the reasons of unscored regions into one CF flag variable, and sets the CF attributes.
`validate_region_risk` is the gate every consumer calls first; `unscored_regions` lists the
regions without a score with their reason; `write_region_risk_nc` writes the CF NetCDF.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from riskmodel.errors import InputError
from riskmodel.io.netcdf import write_netcdf

TARGETS = ("cl", "fl")
RANKS = 3
RATE_UNITS = {"cl": "percent", "fl": "1e-5"}
RATE_UNITS_TEXT = {"cl": "% of children aged 5-17", "fl": "per 100,000 population"}
RATE_LONG_NAME = {
    "cl": "modelled share of children aged 5-17 in child labour",
    "fl": "modelled detected victims of trafficking for forced labour per 100,000 population",
}
TARGET_NAME = {"cl": "child labour", "fl": "forced labour"}
STATEMENT = (
    "Modelled estimates, not measurements: each region's value comes from models trained on "
    "country-level outcomes (surveys of child labour, detected victims of trafficking for "
    "forced labour) and applied to sub-national and national inputs. They are not validated "
    "at region level. The risk score is a relative rank among the regions scored that year, "
    "not a probability; forced-labour estimates count detected victims, which depend on "
    "detection effort as much as on prevalence.")
GDL_CODE = re.compile(r"^[A-Z]{3}(r\d{3}|t)$")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
SCORED = "scored"  # status 0


@dataclass(frozen=True)
class TargetEstimate:
    """One target's model output on (year, region): the estimate and its 80% interval in the
    target's units (`RATE_UNITS`), NaN where the region is not scored, with the reason in
    `reasons` ("" where scored); the top drivers as feature indices (-1: none) and signed
    contributions in `contrib_units` on (year, rank, region). `standard` (forced labour):
    the estimate and interval with detection proxies at one reference level; the risk score
    ranks it instead of `rate`, so regions that detect more do not look riskier."""

    rate: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    driver_feature: np.ndarray
    driver_contrib: np.ndarray
    reasons: np.ndarray
    model_id: str
    contrib_units: str
    standard: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def percentile_rank(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Hazen percentile of each `at` among the finite `values`: (below + equal / 2) / n,
    in (0, 1); NaN where `at` is NaN or no value is finite. Monotone in `at`, so an
    interval's ends rank below and above its estimate."""
    v = np.sort(values[np.isfinite(values)])
    out = np.full(at.shape, np.nan)
    if v.size == 0:
        return out
    ok = np.isfinite(at)
    below = np.searchsorted(v, at[ok], side="left")
    upto = np.searchsorted(v, at[ok], side="right")
    out[ok] = (below + (upto - below) / 2.0) / v.size
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "unscored"


def _arr(name: str, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(a)
    if a.shape != shape:
        raise InputError(f"region risk: {name} has shape {a.shape}, expected {shape}")
    return a


def assemble_region_risk(*, years: Sequence[int], regions: Sequence[str],
                         iso3: Sequence[str], region_name: Sequence[str],
                         features: Sequence[str], feature_long_name: Sequence[str],
                         population: np.ndarray, estimates: Mapping[str, TargetEstimate],
                         country_name: Mapping[str, str], as_of: int, config_hash: str,
                         code_version: str, history: str,
                         feature_domain: Sequence[str] | None = None) -> xr.Dataset:
    """The region risk dataset from arrays (see the module docstring and the contract in
    docs/architecture.md). `population` is persons on (year, region); `estimates` maps
    each modelled target ("cl", "fl") to its `TargetEstimate`; `country_name` maps ISO
    codes to names (a code without a name is named by its code); `feature_domain` the
    catalogue domain of each feature. Raises InputError naming the array when a shape,
    code or reason does not fit."""
    years_a = np.asarray(years, dtype=np.int32)
    ny, nr, nf = years_a.size, len(regions), len(features)
    targets = [t for t in TARGETS if t in estimates]
    unknown = sorted(set(estimates) - set(TARGETS))
    if unknown or not targets:
        raise InputError(f"region risk: estimates for {unknown or 'no target'}; expected "
                         f"{' and/or '.join(TARGETS)}")
    domains = list(feature_domain) if feature_domain is not None else [""] * nf
    if len(iso3) != nr or len(region_name) != nr or len(feature_long_name) != nf or \
            len(domains) != nf:
        raise InputError("region risk: iso3, region_name must have one entry per region, "
                         "feature_long_name and feature_domain one per feature")
    countries = sorted(set(map(str, iso3)))
    pop = _arr("population", population, (ny, nr)).astype(np.float64)
    reason_texts = [SCORED]
    status = np.zeros((len(targets), ny, nr), dtype=np.int8)
    risk = np.full((len(targets), 3, ny, nr), np.nan)
    dfeat = np.full((len(targets), ny, RANKS, nr), -1, dtype=np.int16)
    dcon = np.full((len(targets), ny, RANKS, nr), np.nan, dtype=np.float32)
    data: dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]] = {}
    for ti, t in enumerate(targets):
        e = estimates[t]
        mid, lo, hi = (_arr(f"{t} {n}", a, (ny, nr)).astype(np.float64)
                       for n, a in (("rate", e.rate), ("lo", e.lo), ("hi", e.hi)))
        why = _arr(f"{t} reasons", e.reasons, (ny, nr)).astype(str)
        scored = np.isfinite(mid)
        if np.any(scored & (why != "")) or np.any(~scored & (why == "")):
            bad = np.argwhere(scored == (why != ""))[0]
            raise InputError(f"region risk: {t} region {regions[bad[1]]} year "
                             f"{years_a[bad[0]]}: a reason is required exactly where the "
                             f"estimate is missing")
        if np.any(scored & ~(np.isfinite(lo) & np.isfinite(hi))) or np.any(
                scored & ((lo > mid + 1e-9) | (hi < mid - 1e-9))):
            raise InputError(f"region risk: {t} interval does not contain its estimate "
                             f"(lo <= rate <= hi) in every scored region")
        for code in np.unique(why[~scored]):
            if _CONTROL.search(code):
                raise InputError(f"region risk: {t} reason {code[:40]!r} has a control "
                                 f"character")
            if code not in reason_texts:
                reason_texts.append(code)
        if len(reason_texts) > 127:  # score_status is int8
            raise InputError(f"region risk: {len(reason_texts) - 1} distinct reasons for "
                             f"unscored regions; at most 126 (group them)")
        status[ti] = np.vectorize(reason_texts.index, otypes=[np.int8])(
            np.where(scored, SCORED, why)) if nr and ny else status[ti]
        rank_on = (mid, lo, hi)
        if e.standard is not None:
            rank_on = tuple(_arr(f"{t} standard detection {n}", a, (ny, nr)).astype(np.float64)
                            for n, a in zip(("rate", "lo", "hi"), e.standard, strict=True))
            if np.any(scored != np.isfinite(rank_on[0])):
                raise InputError(f"region risk: {t} standard-detection estimate must be "
                                 f"present exactly where the estimate is")
        for yi in range(ny):
            for k in range(3):
                risk[ti, k, yi] = percentile_rank(rank_on[0][yi], rank_on[k][yi])
        df = _arr(f"{t} driver_feature", e.driver_feature, (ny, RANKS, nr)).astype(np.int64)
        if df.size and (df.min() < -1 or df.max() >= nf):
            raise InputError(f"region risk: {t} driver_feature outside -1..{nf - 1}")
        dfeat[ti] = df
        dcon[ti] = _arr(f"{t} driver_contrib", e.driver_contrib, (ny, RANKS, nr))
        dim2 = ("year", "region")
        data[f"{t}_rate"] = (dim2, mid.astype(np.float32), {
            "long_name": RATE_LONG_NAME[t], "units": RATE_UNITS[t]})
        for end, arr in (("lo", lo), ("hi", hi)):
            data[f"{t}_rate_{end}"] = (dim2, arr.astype(np.float32), {
                "long_name": f"{'lower' if end == 'lo' else 'upper'} end of the 80% interval "
                             f"of {t}_rate", "units": RATE_UNITS[t]})
        if e.standard is not None:
            for suffix, arr in zip(("", "_lo", "_hi"), rank_on, strict=True):
                data[f"{t}_rate_standard_detection{suffix}"] = (dim2, arr.astype(np.float32), {
                    "long_name": f"{RATE_LONG_NAME[t]}, detection proxies at one reference "
                                 f"level{' (80% interval ' + suffix[1:] + ')' if suffix else ''}",
                    "units": RATE_UNITS[t]})
    meanings = []
    for text in reason_texts:
        s = _slug(text)
        while s in meanings:
            s += "_"
        meanings.append(s)
    tdims = ("target", "year", "region")
    for k, name, what in ((0, "risk", "relative risk score: percentile of the region among "
                                      "the regions scored that year"),
                          (1, "risk_lo", "percentile of the lower end of the 80% interval"),
                          (2, "risk_hi", "percentile of the upper end of the 80% interval")):
        data[name] = (tdims, risk[:, k].astype(np.float32), {
            "long_name": what, "units": "1", "valid_min": np.float32(0),
            "valid_max": np.float32(1)})
    data["score_status"] = (tdims, status, {
        "long_name": "whether the region is scored, else why not (text in status_reason)",
        "flag_values": np.arange(len(reason_texts), dtype=np.int8),
        "flag_meanings": " ".join(meanings)})
    ddims = ("target", "year", "rank", "region")
    data["driver_feature"] = (ddims, dfeat, {
        "long_name": "index into feature of the rank-th driver of the estimate",
        "comment": "-1: no driver"})
    data["driver_contrib"] = (ddims, dcon, {
        "long_name": "signed contribution of the driver to the estimate (positive raises "
                     "it), in the units of attribute contrib_units_<target>",
        "units": "1"})
    data["population"] = (("year", "region"), pop, {"long_name": "population",
                                                    "units": "1", "comment": "persons"})
    coords = {
        "target": ("target", np.asarray(targets), {"long_name": "modelled outcome"}),
        # Not a CF time coordinate (no "years since" units: a calendar year is not a
        # fixed number of seconds); an integer label like `target`.
        "year": ("year", years_a, {"long_name": "calendar year the estimate describes"}),
        "region": ("region", np.asarray(list(regions)), {
            "long_name": "Global Data Lab sub-national region code (gdlcode)"}),
        "rank": ("rank", np.arange(1, RANKS + 1, dtype=np.int8), {
            "long_name": "driver rank (1: largest contribution)"}),
        "feature": ("feature", np.asarray(list(features)), {"long_name": "model feature"}),
        "feature_long_name": ("feature", np.asarray(list(feature_long_name)),
                              {"long_name": "meaning of the feature"}),
        "feature_domain": ("feature", np.asarray(domains, dtype=str),
                           {"long_name": "feature catalogue domain"}),
        "country": ("country", np.asarray(countries, dtype=str),
                    {"long_name": "ISO 3166-1 alpha-3 country code"}),
        "country_name": ("country", np.asarray([str(country_name.get(c, c))
                                                for c in countries], dtype=str),
                         {"long_name": "country name"}),
        "iso3": ("region", np.asarray(list(iso3)),
                 {"long_name": "ISO 3166-1 alpha-3 code of the region's country"}),
        "region_name": ("region", np.asarray(list(region_name)), {"long_name": "region name"}),
        "status_reason": ("status", np.asarray(reason_texts), {
            "long_name": "meaning of score_status values"}),
    }
    attrs = {
        "title": "riskmodel: modelled child- and forced-labour risk of sub-national regions",
        "Conventions": "CF-1.8", "synthetic": np.int8(0), "as_of": str(int(as_of)),
        "statement": STATEMENT, "config_hash": config_hash, "code_version": code_version,
        "history": history, "source": "riskmodel region models on public data",
        **{f"model_id_{t}": estimates[t].model_id for t in targets},
        **{f"contrib_units_{t}": estimates[t].contrib_units for t in targets},
    }
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    validate_region_risk(ds)
    return ds


REQUIRED_ATTRS = ("title", "Conventions", "synthetic", "as_of", "statement", "config_hash",
                  "code_version", "history")


def is_region_risk(ds: xr.Dataset) -> bool:
    """True when `ds` is on regions (dim `region`), not on a lat/lon grid."""
    return "region" in ds.dims


def validate_region_risk(ds: xr.Dataset) -> None:
    """Raise InputError naming the variable, code or attribute where `ds` breaks the region
    risk contract; return None when it holds."""
    for d in ("target", "year", "region", "rank", "feature", "status", "country"):
        if d not in ds.dims:
            raise InputError(f"region risk: missing dimension {d!r}")
    for name in ("risk", "risk_lo", "risk_hi", "score_status", "driver_feature",
                 "driver_contrib", "population", "iso3", "region_name", "status_reason",
                 "feature_long_name", "country_name"):
        if name not in ds.variables:
            raise InputError(f"region risk: missing variable {name!r}")
    for a in REQUIRED_ATTRS:
        if a not in ds.attrs:
            raise InputError(f"region risk: missing attribute {a!r}")
    if str(ds.attrs["synthetic"]) not in ("0", "False"):
        raise InputError(f"region risk: attribute synthetic is {ds.attrs['synthetic']!r}; "
                         f"region risk describes the real world (0)")
    years = ds["year"].values
    if years.dtype.kind not in "iu" or (years.size > 1 and np.any(np.diff(years) <= 0)):
        raise InputError("region risk: year must be integers, strictly ascending")
    as_of = str(ds.attrs["as_of"])
    if not as_of.isdigit() or int(as_of) not in years.tolist():
        raise InputError(f"region risk: as_of {as_of!r} is not a year on the year axis")
    targets = [str(t) for t in ds["target"].values]
    for t in targets:
        if t not in TARGETS:
            raise InputError(f"region risk: target {t!r}; expected one of {TARGETS}")
        for v in (f"{t}_rate", f"{t}_rate_lo", f"{t}_rate_hi"):
            if v not in ds:
                raise InputError(f"region risk: missing variable {v!r}")
            if ds[v].attrs.get("units") != RATE_UNITS[t]:
                raise InputError(f"region risk: {v} units {ds[v].attrs.get('units')!r}; "
                                 f"expected {RATE_UNITS[t]!r}")
        if f"model_id_{t}" not in ds.attrs:
            raise InputError(f"region risk: missing attribute 'model_id_{t}'")
    codes = [str(c) for c in ds["region"].values]
    if len(set(codes)) != len(codes):
        raise InputError("region risk: region codes are not unique")
    for i, code in enumerate(codes):
        if not GDL_CODE.match(code):
            raise InputError(f"region risk: region[{i}] {code[:40]!r} is not a GDL code "
                             f"(AAAr123 or AAAt)")
    for i, c in enumerate(str(c) for c in ds["iso3"].values):
        if not _ISO3.match(c):
            raise InputError(f"region risk: iso3[{i}] {c[:40]!r} is not ISO 3166-1 alpha-3")
    if not set(map(str, ds["iso3"].values)) <= set(map(str, ds["country"].values)):
        raise InputError("region risk: an iso3 of a region is not on the country axis")
    for name in ("region_name", "feature", "feature_long_name", "status_reason",
                 "country_name"):
        for i, text in enumerate(str(v) for v in ds[name].values):
            if _CONTROL.search(text):
                raise InputError(f"region risk: {name}[{i}] {text[:40]!r} contains a control "
                                 f"character")
    r = ds["risk"].values
    lo, hi = ds["risk_lo"].values, ds["risk_hi"].values
    fin = np.isfinite(r)
    if np.any((r[fin] < 0) | (r[fin] > 1)):
        raise InputError("region risk: risk outside [0, 1]")
    if np.any(fin & ~(lo <= r + 1e-6)) or np.any(fin & ~(hi >= r - 1e-6)):
        raise InputError("region risk: risk_lo <= risk <= risk_hi does not hold everywhere")
    status = ds["score_status"].values
    if np.any((status == 0) != fin):
        raise InputError("region risk: score_status 0 (scored) must match where risk is "
                         "finite")
    if status.size and (status.min() < 0 or status.max() >= ds.sizes["status"]):
        raise InputError("region risk: score_status outside the status_reason list")
    f = ds["driver_feature"].values
    if f.size and (f.min() < -1 or f.max() >= ds.sizes["feature"]):
        raise InputError(f"region risk: driver_feature outside -1..{ds.sizes['feature'] - 1}")


def unscored_regions(ds: xr.Dataset, year: int | None = None) -> list[dict[str, str]]:
    """Every (target, region) without a score in `year` (default `as_of`), with its reason:
    dicts with target, region, iso3, name, reason; sorted by target, iso3, region."""
    y = int(ds.attrs["as_of"]) if year is None else int(year)
    st = ds["score_status"].sel(year=y).transpose("target", "region").values
    reasons = [str(x) for x in ds["status_reason"].values]
    out = []
    for ti, t in enumerate(str(x) for x in ds["target"].values):
        for ri in np.flatnonzero(st[ti] != 0):
            out.append({"target": t, "region": str(ds["region"].values[ri]),
                        "iso3": str(ds["iso3"].values[ri]),
                        "name": str(ds["region_name"].values[ri]),
                        "reason": reasons[int(st[ti, ri])]})
    return sorted(out, key=lambda d: (d["target"], d["iso3"], d["region"]))


def driver_words(ds: xr.Dataset, target: str, year: int) -> list[list[str]]:
    """Per region (dataset order), its top drivers in words with their direction and size,
    e.g. "mean years of schooling (msch) raises the estimate (+1.20 percentage points)";
    an empty list for a region without drivers."""
    sel = {"target": target, "year": year}
    f = ds["driver_feature"].sel(sel).transpose("region", "rank").values.tolist()
    c = ds["driver_contrib"].sel(sel).transpose("region", "rank").values.tolist()
    units = str(ds.attrs.get(f"contrib_units_{target}", ""))
    names = [str(x) for x in ds["feature"].values]
    longs = [str(x) for x in ds["feature_long_name"].values]
    labels = [f"{lg} ({n})" if lg and lg != n else n for n, lg in zip(names, longs, strict=True)]
    out = []
    for fr, cr in zip(f, c, strict=True):
        words = []
        for fi, ci in zip(fr, cr, strict=True):
            if fi < 0 or not math.isfinite(ci) or ci == 0:
                continue
            verb = "raises" if ci > 0 else "lowers"
            size = f"{ci:+.2f} {units}".strip()
            words.append(f"{labels[fi]} {verb} the estimate ({size})")
        out.append(words)
    return out


def write_region_risk_nc(ds: xr.Dataset, dest: Path | str) -> Path:
    """Write `ds` (validated first) as CF NetCDF-4 at `dest`, atomically, with the engine's
    one NetCDF writer (`riskmodel.io.netcdf.write_netcdf`: no fill value on coordinates,
    types and attributes as CF-1.8 wants them)."""
    validate_region_risk(ds)
    dest = Path(dest)
    write_netcdf(ds, dest)
    return dest
