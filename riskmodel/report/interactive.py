"""Interactive maps for an HTML report that work offline: the vendored Leaflet (copied
beside the report, never a CDN or a tile server), the risk grid as an image laid over its
extent, admin-1 areas one hovers for their name, risk, interval and drivers, and alert
areas outlined on top.

The map uses Leaflet's plain (equirectangular) coordinate system, longitude across and
latitude up, the same projection as the PNG maps. Area texts are data: the page puts them
into the tooltip with `textContent`, and the JSON holding them cannot close its script
element (`<` is escaped).
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

from riskmodel.io.atomic import write_with

# The Leaflet files the partner portal serves (npm package leaflet, unmodified).
LEAFLET_DIR = Path(__file__).resolve().parents[1] / "portal" / "static" / "vendor" / "leaflet"
LEAFLET_FILES = ("leaflet.js", "leaflet.css", "LICENSE")


def copy_leaflet(dest: Path) -> dict[str, str]:
    """Copy leaflet.js, leaflet.css and its LICENSE into folder `dest` (atomically, skipped
    when the same bytes are there); returns {"js": ..., "css": ...} file names."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in LEAFLET_FILES:
        src, out = LEAFLET_DIR / name, dest / name
        data = src.read_bytes()
        if out.is_file() and out.read_bytes() == data:
            continue
        write_with(out, lambda p, s=src: shutil.copyfile(s, p))
    return {"js": "leaflet.js", "css": "leaflet.css"}


def json_for_script(doc: Any) -> str:
    """`doc` as JSON safe inside <script type="application/json">: no `<`, `>` or `&`
    left raw, so no text of the data can end the element."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def shapes_block(shapes_id: str, shapes: dict[str, Any]) -> str:
    """The area outlines every map of the page shares: a GeoJSON FeatureCollection whose
    features carry only their `key` (drawn once per map, stored once per page)."""
    return (f"<script type='application/json' id='{html.escape(shapes_id)}'>"
            f"{json_for_script(shapes)}</script>")


def map_block(map_id: str, doc: dict[str, Any], *, caption: str) -> str:
    """The HTML of one interactive map: its container, its data (`doc`: image, bounds
    [[south, west], [north, east]], `shapes` the id of a `shapes_block`, `area_props` the
    tooltip texts by area key, `alerts` a GeoJSON FeatureCollection of alert outlines,
    legend, hint) and a caption. `MAP_SCRIPT` draws every such block of the page."""
    mid = html.escape(map_id)
    return (f"<figure class='riskmap-figure'><div class='riskmap' id='{mid}' "
            f"data-map='{mid}-data' role='application' aria-label='{html.escape(caption)}'>"
            f"</div><script type='application/json' id='{mid}-data'>"
            f"{json_for_script(doc)}</script>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


MAP_CSS = """.riskmap{height:32rem;border:1px solid #bbb;background:#eef2f6}
.riskmap .leaflet-image-layer{image-rendering:pixelated}
.riskmap-figure{margin:.5rem 0 1rem}.riskmap-figure figcaption{font-size:.85rem;color:#555}
.map-legend{background:#fff;padding:.35rem .5rem;border:1px solid #999;font-size:.8rem;
line-height:1.3;max-width:14rem}.map-legend .bar{height:.7rem;width:12rem;margin:.2rem 0}
.map-legend .ticks{display:flex;justify-content:space-between;width:12rem}
.map-legend .outline{display:inline-block;width:1.4rem;height:.7rem;vertical-align:middle;
border:2px solid #00b7ff;box-shadow:0 0 0 1px #fff;margin-right:.3rem}
.area-tip{width:18rem;white-space:normal;font-size:.8rem}.area-tip b{display:block}
.area-tip ul{margin:.2rem 0 0 1rem;padding:0}.area-tip .alert{color:#a01010;font-weight:600}
.map-info{background:#fff;border:1px solid #999;padding:.35rem .5rem;width:20rem;
font-size:.8rem;line-height:1.3}.map-info .area-tip{width:auto}"""

# Draws every `.riskmap` of the page from its JSON; text goes in through textContent only.
MAP_SCRIPT = r"""
(function () {
  "use strict";
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  // The tooltip: area, risk and interval, its alerts; `full` adds the drivers (the
  // info panel, which is never clipped by the map's edge however long the text).
  function tip(p, full) {
    const box = el("div", null, "area-tip");
    box.append(el("b", p.title));
    box.append(el("div", p.risk));
    if (p.alerts && p.alerts.length) {
      for (const a of p.alerts) box.append(el("div", a, "alert"));
    }
    if (full && p.drivers && p.drivers.length) {
      box.append(el("div", p.drivers_heading));
      const ul = el("ul");
      for (const d of p.drivers) ul.append(el("li", d));
      box.append(ul);
    }
    return box;
  }
  function legend(doc) {
    const c = L.control({ position: "bottomright" });
    c.onAdd = function () {
      const div = el("div", null, "map-legend");
      div.append(el("strong", doc.legend.title));
      const bar = el("div", null, "bar");
      bar.style.background = "linear-gradient(to right," + doc.legend.colours.join(",") + ")";
      div.append(bar);
      const ticks = el("div", null, "ticks");
      for (const t of doc.legend.ticks) ticks.append(el("span", t));
      div.append(ticks);
      const row = el("div");
      row.append(el("span", null, "outline"), el("span", doc.legend.outline));
      div.append(row);
      return div;
    };
    return c;
  }
  function infoPanel(doc) {
    const c = L.control({ position: "topright" });
    c.onAdd = function () {
      c.box = el("div", doc.hint, "map-info");
      L.DomEvent.disableScrollPropagation(c.box);
      return c.box;
    };
    c.show = function (p) {
      c.box.replaceChildren(p ? tip(p, true) : document.createTextNode(doc.hint));
    };
    return c;
  }
  function draw(node) {
    const doc = JSON.parse(document.getElementById(node.dataset.map).textContent);
    const bounds = L.latLngBounds(doc.bounds);
    const map = L.map(node, { crs: L.CRS.Simple, zoomSnap: 0.25, minZoom: -4, maxZoom: 9,
                              attributionControl: false });
    L.imageOverlay(doc.image, bounds, { interactive: false }).addTo(map);
    const info = infoPanel(doc).addTo(map);
    const shapes = JSON.parse(document.getElementById(doc.shapes).textContent);
    const props = doc.area_props;
    const has = Object.prototype.hasOwnProperty;
    const own = function (f) { return has.call(props, f.properties.key); };
    const mine = shapes.features.filter(own)
      .map(function (f) {
        return { type: "Feature", geometry: f.geometry, properties: props[f.properties.key] };
      });
    const areas = L.geoJSON({ type: "FeatureCollection", features: mine }, {
      style: { color: "#555", weight: 0.6, opacity: 0.8, fillOpacity: 0, fillColor: "#000",
               className: "map-area" },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(tip(f.properties, false), { sticky: true, direction: "auto" });
        layer.on("add", function () {
          const path = layer.getElement && layer.getElement();
          if (path) path.setAttribute("data-area", f.properties.key);
        });
        layer.on("mouseover", function () {
          layer.setStyle({ weight: 2.5, color: "#111" });
          info.show(f.properties);
        });
        layer.on("mouseout", function () { areas.resetStyle(layer); info.show(null); });
      },
    }).addTo(map);
    L.geoJSON(doc.alerts, {
      interactive: false,
      style: { color: "#00b7ff", weight: 2.5, opacity: 1, fill: false,
               className: "map-alert" },
    }).addTo(map);
    legend(doc).addTo(map);
    map.fitBounds(bounds);
    node.riskmap = map; // for scripts and tests that drive the map
    node.dataset.ready = "1";
  }
  function start() {
    document.querySelectorAll(".riskmap").forEach(draw);
    document.body.dataset.mapsReady = "1";
  }
  if (typeof L === "undefined") {
    document.querySelectorAll(".riskmap").forEach(function (n) {
      n.textContent = "The interactive map needs maps/leaflet/leaflet.js beside this report.";
    });
    return;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
"""


def scripts(leaflet_href: str) -> str:
    """The script elements every page with maps ends with: Leaflet, then `MAP_SCRIPT`."""
    href = html.escape(leaflet_href)
    return f"<script src='{href}'></script><script>{MAP_SCRIPT}</script>"
