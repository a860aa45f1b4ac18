"""`report.html` of a nightly run, for the manager who acts on it: the alerts as a table
(area, country, risk and interval, state, priority, drivers in words), risk maps with the
alert areas outlined (static PNGs, and interactive maps one zooms and hovers, offline), the
highest-risk areas, every warning of the input checks, targeting, and the run's facts,
with a banner on anything from the synthetic world.

The page is a sequence of sections, each a function of `ReportContext` returning HTML;
`write_run_report` writes `DEFAULT_SECTIONS` unless given others, so a new section is one
function added to that sequence.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

import kernels
from riskmodel.alerts.geometry import cell_edges, mask_polygons
from riskmodel.checks.findings import OVERRIDES
from riskmodel.checks.rows import FeatureRows
from riskmodel.io.atomic import write_text
from riskmodel.kpis.section import run_kpi_section
from riskmodel.report.drivers import AreaLevels, area_levels, describe_driver
from riskmodel.report.interactive import MAP_CSS, copy_leaflet, map_block, scripts, shapes_block
from riskmodel.report.maps import _coarsen_factor, colour_stops, save_grid_png, save_map

TARGET_NAMES = {"fl": "forced labour", "cl": "child labour"}
CSS = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;color:#222;
padding:0 1rem}.banner{background:#fde8e8;border:1px solid #c0392b;padding:.6rem 1rem;
margin-bottom:1rem}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;
padding:.25rem .5rem;font-size:.9rem;text-align:left;vertical-align:top}th{background:#f4f4f4}
img{max-width:100%}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.drivers{margin:0;padding-left:1rem;font-size:.85rem}.state-new,.state-escalated{font-weight:600;
color:#a01010}.glance{font-size:1.05rem;background:#f6f8fa;border:1px solid #d0d7de;
padding:.6rem 1rem}details{margin:.5rem 0}nav a{margin-right:.8rem}"""
# Risk colour scale of every map of the report (probability 0-1).
CMAP = "magma_r"
# Drivers listed for an area in the tables and tooltips.
N_DRIVERS = 3
# Id of the page's admin-1 outlines, which every interactive map draws.
SHAPES_ID = "admin1-shapes"
# Alert states in the order the table lists them (acting on new ones first).
STATE_ORDER = {"new": 0, "escalated": 1, "ongoing": 2, "resolved": 3}


@dataclass(frozen=True)
class ReportContext:
    """What every section reads: the run folder, the as-of month's risk dataset, the
    manifest, the night's alert counts (None when alerts were not published), the
    targeting report's HTML (None without one), the alerts of `alerts.geojson` (GeoJSON
    features; empty without alerts), the admin-1 levels of the features (None when the
    run kept no feature values) and the synthetic-world note for figures (None for real
    data)."""

    run_dir: Path
    risk: xr.Dataset
    manifest: dict[str, Any]
    alerts: dict[str, Any] | None
    targeting_html: str | None
    alert_features: list[dict[str, Any]]
    levels: AreaLevels | None
    note: str | None

    @property
    def targets(self) -> list[str]:
        """The targets of the risk dataset, in its order."""
        return [str(t) for t in self.risk["target"].values]

    @property
    def backfilled(self) -> set[str]:
        """The months published tonight before the as-of month (first night)."""
        return set(self.manifest.get("backfilled") or [])


Section = Callable[[ReportContext], str]
esc = html.escape


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "" if x is None or not np.isfinite(x) else format(x, fmt)


# --- areas and drivers -------------------------------------------------------------------

def feature_levels(risk: xr.Dataset, rows: FeatureRows | None) -> AreaLevels | None:
    """Admin-1 levels (population-weighted means, percentiles) of the as-of month's raw
    features `rows` (one row per land cell, ascending flat index), or None without rows."""
    if rows is None:
        return None
    admin = np.asarray(risk["admin1_id"].values).ravel()
    land = np.flatnonzero(np.asarray(risk["country_id"].values).ravel() >= 0)
    if land.size != rows.values.shape[0]:
        return None  # rows of another grid: no levels rather than wrong ones
    pop = np.asarray(risk["population"].values).ravel()[land]
    return area_levels(rows.names, rows.values, admin[land], pop, risk.sizes["admin1"])


def admin1_index(risk: xr.Dataset) -> dict[str, int]:
    """Admin-1 code -> index along the `admin1` dimension."""
    return {str(c): i for i, c in enumerate(risk["admin1"].values)}


def driver_texts(drivers: list[tuple[str, float | None]], areas: list[int],
                 levels: AreaLevels | None) -> list[str]:
    """Drivers (feature, contribution) of an area made of admin-1 units `areas`, in words
    (`describe_driver`); the level is the first unit's when the area spans several."""
    out = []
    for name, contrib in drivers[:N_DRIVERS]:
        if not name:
            continue
        level = levels.of(areas[0], name) if levels is not None and areas else None
        out.append(describe_driver(name, contrib, level))
    return out


def admin1_table(risk: xr.Dataset, target: str) -> dict[str, np.ndarray]:
    """Per admin-1 unit for `target` at the as-of month: population-weighted mean risk and
    interval, and the unit's top driver features and contributions (rank, admin1)."""
    admin = risk["admin1_id"].values
    weights = np.nan_to_num(risk["population"].values)
    n = risk.sizes["admin1"]
    out = {k: kernels.zonal_stats(risk[v].sel(target=target).isel(time=-1).values, admin, n,
                                  stat="weighted_mean", weights=weights)
           for k, v in (("risk", "risk"), ("lo", "risk_lo"), ("hi", "risk_hi"))}
    out["feature"] = risk["admin1_driver_feature"].sel(target=target).isel(time=-1).values
    out["contrib"] = risk["admin1_driver_contrib"].sel(target=target).isel(time=-1).values
    return out


def _unit_drivers(risk: xr.Dataset, table: dict[str, np.ndarray], a: int
                  ) -> list[tuple[str, float | None]]:
    feats = risk["feature"].values
    return [(str(feats[int(i)]), float(c)) for i, c in
            zip(table["feature"][:, a], table["contrib"][:, a]) if int(i) >= 0]


def top_areas(risk: xr.Dataset, target: str, n: int = 10,
              levels: AreaLevels | None = None,
              table: dict[str, np.ndarray] | None = None) -> list[dict[str, Any]]:
    """The `n` admin-1 units with the highest population-weighted mean risk for `target`,
    with their interval and drivers (feature names, and in words); `table` is
    `admin1_table(risk, target)` when already computed."""
    table = admin1_table(risk, target) if table is None else table
    order = [int(i) for i in np.argsort(-np.nan_to_num(table["risk"], nan=-1.0),
                                        kind="stable")[:n]]
    countries = risk["country"].values
    rows = []
    for a in order:
        drivers = _unit_drivers(risk, table, a)
        rows.append({"admin1": str(risk["admin1"].values[a]),
                     "name": str(risk["admin1_name"].values[a]),
                     "country": str(countries[int(risk["admin1_country"].values[a])]),
                     "risk": float(table["risk"][a]), "lo": float(table["lo"][a]),
                     "hi": float(table["hi"][a]), "drivers": [d for d, _ in drivers],
                     "drivers_text": driver_texts(drivers, [a], levels)})
    return rows


# --- warnings ----------------------------------------------------------------------------

def run_warnings(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of the manifest's checks report that the run went on with: warnings,
    and failures let through by an override."""
    checks = manifest.get("checks") or {}
    overrides = set(checks.get("overrides") or [])
    out = []
    for f in checks.get("findings") or []:
        if f.get("status") == "warn" or (f.get("status") == "fail"
                                         and OVERRIDES.get(f.get("kind")) in overrides):
            out.append(f)
    return out


def warnings_section(manifest: dict[str, Any]) -> str:
    """HTML listing every warning of the run (`run_warnings`), or saying there were none."""
    found = run_warnings(manifest)
    if not found:
        return "<h2>Warnings</h2><p>The input checks raised no warning.</p>"
    rows = "".join(f"<tr><td>{esc(str(f.get('kind')))}</td><td>{esc(str(f.get('subject')))}"
                   f"</td><td>{esc(str(f.get('status')))}</td>"
                   f"<td>{esc(str(f.get('message')))}</td></tr>" for f in found)
    return (f"<h2>Warnings</h2><p>{len(found)} warning(s) from the input checks "
            f"(details in <a href='checks.json'>checks.json</a>). The run went on: a "
            f"warning is below the failure limit, or a failure was let through by an "
            f"override named in the manifest.</p><table><tr><th>check</th>"
            f"<th>subject</th><th>status</th><th>message</th></tr>{rows}</table>")


# --- sections ----------------------------------------------------------------------------

def _alert_state(ctx: ReportContext, p: dict[str, Any]) -> str:
    """The state as partners see it: an alert opened in a month backfilled tonight
    reaches them for the first time, so it reads as new."""
    state = str(p.get("state"))
    if state == "ongoing" and p.get("opened_as_of") in ctx.backfilled:
        return f"new (opened {p.get('opened_as_of')}, first delivery)"
    return state


def _alert_units(ctx: ReportContext, p: dict[str, Any]) -> list[int]:
    index = admin1_index(ctx.risk)
    codes = str(p.get("admin1") or "").split()
    return [index[c] for c in codes if c in index]


def _alert_drivers(p: dict[str, Any]) -> list[tuple[str, float | None]]:
    out = []
    for i in range(1, N_DRIVERS + 1):
        name = p.get(f"driver_{i}")
        if name:
            c = p.get(f"driver_{i}_contrib")
            out.append((str(name), None if c is None else float(c)))
    return out


def sorted_alerts(ctx: ReportContext) -> list[dict[str, Any]]:
    """The alert properties of the run, active ones first by rank, then resolved."""
    props = [f["properties"] for f in ctx.alert_features]
    return sorted(props, key=lambda p: (STATE_ORDER.get(str(p.get("state")), 9) == 3,
                                        p.get("rank") if p.get("rank") is not None else 1e9,
                                        str(p.get("target")), str(p.get("alert_id"))))


def header_section(ctx: ReportContext) -> str:
    """Banner, title, what the numbers mean, and the night at a glance."""
    risk = ctx.risk
    parts = []
    if ctx.note:
        parts.append("<div class='banner'><strong>Synthetic world.</strong> "
                     f"{esc(str(risk.attrs.get('comment', '')))}</div>")
    parts.append(f"<h1>Risk scores for {esc(str(risk.attrs.get('as_of')))}</h1>")
    parts.append("<p>Calibrated probability that at least one case is identified in the "
                 f"next {esc(str(risk.attrs.get('horizon')))} months, scored at standard "
                 "detection (inspection coverage set to one reference level everywhere, so "
                 "it is never listed as a driver). Intervals: "
                 f"{esc(str(risk['risk_lo'].attrs.get('comment', '')))}.</p>")
    glance = []
    if ctx.alerts is not None:
        active = [p for p in (f["properties"] for f in ctx.alert_features)
                  if p.get("state") != "resolved"]
        new = int(ctx.alerts.get("new", 0))
        glance.append(f"<strong>{len(active)} active alert(s)</strong>, " + (
            "nothing new for partners (a rerun of a night already published)"
            if ctx.alerts.get("rerun_of") else f"{new} new to partners tonight"))
    else:
        glance.append("no alerts published by this run")
    n_warn = len(run_warnings(ctx.manifest))
    glance.append(f"{n_warn} warning(s) from the input checks")
    parts.append(f"<p class='glance'>{'; '.join(glance)}.</p>")
    links = ["<a href='#alerts'>Alerts</a>"] + [
        f"<a href='#map-{esc(t)}'>{esc(TARGET_NAMES.get(t, t).capitalize())} map</a>"
        for t in ctx.targets] + ["<a href='#warnings'>Warnings</a>", "<a href='#run'>Run</a>"]
    parts.append(f"<nav>{''.join(links)}</nav>")
    return "\n".join(parts)


def alerts_section(ctx: ReportContext) -> str:
    """The night's alert counts in words and one row per alert: what to act on first."""
    if ctx.alerts is None:
        return ("<h2 id='alerts'>Alerts</h2><p>This run published no alerts (alerts are "
                "off in the config, or the month was re-scored with --no-alerts).</p>")
    a = ctx.alerts
    words = [f"{int(a.get(k, 0))} {k}" for k in ("new", "escalated", "ongoing", "resolved")]
    text = ", ".join(words)
    extra = []
    if a.get("new_backfilled"):
        extra.append(f"{int(a['new_backfilled'])} of the new ones opened in the months "
                     f"published first tonight ({', '.join(sorted(ctx.backfilled))}), as the "
                     f"alert rules' persistence needs")
    if a.get("deferred"):
        extra.append(f"{int(a['deferred'])} area(s) met the rules but wait: their partner's "
                     f"budget of open alerts is full")
    if a.get("rerun_of"):
        extra.append(f"A rerun of {a['rerun_of']}: nothing changed in the store")
    head = (f"<h2 id='alerts'>Alerts</h2><p>Tonight: {esc(text)}."
            + "".join(f" {esc(e)}." for e in extra)
            + " Files: <a href='alerts.csv'>CSV</a>, <a href='alerts.geojson'>GeoJSON</a>, "
              "CAP messages in <code>alerts/cap/</code>; what partners receive is in "
              "<code>alerts/partners/</code>.</p>")
    props = sorted_alerts(ctx)
    if not props:
        return head + "<p>No alert is open.</p>"
    rows = []
    for p in props:
        units = _alert_units(ctx, p)
        drivers = driver_texts(_alert_drivers(p), units, ctx.levels)
        state = _alert_state(ctx, p)
        cls = "state-new" if state.startswith("new") or state == "escalated" else ""
        target = str(p.get("target"))
        rows.append(
            f"<tr><td class='num'>{esc(str(p.get('rank') if p.get('rank') is not None else '-'))}"
            f"</td><td>{esc(str(p.get('name')))}<br><small>{esc(str(p.get('area_key')))}"
            f"</small></td><td>{esc(str(p.get('country_name')))} "
            f"({esc(str(p.get('country')))})</td>"
            f"<td>{esc(TARGET_NAMES.get(target, target))}</td>"
            f"<td class='num'>{_num(p.get('risk'))}<br><small>{_num(p.get('risk_lo'))}-"
            f"{_num(p.get('risk_hi'))}</small></td><td class='{cls}'>{esc(state)}</td>"
            f"<td class='num'>{_num(p.get('priority'))}</td><td><ul class='drivers'>"
            + "".join(f"<li>{esc(d)}</li>" for d in drivers)
            + f"</ul></td><td><small>{esc(str(p.get('alert_id')))}</small></td></tr>")
    levels = ("" if ctx.levels is not None else
              " Levels (low/high) are not shown: this run kept no feature values "
              "([checks] disabled).")
    legend = ("<p><small>Rank: order to act in, by priority (0-1: risk, people exposed, "
              "missing ILO programme, enabling environment). Risk: the area's population-"
              "weighted mean probability, 80% interval below it. Drivers: the model inputs "
              "that raise the risk most in the area; low/high compares the area's value with "
              "every admin-1 area this month; the number is the input's contribution in "
              f"log-odds (+0.69 doubles the odds).{levels}</small></p>")
    return (head + legend + "<table class='alerts'><tr><th>rank</th><th>area</th>"
            "<th>country</th><th>target</th><th>risk<br><small>80% interval</small></th>"
            "<th>state</th><th>priority</th><th>drivers</th><th>alert id</th></tr>"
            + "".join(rows) + "</table>")


def _labels_for_map(risk: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The admin-1 raster (lat, lon) the interactive map outlines, with its lat and lon:
    coarsened by block maximum like the PNG maps' borders above MAP_MAX_CELLS a side."""
    labels = risk["admin1_id"]
    factor = _coarsen_factor(labels)
    if factor > 1:
        labels = labels.coarsen(lat=factor, lon=factor, boundary="trim").max()
    return (np.asarray(labels.values), np.asarray(labels["lat"].values),
            np.asarray(labels["lon"].values))


def admin1_polygons(risk: xr.Dataset) -> dict[int, list[Any]]:
    """Outline polygons (lon, lat) of every admin-1 unit with land cells, by index; each
    traced inside its bounding box only, so the cost follows the units, not the grid."""
    lab, lat, lon = _labels_for_map(risk)
    ye, xe = cell_edges(lat), cell_edges(lon)
    out: dict[int, list[Any]] = {}
    for i, slc in enumerate(ndimage.find_objects(np.where(lab >= 0, lab + 1, 0))):
        if slc is None:
            continue
        sy, sx = slc
        out[i] = mask_polygons(lab[slc] == i, lat[sy], lon[sx], ndigits=4,
                               edges=(ye[sy.start:sy.stop + 1], xe[sx.start:sx.stop + 1]))
    return out


def _alert_rings(features: list[dict[str, Any]], target: str) -> list[list[tuple[float, float]]]:
    rings = []
    for f in features:
        if f["properties"].get("target") != target or f["properties"].get("state") == "resolved":
            continue
        for poly in f["geometry"]["coordinates"]:
            rings.extend([[(float(x), float(y)) for x, y in ring] for ring in poly])
    return rings


def _map_doc(ctx: ReportContext, target: str, image: str,
             extent: tuple[float, float, float, float], polygons: dict[int, list[Any]],
             table: dict[str, np.ndarray]) -> dict[str, Any]:
    """The interactive map's data for `target`: image and bounds, the tooltip texts of the
    admin-1 areas outlined in `polygons` (`table`: `admin1_table`), the active alert areas,
    and the legend."""
    risk = ctx.risk
    names, codes = risk["admin1_name"].values, risk["admin1"].values
    countries = risk["country"].values
    country_names = (risk["country_name"].values if "country_name" in risk
                     else countries)
    owner = risk["admin1_country"].values
    alerts_of: dict[int, list[str]] = {}
    active = [f for f in ctx.alert_features if f["properties"].get("target") == target
              and f["properties"].get("state") != "resolved"]
    for f in active:
        p = f["properties"]
        for a in _alert_units(ctx, p):
            alerts_of.setdefault(a, []).append(
                f"Alert {p.get('alert_id')}: {_alert_state(ctx, p)}, priority "
                f"{_num(p.get('priority'))}")
    props = {}
    for a, polys in polygons.items():
        if not polys:
            continue
        c = int(owner[a])
        drivers = driver_texts(_unit_drivers(risk, table, a), [a], ctx.levels)
        props[str(codes[a])] = {
            "key": str(codes[a]),
            "title": f"{names[a]} ({codes[a]}), {country_names[c]}",
            "risk": f"{TARGET_NAMES.get(target, target)} risk "
                    f"{_num(float(table['risk'][a]))} (80% interval "
                    f"{_num(float(table['lo'][a]))}-{_num(float(table['hi'][a]))})",
            "drivers_heading": "drivers (area's top inputs raising risk):",
            "drivers": drivers, "alerts": alerts_of.get(a, [])}
    alerts = [{"type": "Feature", "geometry": f["geometry"],
               "properties": {"alert_id": f["properties"].get("alert_id")}} for f in active]
    s, w, n, e = extent
    return {"image": image, "bounds": [[s, w], [n, e]],
            "shapes": SHAPES_ID, "area_props": props,
            "alerts": {"type": "FeatureCollection", "features": alerts},
            "legend": {"title": f"{TARGET_NAMES.get(target, target)} risk (probability)",
                       "colours": colour_stops(CMAP), "ticks": ["0", "0.5", "1"],
                       "outline": "alert area"},
            "hint": "Hover an area for its risk, interval and drivers."}


def maps_section(ctx: ReportContext) -> str:
    """Per target: the interactive map (zoom, hover an area), the static PNG with alert
    areas outlined, and the ten highest-risk admin-1 areas with their drivers."""
    risk = ctx.risk
    maps_dir = ctx.run_dir / "maps"
    polygons = admin1_polygons(risk)
    codes = risk["admin1"].values
    parts = [shapes_block(SHAPES_ID, {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": polys},
         "properties": {"key": str(codes[a])}} for a, polys in polygons.items() if polys]})]
    for t in ctx.targets:
        name = TARGET_NAMES.get(t, t)
        field = risk["risk"].sel(target=t).isel(time=-1)
        rings = _alert_rings(ctx.alert_features, t)
        png = save_map(field, maps_dir / f"risk_{t}.png", vmin=0.0, vmax=1.0, cmap=CMAP,
                       title=f"{name.capitalize()} risk, {risk.attrs.get('as_of')}",
                       label="probability", note=ctx.note, borders=risk["country_id"],
                       outlines=rings)
        grid, extent = save_grid_png(field, maps_dir / f"risk_{t}_grid.png", vmin=0.0,
                                     vmax=1.0, cmap=CMAP)
        table = admin1_table(risk, t)
        doc = _map_doc(ctx, t, f"maps/{grid.name}", extent, polygons, table)
        n_alerts = len(doc["alerts"]["features"])
        caption = (f"{name.capitalize()} risk, {risk.attrs.get('as_of')}: zoom with the "
                   f"buttons, the wheel or a double click; hover an area for its risk, "
                   f"interval and drivers. {n_alerts} active alert area(s) outlined.")
        parts.append(f"<h2 id='map-{esc(t)}'>{esc(name.capitalize())}</h2>")
        parts.append(map_block(f"map-{t}-live", doc, caption=caption))
        parts.append(f"<details><summary>Static map (PNG, for printing)</summary>"
                     f"<img src='maps/{png.name}' alt='map of {esc(name)} risk with "
                     f"{n_alerts} alert area(s) outlined'></details>")
        rows = top_areas(risk, t, levels=ctx.levels, table=table)
        parts.append(f"<h3>Highest {esc(name)} risk by admin-1 area</h3>"
                     "<table><tr><th>admin-1</th><th>country</th><th>risk</th>"
                     "<th>80% interval</th><th>top drivers</th></tr>")
        for r in rows:
            parts.append(f"<tr><td>{esc(r['admin1'])} {esc(r['name'])}</td>"
                         f"<td>{esc(r['country'])}</td><td class='num'>{r['risk']:.2f}</td>"
                         f"<td class='num'>{r['lo']:.2f}-{r['hi']:.2f}</td>"
                         f"<td><ul class='drivers'>"
                         + "".join(f"<li>{esc(d)}</li>" for d in r["drivers_text"])
                         + "</ul></td></tr>")
        parts.append("</table>")
    return "\n".join(parts)


def warnings_block(ctx: ReportContext) -> str:
    """Every warning of the run's input checks (`warnings_section`)."""
    return "<a id='warnings'></a>" + warnings_section(ctx.manifest)


def targeting_section(ctx: ReportContext) -> str:
    """Links to the targeting report, when the run made one."""
    if not ctx.targeting_html:
        return ""
    return ("<h2>Targeting</h2><p>Need, enabling environment and programme gaps per "
            "country: <a href='targeting.html'>targeting report</a>, "
            "<a href='targeting.json'>JSON</a>.</p>")


def run_section(ctx: ReportContext) -> str:
    """Config hash, seed, code version, models, and per-stage timings."""
    m = ctx.manifest
    facts = [("config hash", m.get("config_hash")), ("seed", m.get("seed")),
             ("code version", m.get("code_version"))]
    facts += [(f"{t} model", f"{v['model_id']} ({'trained now' if v['trained_now'] else 'loaded'})")
              for t, v in m.get("models", {}).items()]
    timings = m.get("timings_s", {})
    return ("<h2 id='run'>Run</h2><table>"
            + "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in facts)
            + "</table><table>"
            + "".join(f"<tr><th>{esc(k)}</th><td class='num'>{v:.1f} s</td></tr>"
                      for k, v in timings.items()) + "</table>")


def kpi_section(ctx: ReportContext) -> str:
    """The key performance indicators of the config's alert store (`riskmodel.kpis`)."""
    return run_kpi_section(ctx.run_dir, ctx.manifest, ctx.risk)


DEFAULT_SECTIONS: tuple[Section, ...] = (header_section, alerts_section, maps_section,
                                         warnings_block, kpi_section, targeting_section,
                                         run_section)


def read_alert_features(run_dir: Path) -> list[dict[str, Any]]:
    """The features of `run_dir/alerts.geojson` (empty when the run wrote none)."""
    path = run_dir / "alerts.geojson"
    if not path.is_file():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get("features") or [])


def write_run_report(run_dir: Path, risk: xr.Dataset, manifest: dict[str, Any],
                     alerts: dict[str, Any] | None, targeting_html: str | None,
                     features: FeatureRows | None = None,
                     sections: Sequence[Section] = DEFAULT_SECTIONS) -> Path:
    """Write `report.html`, its PNG maps and the Leaflet files (`maps/leaflet/`) into
    `run_dir`; return the report path. `features`: the as-of month's raw feature rows
    (for low/high levels of the drivers); `sections`: the page's sections in order."""
    synthetic = int(risk.attrs.get("synthetic", 0)) == 1
    ctx = ReportContext(
        run_dir=run_dir, risk=risk, manifest=manifest, alerts=alerts,
        targeting_html=targeting_html,
        alert_features=read_alert_features(run_dir) if alerts is not None else [],
        levels=feature_levels(risk, features),
        note="SYNTHETIC WORLD - not evidence about any real place" if synthetic else None)
    copy_leaflet(run_dir / "maps" / "leaflet")
    body = [s(ctx) for s in sections]
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>riskmodel run {esc(str(risk.attrs.get('as_of')))}</title>"
            f"<link rel='stylesheet' href='maps/leaflet/leaflet.css'>"
            f"<style>{CSS}\n{MAP_CSS}</style></head><body>\n"
            + "\n".join(b for b in body if b)
            + f"\n{scripts('maps/leaflet/leaflet.js')}\n</body></html>\n")
    dest = run_dir / "report.html"
    write_text(dest, page)
    return dest

