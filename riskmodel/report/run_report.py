"""`report.html` of a nightly run: what was scored, where risk is highest, why, what
alerts went out, and every warning of the input checks, with a banner on anything from the
synthetic world."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import kernels
from riskmodel.checks.findings import OVERRIDES
from riskmodel.io.atomic import write_text
from riskmodel.kpis.section import run_kpi_section
from riskmodel.report.maps import save_map

TARGET_NAMES = {"fl": "forced labour", "cl": "child labour"}
CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}
.banner{background:#fde8e8;border:1px solid #c0392b;padding:.6rem 1rem;margin-bottom:1rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;
font-size:.9rem;text-align:left}th{background:#f4f4f4}img{max-width:100%}
.num{text-align:right;font-variant-numeric:tabular-nums}"""


def top_areas(risk: xr.Dataset, target: str, n: int = 10) -> list[dict[str, Any]]:
    """The `n` admin-1 units with the highest population-weighted mean risk for `target`."""
    r = risk["risk"].sel(target=target).isel(time=-1).values
    admin = risk["admin1_id"].values
    weights = np.nan_to_num(risk["population"].values)
    lo = risk["risk_lo"].sel(target=target).isel(time=-1).values
    hi = risk["risk_hi"].sel(target=target).isel(time=-1).values
    n_admin = risk.sizes["admin1"]
    mean = kernels.zonal_stats(r, admin, n_admin, stat="weighted_mean", weights=weights)
    mlo = kernels.zonal_stats(lo, admin, n_admin, stat="weighted_mean", weights=weights)
    mhi = kernels.zonal_stats(hi, admin, n_admin, stat="weighted_mean", weights=weights)
    feats = risk["feature"].values
    dfeat = risk["admin1_driver_feature"].sel(target=target).isel(time=-1).values  # (rank, a)
    order = [int(i) for i in np.argsort(-np.nan_to_num(mean, nan=-1.0), kind="stable")[:n]]
    countries = risk["country"].values
    rows = []
    for a in order:
        drivers = [str(feats[i]) for i in dfeat[:, a] if i >= 0]
        rows.append({"admin1": str(risk["admin1"].values[a]),
                     "name": str(risk["admin1_name"].values[a]),
                     "country": str(countries[int(risk["admin1_country"].values[a])]),
                     "risk": float(mean[a]), "lo": float(mlo[a]), "hi": float(mhi[a]),
                     "drivers": drivers})
    return rows


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
    esc = html.escape
    found = run_warnings(manifest)
    if not found:
        return "<h2>Warnings</h2><p>The input checks raised no warning.</p>"
    rows = "".join(f"<tr><td>{esc(str(f.get('kind')))}</td><td>{esc(str(f.get('subject')))}"
                   f"</td><td>{esc(str(f.get('status')))}</td>"
                   f"<td>{esc(str(f.get('message')))}</td></tr>" for f in found)
    return (f"<h2>Warnings</h2><p>{len(found)} warning(s) from the input checks (details in "
            f"<a href='checks.json'>checks.json</a>):</p><table><tr><th>check</th>"
            f"<th>subject</th><th>status</th><th>message</th></tr>{rows}</table>")


def write_run_report(run_dir: Path, risk: xr.Dataset, manifest: dict[str, Any],
                     alerts: dict[str, Any] | None, targeting_html: str | None) -> Path:
    """Write `report.html` and its PNG maps into `run_dir`; return the report path."""
    synthetic = int(risk.attrs.get("synthetic", 0)) == 1
    note = "SYNTHETIC WORLD - not evidence about any real place" if synthetic else None
    esc = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>riskmodel run {esc(str(risk.attrs.get('as_of')))}</title>"
             f"<style>{CSS}</style></head><body>"]
    if synthetic:
        parts.append("<div class='banner'><strong>Synthetic world.</strong> "
                     f"{esc(str(risk.attrs.get('comment', '')))}</div>")
    parts.append(f"<h1>Risk scores for {esc(str(risk.attrs.get('as_of')))}</h1>")
    parts.append("<p>Calibrated probability that at least one case is identified in the next "
                 f"{esc(str(risk.attrs.get('horizon')))} months, scored at standard detection "
                 "(inspection coverage set to one reference level everywhere, so it is never "
                 "listed as a driver). Intervals: "
                 f"{esc(str(risk['risk_lo'].attrs.get('comment', '')))}.</p>")
    facts = [("config hash", manifest.get("config_hash")), ("seed", manifest.get("seed")),
             ("code version", manifest.get("code_version"))]
    facts += [(f"{t} model", f"{m['model_id']} ({'trained now' if m['trained_now'] else 'loaded'})")
              for t, m in manifest.get("models", {}).items()]
    parts.append("<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>"
                                     for k, v in facts) + "</table>")
    maps_dir = run_dir / "maps"
    for t in risk["target"].values:
        t = str(t)
        name = TARGET_NAMES.get(t, t)
        field = risk["risk"].sel(target=t).isel(time=-1)
        png = save_map(field, maps_dir / f"risk_{t}.png", vmin=0.0, vmax=1.0,
                       title=f"{name.capitalize()} risk, {risk.attrs.get('as_of')}",
                       label="probability", note=note, borders=risk["country_id"])
        parts.append(f"<h2>{esc(name.capitalize())}</h2>"
                     f"<img src='maps/{png.name}' alt='map of {esc(name)} risk'>")
        rows = top_areas(risk, t)
        parts.append("<table><tr><th>admin-1</th><th>country</th><th>risk</th>"
                     "<th>interval</th><th>top drivers</th></tr>")
        for r in rows:
            parts.append(f"<tr><td>{esc(r['admin1'])} {esc(r['name'])}</td>"
                         f"<td>{esc(r['country'])}</td><td class='num'>{r['risk']:.2f}</td>"
                         f"<td class='num'>{r['lo']:.2f}-{r['hi']:.2f}</td>"
                         f"<td>{esc(', '.join(r['drivers']))}</td></tr>")
        parts.append("</table>")
    parts.append(warnings_section(manifest))
    if alerts is not None:
        counts = {k: v for k, v in alerts.items() if isinstance(v, int)}
        parts.append("<h2>Alerts</h2><p>" + esc(", ".join(f"{k}: {v}" for k, v in
                                                        sorted(counts.items())))
                     + ". Files: <a href='alerts.geojson'>GeoJSON</a>, "
                       "<a href='alerts.csv'>CSV</a>, CAP messages in alerts/cap/.</p>")
    parts.append(run_kpi_section(run_dir, manifest, risk))
    if targeting_html:
        parts.append("<h2>Targeting</h2><p>Need, enabling environment and programme gaps "
                     "per country: <a href='targeting.html'>targeting report</a>, "
                     "<a href='targeting.json'>JSON</a>.</p>")
    timings = manifest.get("timings_s", {})
    parts.append("<h2>Run</h2><table>" + "".join(
        f"<tr><th>{esc(k)}</th><td class='num'>{v:.1f} s</td></tr>" for k, v in timings.items())
        + "</table></body></html>")
    dest = run_dir / "report.html"
    write_text(dest, "\n".join(parts))
    return dest
