"""`report.html` for the real world: region maps, the highest-risk regions, coverage, gaps.

One self-contained page (PNG maps beside it in `maps/`) from the region risk dataset, the
regions' polygons, a coverage table of the inputs and, optionally, the night's alert
records. It says first, in plain words, what the scores are and are not; then world maps
of the relative risk score and of the modelled estimates (legends with units), the
highest-risk regions per target with their interval, estimate and drivers in words,
maps of the countries with alerts (or with the highest-risk regions), which countries and
years lack which inputs, and every region without a score with the reason. Every text
from the data is HTML-escaped. Maps are few (four world maps and at most
`country_maps` country maps) so the report stays a few seconds of the night.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.config import ReportConfig
from riskmodel.errors import InputError
from riskmodel.io.atomic import write_text
from riskmodel.regions.risk_dataset import (RATE_UNITS_TEXT, STATEMENT, TARGET_NAME,
                                            driver_words, unscored_regions,
                                            validate_region_risk)
from riskmodel.report.choropleth import WORLD_EXTENT, save_choropleth


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _f(v: float, fmt: str = ".2f") -> str:
    return format(v, fmt) if v is not None and math.isfinite(v) else "–"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;
margin:1.5em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
.meta{color:#555;font-size:.9em}
.statement{background:#fff6e0;border-left:4px solid #e0a000;padding:.6em 1em;margin:1em 0}
table{border-collapse:collapse;font-size:.86em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}
img{max-width:100%;height:auto;border:1px solid #eee}
details{margin:.5em 0}summary{cursor:pointer;color:#225}ul.drivers{margin:0;padding-left:1.1em}
.pair{display:flex;gap:1em;flex-wrap:wrap;margin-bottom:1.5em}
.pair figure{flex:1 1 45%;margin:0;min-width:320px}figcaption{font-size:.85em;color:#333}
"""


def _values(ds: xr.Dataset, var: str, year: int, target: str | None = None
            ) -> dict[str, float]:
    sel: dict[str, Any] = {"year": year}
    if target is not None:
        sel["target"] = target
    v = ds[var].sel(sel).values.astype(np.float64)
    return {str(c): float(x) for c, x in zip(ds["region"].values, v, strict=True)}


def _world_maps(ds: xr.Dataset, polygons: Mapping[str, Any], year: int, maps: Path
                ) -> list[tuple[str, str]]:
    """(file name, caption) of the world maps: risk score and estimate per target."""
    out = []
    for t in (str(x) for x in ds["target"].values):
        name = f"regions-risk-{t}.png"
        save_choropleth(_values(ds, "risk", year, t), polygons, maps / name,
                        title=f"{TARGET_NAME[t].capitalize()}: relative risk score, {year}",
                        label="percentile among scored regions (0-1)",
                        codes=[str(c) for c in ds["region"].values], extent=WORLD_EXTENT)
        out.append((name, f"{TARGET_NAME[t].capitalize()} relative risk score: the region's "
                          f"percentile among the regions scored in {year}."))
        est = f"{t}_rate_standard_detection" if f"{t}_rate_standard_detection" in ds \
            else f"{t}_rate"
        vals = _values(ds, est, year)
        fin = np.array([v for v in vals.values() if math.isfinite(v)])
        vmax = float(np.quantile(fin, 0.98)) if fin.size else 1.0
        label = RATE_UNITS_TEXT[t] + (" (reference detection)" if "standard" in est else "")
        name = f"regions-estimate-{t}.png"
        save_choropleth(vals, polygons, maps / name, cmap="viridis_r",
                        title=f"{TARGET_NAME[t].capitalize()}: modelled estimate, {year}",
                        label=label, vmin=0.0, vmax=max(vmax, 1e-9),
                        codes=[str(c) for c in ds["region"].values], extent=WORLD_EXTENT)
        out.append((name, f"{ds[est].attrs.get('long_name', est).capitalize()}; colours "
                          f"stop at the 98th percentile so a few extreme regions do not "
                          f"wash out the rest."))
    return out


def _top(ds: xr.Dataset, target: str, year: int, n: int) -> list[int]:
    r = ds["risk"].sel(target=target, year=year).values.astype(np.float64)
    ok = np.flatnonzero(np.isfinite(r))
    return [int(i) for i in ok[np.argsort(-r[ok], kind="stable")][:n]]


def _top_table(ds: xr.Dataset, target: str, year: int, n: int,
               alert_state: Mapping[tuple[str, str], str]) -> str:
    est = ds[f"{target}_rate"].sel(year=year).values
    lo = ds[f"{target}_rate_lo"].sel(year=year).values
    hi = ds[f"{target}_rate_hi"].sel(year=year).values
    sel = {"target": target, "year": year}
    r, rlo, rhi = (ds[v].sel(sel).values for v in ("risk", "risk_lo", "risk_hi"))
    names = {str(c): str(nm) for c, nm in zip(ds["country"].values,
                                              ds["country_name"].values, strict=True)}
    rows = []
    digits = ".1f" if target == "cl" else ".2f"
    all_words = driver_words(ds, target, year)
    for k, i in enumerate(_top(ds, target, year, n), 1):
        code = str(ds["region"].values[i])
        iso = str(ds["iso3"].values[i])
        words = all_words[i]
        drivers = ("<ul class=drivers>" + "".join(f"<li>{_e(w)}</li>" for w in words)
                   + "</ul>") if words else "–"
        rows.append(
            f"<tr><td class=n>{k}</td><td>{_e(ds['region_name'].values[i])} "
            f"<small>({_e(code)})</small></td><td>{_e(names.get(iso, iso))}</td>"
            f"<td class=n>{_f(r[i], '.3f')} ({_f(rlo[i], '.3f')}–{_f(rhi[i], '.3f')})</td>"
            f"<td class=n>{_f(est[i], digits)} ({_f(lo[i], digits)}–{_f(hi[i], digits)})</td>"
            f"<td>{drivers}</td><td>{_e(alert_state.get((target, code), '–'))}</td></tr>")
    return ("<table><tr><th>#</th><th>region</th><th>country</th><th>score (80% interval)"
            f"</th><th>estimate, {_e(RATE_UNITS_TEXT[target])} (80% interval)</th>"
            "<th>top drivers</th><th>alert</th></tr>" + "".join(rows) + "</table>")


def _country_maps(ds: xr.Dataset, polygons: Mapping[str, Any], year: int, maps: Path,
                  countries: list[str]) -> list[tuple[str, str, list[str]]]:
    """Per country and target: a map of its regions' scores with the top ones numbered."""
    out = []
    iso = np.array([str(c) for c in ds["iso3"].values])
    codes = np.array([str(c) for c in ds["region"].values])
    names = {str(c): str(nm) for c, nm in zip(ds["country"].values,
                                              ds["country_name"].values, strict=True)}
    for c in countries:
        mine = [str(x) for x in codes[iso == c]]
        if not any(m in polygons for m in mine):
            continue
        for t in (str(x) for x in ds["target"].values):
            vals = _values(ds, "risk", year, t)
            ranked = sorted((m for m in mine if math.isfinite(vals.get(m, math.nan))),
                            key=lambda m: -vals[m])[:9]
            labels = [(str(k), m) for k, m in enumerate(ranked, 1)]
            name = f"country-{c}-{t}.png"
            _, placed = save_choropleth(
                vals, polygons, maps / name, codes=mine, labels=labels, size=(6.2, 5.0),
                title=f"{names.get(c, c)}: {TARGET_NAME[t]} score, {year}",
                label="percentile among all scored regions (0-1)")
            legend = [f"{k}. {ds['region_name'].values[list(codes).index(m)]} ({m}, "
                      f"score {vals[m]:.3f})" for k, m in labels]
            out.append((name, f"{names.get(c, c)}, {TARGET_NAME[t]}",
                        [legend[int(p) - 1] for p in placed]
                        + [f"{x} (not labelled: no room)" for x in legend
                           if x.split('.')[0] not in placed]))
    return out


def _coverage_html(coverage: xr.DataArray | None) -> str:
    """Per input: countries with every year, countries lacking some years (which), and
    countries lacking it entirely. `coverage` is bool on (input, country, year)."""
    if coverage is None:
        return "<p>No coverage table was given for this run.</p>"
    cov = coverage.transpose("input", "country", "year")
    years = [int(y) for y in cov["year"].values]
    countries = [str(c) for c in cov["country"].values]
    rows = []
    for k, inp in enumerate(str(x) for x in cov["input"].values):
        a = cov.values[k].astype(bool)
        full = int(a.all(axis=1).sum())
        none = [countries[j] for j in np.flatnonzero(~a.any(axis=1))]
        gaps = []
        for j in np.flatnonzero(a.any(axis=1) & ~a.all(axis=1)):
            miss = [years[y] for y in np.flatnonzero(~a[j])]
            gaps.append(f"{countries[j]} ({_spans(miss)})")
        rows.append(
            f"<tr><td>{_e(inp)}</td><td class=n>{full}</td>"
            f"<td>{_list(gaps)}</td><td>{_list(none)}</td></tr>")
    return (f"<p>{len(countries)} countries, years {years[0]}–{years[-1]}. A country "
            f"lacking an input in a year is scored from the inputs it has where the model "
            f"allows, else left unscored (see below).</p><table><tr><th>input</th><th>"
            f"countries with every year</th><th>countries lacking some years</th><th>"
            f"countries lacking it entirely</th></tr>" + "".join(rows) + "</table>")


def _spans(years: list[int]) -> str:
    out, start = [], None
    for i, y in enumerate(years):
        if start is None:
            start = y
        if i + 1 == len(years) or years[i + 1] != y + 1:
            out.append(str(start) if start == y else f"{start}–{y}")
            start = None
    return ", ".join(out)


def _list(items: Sequence[str], show: int = 12) -> str:
    if not items:
        return "none"
    head = _e(", ".join(items[:show]))
    if len(items) <= show:
        return head
    return (f"{head} <details><summary>and {len(items) - show} more</summary>"
            f"{_e(', '.join(items[show:]))}</details>")


def _unscored_html(ds: xr.Dataset, year: int) -> str:
    rows = unscored_regions(ds, year)
    if not rows:
        return "<p>Every region has a score for every target.</p>"
    by: dict[tuple[str, str], int] = {}
    for r in rows:
        by[(r["target"], r["reason"])] = by.get((r["target"], r["reason"]), 0) + 1
    summary = "".join(f"<tr><td>{_e(TARGET_NAME[t])}</td><td>{_e(why)}</td>"
                      f"<td class=n>{n}</td></tr>" for (t, why), n in sorted(by.items()))
    full = "".join(f"<tr><td>{_e(TARGET_NAME[r['target']])}</td><td>{_e(r['region'])}</td>"
                   f"<td>{_e(r['name'])}</td><td>{_e(r['iso3'])}</td><td>{_e(r['reason'])}"
                   f"</td></tr>" for r in rows)
    return (f"<p>{len(rows)} region-target pairs have no score for {year}.</p>"
            f"<table><tr><th>target</th><th>reason</th><th>regions</th></tr>{summary}</table>"
            f"<details><summary>Every unscored region ({len(rows)})</summary><table><tr>"
            f"<th>target</th><th>code</th><th>region</th><th>country</th><th>reason</th></tr>"
            f"{full}</table></details>")


def alerts_from_run(run_dir: Path | str) -> list[dict[str, Any]]:
    """The night's alert records as the report reads them: the properties of the run
    folder's `alerts.geojson` (none when alerts are off and the file is absent)."""
    path = Path(run_dir) / "alerts.geojson"
    if not path.is_file():
        return []
    try:
        fc = json.loads(path.read_text(encoding="utf-8"))
        return [dict(f["properties"]) for f in fc["features"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not an alerts FeatureCollection ({exc})") from None


def alert_state(alert: Mapping[str, Any], first_delivery: bool = False) -> str:
    """An alert's state as its partners see it, from an alert record (state, opened_as_of):
    on the partners' first delivery every open alert reaches them for the first time, so
    a new one reads "new (opened YYYY, first delivery)", as in the grid report; an open
    alert of earlier years says when it opened."""
    state = str(alert["state"])
    opened = alert.get("opened_as_of")
    since = f"opened {opened}, " if opened else ""
    if state == "new" and first_delivery:
        return f"new ({since}first delivery)"
    if state in ("ongoing", "escalated") and opened:
        return f"{state} (opened {opened})"
    return state


def write_region_report(ds: xr.Dataset, polygons: Mapping[str, Mapping[str, Any]],
                        run_dir: Path | str, *, coverage: xr.DataArray | None = None,
                        alerts: Sequence[Mapping[str, Any]] = (),
                        options: ReportConfig | None = None,
                        first_delivery: bool = False) -> Path:
    """Write `report.html` and `maps/*.png` into `run_dir` for the region risk dataset
    `ds` (its `as_of` year); `coverage` is bool on (input, country, year), True where the
    input has a value; `alerts` are the night's alert records (dicts with target,
    area_key, country, state, optionally opened_as_of); `first_delivery` says the night
    is the partners' first (`alert_state`). Returns the report's path."""
    validate_region_risk(ds)
    opts = options or ReportConfig()
    year = int(ds.attrs["as_of"])
    run_dir = Path(run_dir)
    maps = run_dir / "maps"
    targets = [str(t) for t in ds["target"].values]
    state = {(str(a["target"]), str(a["area_key"])): alert_state(a, first_delivery)
             for a in alerts}
    world = _world_maps(ds, polygons, year, maps)
    # Countries to map: those with open alerts first, then those of the top regions.
    order: list[str] = []
    for a in alerts:
        if str(a["state"]) != "resolved" and str(a["country"]) not in order:
            order.append(str(a["country"]))
    for t in targets:
        for i in _top(ds, t, year, opts.top_regions):
            c = str(ds["iso3"].values[i])
            if c not in order:
                order.append(c)
    country = _country_maps(ds, polygons, year, maps, order[:opts.country_maps])
    scored = {t: int(np.isfinite(ds["risk"].sel(target=t, year=year).values).sum())
              for t in targets}
    n_countries = {t: len({str(c) for c, v in zip(
        ds["iso3"].values, ds["risk"].sel(target=t, year=year).values, strict=True)
        if math.isfinite(float(v))}) for t in targets}
    models = ", ".join(f"{t} {ds.attrs.get(f'model_id_{t}', '?')}" for t in targets)
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>riskmodel: real-world regions, {year}</title><style>{CSS}</style></head><body>",
        f"<h1>Child- and forced-labour risk of sub-national regions, {year}</h1>",
        f"<p class=meta>Models: {_e(models)} · config "
        f"{_e(ds.attrs.get('config_hash', ''))} · code "
        f"{_e(ds.attrs.get('code_version', ''))}</p>",
        f"<div class=statement><b>What these numbers are and are not.</b> {_e(STATEMENT)}</div>",
        "<ul>" + "".join(f"<li>{_e(TARGET_NAME[t])}: {scored[t]} of {ds.sizes['region']} "
                         f"regions scored, in {n_countries[t]} countries</li>" for t in targets)
        + "</ul>",
        "<h2>World maps</h2>",
    ]
    for name, caption in world:
        parts.append(f"<figure><img src='maps/{_e(name)}' alt='{_e(caption)}'>"
                     f"<figcaption>{_e(caption)}</figcaption></figure>")
    parts.append("<h2>Highest-risk regions</h2><p>Score: the region's percentile among the "
                 "regions scored that year (1 = highest). Drivers: the features that move "
                 "the region's estimate most, with their direction, in the model's units. "
                 "Alert: the region's alert as partners see it tonight (– none).</p>")
    if alerts and first_delivery:
        parts.append(f"<p>This is the partners' first delivery: every alert reaches them "
                     f"for the first time. The years before were read only as history, for "
                     f"the rules' persistence and rise over years; nothing about them was "
                     f"sent.</p>")
    for t in targets:
        parts.append(f"<h3>{_e(TARGET_NAME[t].capitalize())}</h3>"
                     + _top_table(ds, t, year, opts.top_regions, state))
    if country:
        parts.append("<h2>Countries</h2><p>Countries with alerts first, then those of the "
                     "highest-risk regions; numbers mark the country's highest scores where "
                     "they fit.</p>")
        for k in range(0, len(country), len(targets)):
            parts.append("<div class=pair>")
            for name, caption, legend in country[k:k + len(targets)]:
                parts.append(f"<figure><img src='maps/{_e(name)}' alt='{_e(caption)}'>"
                             f"<figcaption><b>{_e(caption)}</b><br>"
                             + "<br>".join(_e(x) for x in legend) + "</figcaption></figure>")
            parts.append("</div>")
    parts += ["<h2>Data coverage</h2>", _coverage_html(coverage),
              "<h2>Regions without a score</h2>", _unscored_html(ds, year),
              "</body></html>\n"]
    dest = run_dir / "report.html"
    write_text(dest, "\n".join(parts))
    return dest
