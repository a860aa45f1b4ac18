"""Alert areas from a risk grid: admin-1 aggregation and connected clusters of cells.

A partner acts on named places, so the risk grid of one target and month is turned into
areas, each with one risk value (population-weighted mean of its cells by default, so a
single noisy cell does not raise a whole province), its interval, its exposed population
(children for CL), its top drivers (population-weighted sums of the cells' LightGBM
contributions) and the cells it covers. Admin-1 areas come from `admin1_id`; clusters are
4-connected groups of cells above a threshold within one country, grown by hysteresis
(cells above `leave` attached to a core above `enter`) so their outline does not flicker.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from riskmodel.alerts.geometry import Polygon, cell_edges, mask_polygons
from riskmodel.errors import InputError

AGGREGATES = ("pop_mean", "mean", "max")


@dataclass
class Area:
    """One candidate alert area for one target and month."""

    key: str  # stable id: admin-1 id ("XAB-03"), cluster id ("XAB-c0041-0107") or gdlcode
    kind: str  # "admin1" | "cluster" | "region"
    target: str
    country: str
    country_name: str
    admin1: tuple[str, ...]  # admin-1 ids the area lies in (partner scoping uses these)
    name: str
    risk: float
    risk_lo: float
    risk_hi: float
    risk_max: float
    population: float
    child_population: float
    exposed: float  # risk-weighted persons at risk (children for CL)
    n_cells: int
    drivers: tuple[tuple[str, str, float], ...]  # (feature, domain, log-odds contribution)
    cells: np.ndarray = field(repr=False)  # flat indices into (lat, lon)
    domains: dict[str, float] = field(default_factory=dict)  # mean log-odds per domain
    ctx: dict[str, float] = field(default_factory=dict)  # country programme/ratification facts
    # Region areas: the modelled estimate behind the score (rate, interval, units, year).
    estimates: dict[str, Any] = field(default_factory=dict)


def select_month(risk: xr.Dataset) -> np.datetime64:
    """The scored month: `attrs['as_of']` (which must be on the time axis), else the last."""
    times = risk["time"].values
    as_of = risk.attrs.get("as_of")
    if as_of:
        try:
            t = np.datetime64(f"{as_of}-01", "ns")
        except ValueError:
            raise InputError(f"risk dataset: attrs['as_of'] {as_of!r} is not YYYY-MM") from None
        if t not in times:
            raise InputError(f"risk dataset: as_of {as_of} is not on its time axis "
                             f"({', '.join(np.datetime_as_string(times, unit='M'))})")
        return t
    return times[-1]


def check_contract(risk: xr.Dataset) -> None:
    """Fail early, naming the variable, if the risk dataset breaks the alerts' contract."""
    for name in ("risk", "risk_lo", "risk_hi", "country_id", "admin1_id", "admin1_country"):
        if name not in risk:
            raise InputError(f"risk dataset: missing variable {name!r}")
    for name in ("target", "time", "lat", "lon", "country", "admin1"):
        if name not in risk.coords:
            raise InputError(f"risk dataset: missing coordinate {name!r}")
    for name in ("lat", "lon"):
        v = risk[name].values
        if v.size > 1 and not np.all(np.diff(v) > 0):
            raise InputError(f"risk dataset: {name} is not strictly ascending")
    r = risk["risk"].values
    finite = r[np.isfinite(r)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise InputError(f"risk dataset: risk outside [0, 1] "
                         f"(min {finite.min():.3g}, max {finite.max():.3g})")
    n_adm = risk.sizes["admin1"]
    a = risk["admin1_id"].values
    if a.size and (a.max() >= n_adm or a.min() < -1):
        raise InputError(f"risk dataset: admin1_id has ids outside -1..{n_adm - 1}")
    # Codes become alert ids, CAP identifiers and file names; names go into XML and CSV.
    for coord, pattern in (("country", _COUNTRY_CODE), ("admin1", _AREA_CODE)):
        for i, code in enumerate(str(c) for c in risk[coord].values):
            if not pattern.match(code):
                raise InputError(f"risk dataset: {coord}[{i}] code {code[:40]!r} is not "
                                 f"letters, digits, '_', '.', '-' (no '..', no '/')")
    for name in ("country_name", "admin1_name", "feature_domain"):
        if name in risk:
            for i, text in enumerate(str(v) for v in risk[name].values.ravel()):
                if _CONTROL.search(text):
                    raise InputError(f"risk dataset: {name}[{i}] {text[:40]!r} contains a "
                                     f"control character")
    if "feature" in risk.coords:
        for i, f in enumerate(str(v) for v in risk["feature"].values):
            if _CONTROL.search(f):
                raise InputError(f"risk dataset: feature[{i}] {f[:40]!r} contains a control "
                                 f"character")


_COUNTRY_CODE = re.compile(r"^[A-Z]{3}$")
_AREA_CODE = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def as_of_of(risk: xr.Dataset) -> str:
    """The run's month "YYYY-MM" (attrs['as_of'] or the last time step)."""
    as_of = risk.attrs.get("as_of")
    if as_of:
        return str(as_of)
    return str(np.datetime_as_string(risk["time"].values[-1], unit="M"))


class Grid:
    """The per-month arrays areas are built from, flattened once per target."""

    def __init__(self, risk: xr.Dataset, target: str, time: np.datetime64) -> None:
        sel = {"target": target, "time": time}
        for name in ("risk", "risk_lo", "risk_hi", "admin1_id", "country_id"):
            if name not in risk:
                raise InputError(f"risk dataset: missing variable {name!r}")
        self.lat = risk["lat"].values
        self.lon = risk["lon"].values
        self.shape = (self.lat.size, self.lon.size)
        self.target = target
        self.risk = risk["risk"].sel(sel).transpose("lat", "lon").values.astype(np.float64).ravel()
        self.lo = risk["risk_lo"].sel(sel).transpose("lat", "lon").values.astype(np.float64).ravel()
        self.hi = risk["risk_hi"].sel(sel).transpose("lat", "lon").values.astype(np.float64).ravel()
        self.admin1_id = risk["admin1_id"].transpose("lat", "lon").values.astype(np.int64).ravel()
        self.country_id = risk["country_id"].transpose("lat", "lon").values.astype(np.int64).ravel()
        self.pop = _grid_or(risk, "population", self.shape)
        self.child = _grid_or(risk, "child_population", self.shape)
        self.exposure_pop = self.child if target == "cl" else self.pop
        self.countries = [str(c) for c in risk["country"].values]
        self.country_names = _names(risk, "country_name", self.countries)
        self.admin1 = [str(a) for a in risk["admin1"].values]
        self.admin1_names = _names(risk, "admin1_name", self.admin1)
        self.admin1_country = risk["admin1_country"].values.astype(np.int64)
        self.features = [str(f) for f in risk["feature"].values] if "feature" in risk.coords else []
        self.domains = (_names(risk, "feature_domain", self.features)
                        if "feature_domain" in risk else ["" for _ in self.features])
        self.drv_f: np.ndarray | None = None
        self.drv_c: np.ndarray | None = None
        if "driver_feature" in risk and "driver_contrib" in risk and self.features:
            f = risk["driver_feature"].sel(sel).transpose("rank", "lat", "lon").values
            c = risk["driver_contrib"].sel(sel).transpose("rank", "lat", "lon").values
            self.drv_f = f.reshape(f.shape[0], -1).astype(np.int64)
            self.drv_c = np.nan_to_num(c.reshape(c.shape[0], -1).astype(np.float64))
        self.dom_names: list[str] = []
        self.dom_c: np.ndarray | None = None
        if "domain_contrib" in risk and "domain" in risk.coords:
            d = risk["domain_contrib"].sel(sel).transpose("domain", "lat", "lon").values
            self.dom_names = [str(x) for x in risk["domain"].values]
            self.dom_c = np.nan_to_num(d.reshape(d.shape[0], -1).astype(np.float64))
        self.ctx = _country_context(risk, target, len(self.countries))
        self.valid = np.isfinite(self.risk)


def _grid_or(risk: xr.Dataset, name: str, shape: tuple[int, int]) -> np.ndarray:
    if name not in risk:
        return np.ones(shape[0] * shape[1])
    return np.nan_to_num(risk[name].transpose("lat", "lon").values.astype(np.float64)).ravel()


def _names(risk: xr.Dataset, name: str, default: list[str]) -> list[str]:
    if name not in risk:
        return list(default)
    return [str(v) for v in risk[name].values]


def _country_context(risk: xr.Dataset, target: str, n: int) -> list[dict[str, float]]:
    """Per country: programme of this focus, any FPRW programme, TA request, ratifications."""
    def get(name: str) -> np.ndarray:
        return (risk[name].values.astype(np.float64) if name in risk else np.zeros(n))

    prog = get("programme_fl" if target == "fl" else "programme_cl")
    rat = get("ratified_fl" if target == "fl" else "ratified_cl")
    n_conv = 3.0 if target == "fl" else 2.0  # C029/C105/P029 vs C138/C182
    fprw, ta = get("programme_fprw"), get("ta_request")
    return [{"programme": float(prog[i]), "programme_fprw": float(fprw[i]),
             "ta_request": float(ta[i]), "ratified_share": float(min(rat[i] / n_conv, 1.0))}
            for i in range(n)]


def _aggregate(values: np.ndarray, weights: np.ndarray, groups: np.ndarray, n: int,
               how: str) -> np.ndarray:
    """Per-group statistic of `values` over valid cells (group -1 and NaN ignored)."""
    ok = (groups >= 0) & np.isfinite(values)
    g, v, w = groups[ok], values[ok], weights[ok]
    if how == "max":
        out = np.full(n, np.nan)
        np.fmax.at(out, g, v)
        return out
    if how == "mean":
        w = np.ones_like(v)
    sw = np.bincount(g, weights=w, minlength=n)
    swv = np.bincount(g, weights=w * v, minlength=n)
    cnt = np.bincount(g, minlength=n)
    plain = np.bincount(g, weights=v, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        # An area with no people falls back to the plain mean rather than vanishing.
        plain_mean = np.where(cnt > 0, plain / np.maximum(cnt, 1), np.nan)
        return np.where(sw > 0, swv / np.where(sw > 0, sw, 1), plain_mean)


def _drivers(grid: Grid, groups: np.ndarray, n: int, top: int = 3
             ) -> list[tuple[tuple[str, str, float], ...]]:
    """Top drivers per group: population-weighted sum of cell contributions per feature."""
    if grid.drv_f is None or grid.drv_c is None or not grid.features:
        return [() for _ in range(n)]
    nf = len(grid.features)
    acc = np.zeros((n, nf))
    w = np.where(grid.exposure_pop > 0, grid.exposure_pop, 0.0)
    wsum = np.bincount(np.where(groups >= 0, groups, 0), weights=np.where(groups >= 0, w, 0),
                       minlength=n)
    for r in range(grid.drv_f.shape[0]):
        f, c = grid.drv_f[r], grid.drv_c[r]
        ok = (groups >= 0) & (f >= 0) & (f < nf) & grid.valid
        np.add.at(acc, (groups[ok], f[ok]), c[ok] * w[ok])
    acc = acc / np.maximum(wsum, 1e-12)[:, None]
    out = []
    for i in range(n):
        order = np.argsort(-acc[i], kind="stable")
        out.append(tuple((grid.features[j], grid.domains[j], round(float(acc[i, j]), 4))
                         for j in order[:top] if acc[i, j] > 0))
    return out


def _domains(grid: Grid, groups: np.ndarray, n: int) -> list[dict[str, float]]:
    """Population-weighted mean log-odds contribution of each feature domain per group."""
    if grid.dom_c is None:
        return [{} for _ in range(n)]
    ok = (groups >= 0) & grid.valid
    w = np.where(ok, grid.exposure_pop, 0.0)
    g = np.where(ok, groups, 0)
    wsum = np.maximum(np.bincount(g, weights=w, minlength=n), 1e-12)
    sums = [np.bincount(g, weights=w * grid.dom_c[k], minlength=n) / wsum
            for k in range(len(grid.dom_names))]
    return [{name: round(float(sums[k][i]), 4) for k, name in enumerate(grid.dom_names)}
            for i in range(n)]


def admin1_areas(grid: Grid, how: str = "pop_mean") -> list[Area]:
    """One area per admin-1 unit that has at least one valid (land, scored) cell."""
    n = len(grid.admin1)
    groups = np.where(grid.valid, grid.admin1_id, -1)
    w = grid.exposure_pop
    risk = _aggregate(grid.risk, w, groups, n, how)
    lo = _aggregate(grid.lo, w, groups, n, how)
    hi = _aggregate(grid.hi, w, groups, n, how)
    rmax = _aggregate(grid.risk, w, groups, n, "max")
    pop = np.bincount(groups[groups >= 0], weights=grid.pop[groups >= 0], minlength=n)
    child = np.bincount(groups[groups >= 0], weights=grid.child[groups >= 0], minlength=n)
    exposed = np.bincount(groups[groups >= 0],
                          weights=(grid.exposure_pop * np.nan_to_num(grid.risk))[groups >= 0],
                          minlength=n)
    ncell = np.bincount(groups[groups >= 0], minlength=n)
    drivers = _drivers(grid, groups, n)
    domains = _domains(grid, groups, n)
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(n + 1))
    out = []
    for i in range(n):
        if ncell[i] == 0:
            continue
        c = int(grid.admin1_country[i])
        out.append(Area(
            key=grid.admin1[i], kind="admin1", target=grid.target,
            country=grid.countries[c], country_name=grid.country_names[c],
            admin1=(grid.admin1[i],), name=grid.admin1_names[i],
            risk=float(risk[i]), risk_lo=float(lo[i]), risk_hi=float(hi[i]),
            risk_max=float(rmax[i]), population=float(pop[i]), child_population=float(child[i]),
            exposed=float(exposed[i]), n_cells=int(ncell[i]), drivers=drivers[i],
            cells=np.sort(order[bounds[i]:bounds[i + 1]]), ctx=grid.ctx[c],
            domains=domains[i]))
    return out


def _cluster_labels(grid: Grid, enter: float, leave: float, min_cells: int,
                    keep: list[np.ndarray], zones: np.ndarray | None = None
                    ) -> tuple[np.ndarray, int]:
    """Flat labels (-1: none) of clusters and their count; see `cluster_areas`."""
    r = np.where(grid.valid, grid.risk, -np.inf).reshape(grid.shape)
    cid = (grid.country_id if zones is None else np.asarray(zones, dtype=np.int64)
           ).reshape(grid.shape)
    weak_all = r >= leave
    seed = r >= enter
    kept = np.zeros(grid.shape[0] * grid.shape[1], dtype=bool)
    for cells in keep:
        kept[np.asarray(cells, dtype=np.int64)] = True
    kept = kept.reshape(grid.shape) & weak_all
    seed |= kept  # an open alert's cells still above `leave` keep it alive (hysteresis)
    comp = np.zeros(grid.shape, dtype=np.int64)
    n_comp = 0
    # Label each zone (country, or partner scope within it) inside its bounding box: cheap,
    # and clusters never cross borders.
    for c, box in enumerate(ndimage.find_objects(np.where(cid >= 0, cid + 1, 0))):
        if box is None:
            continue
        lab, n = ndimage.label(weak_all[box] & (cid[box] == c))
        if n:
            sub = comp[box]
            sub[lab > 0] = lab[lab > 0] + n_comp
            n_comp += n
    flat = comp.ravel()
    # Union components that share an open alert, so a splitting cluster stays one alert.
    parent = np.arange(n_comp + 1)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    for cells in keep:
        ids = np.unique(flat[np.asarray(cells, dtype=np.int64)])
        ids = ids[ids > 0]
        for j in ids[1:]:
            parent[find(int(j))] = find(int(ids[0]))
    roots = np.array([find(i) for i in range(n_comp + 1)])
    has_seed = np.zeros(n_comp + 1, dtype=bool)
    has_seed[roots[np.unique(flat[seed.ravel()])]] = True
    has_keep = np.zeros(n_comp + 1, dtype=bool)
    has_keep[roots[np.unique(flat[kept.ravel()])]] = True
    size = np.bincount(roots[flat], minlength=n_comp + 1)
    ok = has_seed & ((size >= min_cells) | has_keep)
    ok[0] = False
    new_id = np.full(n_comp + 1, -1, dtype=np.int64)
    new_id[ok] = np.arange(int(ok.sum()))
    return new_id[roots[flat]], int(ok.sum())


def cluster_areas(grid: Grid, enter: float, leave: float, min_cells: int = 1,
                  how: str = "pop_mean", keep: list[np.ndarray] | None = None,
                  zones: np.ndarray | None = None) -> list[Area]:
    """Connected clusters (4-neighbour, within one country) of cells at or above `leave`
    that contain a cell at or above `enter` (hysteresis thresholding), at least `min_cells`.

    `zones` (flat, int, -1 outside; default the countries) splits countries further:
    clusters never cross a zone border, so a cluster stays within one partner's scope.

    `keep` lists the cells of open cluster alerts: their cells above `leave` count as
    seeds (an alert fades only below `leave`), and pieces of one alert that split apart
    stay one area, so the alert neither dies nor multiplies while it is still warm.
    """
    labels_all, n_lab = _cluster_labels(grid, enter, leave, min_cells, list(keep or []), zones)
    out: list[Area] = []
    if n_lab == 0:
        return out
    w = grid.exposure_pop
    risk = _aggregate(grid.risk, w, labels_all, n_lab, how)
    lo = _aggregate(grid.lo, w, labels_all, n_lab, how)
    hi = _aggregate(grid.hi, w, labels_all, n_lab, how)
    rmax = _aggregate(grid.risk, w, labels_all, n_lab, "max")
    drivers = _drivers(grid, labels_all, n_lab)
    domains = _domains(grid, labels_all, n_lab)
    order = np.argsort(labels_all, kind="stable")
    bounds = np.searchsorted(labels_all[order], np.arange(n_lab + 1))
    a_index = {a: i for i, a in enumerate(grid.admin1)}
    for i in range(n_lab):
        cells = np.sort(order[bounds[i]:bounds[i + 1]])
        c = int(grid.country_id[cells[0]])
        adm = sorted({grid.admin1[a] for a in np.unique(grid.admin1_id[cells]) if a >= 0})
        peak = cells[int(np.nanargmax(grid.risk[cells]))]
        py, px = divmod(int(peak), grid.shape[1])
        names = [grid.admin1_names[a_index[a]] for a in adm]
        out.append(Area(
            key=f"{grid.countries[c]}-c{py:04d}-{px:04d}", kind="cluster", target=grid.target,
            country=grid.countries[c], country_name=grid.country_names[c], admin1=tuple(adm),
            name="cluster in " + ", ".join(names), risk=float(risk[i]),
            risk_lo=float(lo[i]), risk_hi=float(hi[i]), risk_max=float(rmax[i]),
            population=float(grid.pop[cells].sum()),
            child_population=float(grid.child[cells].sum()),
            exposed=float((grid.exposure_pop[cells] * grid.risk[cells]).sum()),
            n_cells=int(cells.size), drivers=drivers[i], cells=cells, ctx=grid.ctx[c],
            domains=domains[i]))
    return out


def area_polygons(grid_shape: tuple[int, int], cells: np.ndarray, lat: np.ndarray,
                  lon: np.ndarray) -> list[Polygon]:
    """Outline polygons (lon, lat) of a set of flat cell indices."""
    iy, ix = np.divmod(np.asarray(cells, dtype=np.int64), grid_shape[1])
    if iy.size == 0:
        return []
    # Trace inside the bounding box only: cost follows the area, not the whole grid.
    y0, y1, x0, x1 = iy.min(), iy.max() + 1, ix.min(), ix.max() + 1
    mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    mask[iy - y0, ix - x0] = True
    ye = cell_edges(lat)[y0:y1 + 1]
    xe = cell_edges(lon)[x0:x1 + 1]
    return mask_polygons(mask, lat[y0:y1], lon[x0:x1], edges=(ye, xe))
