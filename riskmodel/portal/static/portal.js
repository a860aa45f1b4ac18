// riskmodel partner portal page: reads the partner's alerts through the token-scoped API,
// draws them on a Leaflet map without any tile server, and lets the partner acknowledge an
// alert and report what a visit found. Every text from the API goes through textContent,
// never innerHTML: area names and notes are data, not markup.
"use strict";

(function () {
  const API = "/api/v1";
  const KEY = "riskmodel-portal-token";
  const $ = (id) => document.getElementById(id);
  let token = null;
  let map = null;
  let areas = null;
  let grid = null;
  const layers = new Map(); // alert_id -> Leaflet layer
  let selected = null;
  let data = null; // {alerts, fc} as last fetched
  let me = null; // the partner (from /me)

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function setStatus(id, text, isError) {
    const p = $(id);
    p.textContent = text;
    p.classList.toggle("error", !!isError);
  }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Authorization: "Bearer " + token }, opts.headers);
    const r = await fetch(API + path, opts);
    if (r.status === 401) {
      signOut("The token was not accepted (revoked or mistyped).");
      throw new Error("unauthorised");
    }
    if (!r.ok) {
      let msg = r.status + " " + r.statusText;
      try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return r;
  }

  function post(path, body) {
    return api(path, { method: "POST", headers: { "Content-Type": "application/json" },
                       body: JSON.stringify(body) });
  }

  // --- token handling: from the URL fragment (never sent to the server) or the form ---
  function takeTokenFromFragment() {
    const m = /(?:^#|&)token=([A-Za-z0-9_]+)/.exec(window.location.hash);
    if (m) {
      sessionStorage.setItem(KEY, m[1]);
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    token = null;
    $("portal").hidden = true;
    $("sign-out").hidden = true;
    $("partner-name").textContent = "";
    $("sign-in").hidden = false;
    $("sign-in-error").textContent = message || "";
  }

  // --- map ------------------------------------------------------------------------------
  // The CAP severity bands of the alert's risk (Minor < 0.6 <= Moderate < 0.8 <= Severe).
  const BANDS = [[0.8, "#8c1c13", "Severe (risk ≥ 0.8)"], [0.6, "#e4572e", "Moderate (0.6–0.8)"],
                 [0, "#f2b134", "Minor (< 0.6)"]];
  function riskColour(r) {
    return BANDS.find((b) => r >= b[0])[1];
  }

  function legend() {
    const c = L.control({ position: "bottomleft" });
    c.onAdd = () => {
      const div = el("div", null, "legend");
      div.append(el("strong", "CAP severity"));
      for (const [, colour, label] of BANDS) {
        const row = el("div");
        const sw = el("span", null, "swatch");
        sw.style.background = colour;
        row.append(sw, el("span", label));
        div.append(row);
      }
      return div;
    };
    return c;
  }

  function graticule(bounds) {
    // Lines every 1, 2, 5 or 10 degrees so a map without tiles still shows where it is.
    const span = Math.max(bounds.getNorth() - bounds.getSouth(),
                          bounds.getEast() - bounds.getWest());
    const step = [1, 2, 5, 10, 20].find((s) => span / s <= 12) || 30;
    const g = L.layerGroup();
    const s = Math.floor(bounds.getSouth() / step) * step - step;
    const n = Math.ceil(bounds.getNorth() / step) * step + step;
    const w = Math.floor(bounds.getWest() / step) * step - step;
    const e = Math.ceil(bounds.getEast() / step) * step + step;
    const style = { color: "#9fb0c3", weight: 1, opacity: 0.7, interactive: false,
                    className: "graticule", pane: "graticule" };
    for (let lat = s; lat <= n; lat += step) g.addLayer(L.polyline([[lat, w], [lat, e]], style));
    for (let lon = w; lon <= e; lon += step) g.addLayer(L.polyline([[s, lon], [n, lon]], style));
    return g;
  }

  function drawMap(fc) {
    if (!map) {
      map = L.map("map", { zoomSnap: 0.25, worldCopyJump: false });
      map.attributionControl.setPrefix("Leaflet");
      legend().addTo(map);
      map.createPane("graticule").style.zIndex = "350"; // under the alert areas (400)
    }
    if (areas) areas.remove();
    layers.clear();
    areas = L.geoJSON(fc, {
      style: (f) => ({ color: "#33415c", weight: 1, fillOpacity: 0.65,
                       fillColor: riskColour(f.properties.risk), className: "alert-area" }),
      onEachFeature: (f, layer) => {
        layers.set(f.properties.alert_id, layer);
        layer.on("click", () => select(f.properties.alert_id));
        const tip = el("span", f.properties.name + " — " + f.properties.target.toUpperCase() +
                       " risk " + f.properties.risk.toFixed(2));
        layer.bindTooltip(tip, { sticky: true });
        layer.on("add", () => {
          const path = layer.getElement && layer.getElement();
          if (path) path.setAttribute("data-alert-id", f.properties.alert_id);
        });
      },
    }).addTo(map);
    const b = areas.getBounds();
    if (grid) grid.remove();
    if (b.isValid()) {
      map.fitBounds(b.pad(0.2));
      grid = graticule(b).addTo(map);
    } else {
      map.setView([0, 0], 2);
    }
  }

  // --- list and detail -----------------------------------------------------------------------
  function drawList(alerts) {
    const ol = $("alert-list");
    ol.replaceChildren();
    $("alert-count").textContent = "(" + alerts.length + ")";
    for (const a of alerts) {
      const li = el("li");
      li.dataset.alertId = a.alert_id;
      li.append(el("span", a.name + " (" + a.country + ") — " + a.target.toUpperCase() +
                       " " + a.risk.toFixed(2)));
      if (a.acknowledged) li.append(el("span", "acknowledged", "ack"));
      li.addEventListener("click", () => select(a.alert_id));
      ol.append(li);
    }
  }

  function fact(dl, name, value) {
    dl.append(el("dt", name), el("dd", value));
  }

  function highlight(alertId) {
    for (const li of $("alert-list").children) {
      li.classList.toggle("selected", li.dataset.alertId === alertId);
    }
    for (const [id, layer] of layers) {
      layer.setStyle({ weight: id === alertId ? 3 : 1,
                       color: id === alertId ? "#0b132b" : "#33415c" });
      if (id === alertId) layer.bringToFront();
    }
  }

  async function select(alertId) {
    selected = alertId;
    highlight(alertId);
    const d = await (await api("/alerts/" + encodeURIComponent(alertId))).json();
    if (selected !== alertId) return; // another click came first
    showDetail(d);
  }

  function showDetail(d) {
    $("detail").hidden = false;
    $("detail").dataset.alertId = d.alert_id;
    $("d-title").textContent = d.name + " (" + d.country_name + ")";
    $("d-sub").textContent = d.alert_id + " · " + d.state +
      (d.acknowledged ? " · acknowledged by you " + d.acknowledged_at : "");
    const dl = $("d-facts");
    dl.replaceChildren();
    fact(dl, "target", d.target === "fl" ? "forced labour" : "child labour");
    fact(dl, "risk", d.risk.toFixed(2) + " (80% interval " + d.risk_lo.toFixed(2) + "–" +
         d.risk_hi.toFixed(2) + ")");
    fact(dl, "priority", d.priority.toFixed(2));
    fact(dl, "opened", d.opened_as_of);
    fact(dl, "last run", d.last_as_of);
    fact(dl, "persons at risk", Math.round(d.exposed).toLocaleString("en"));
    fact(dl, "model", d.model_id);
    if (d.feedback) {
      fact(dl, "your outcome", d.feedback.outcome +
           (d.feedback.observed_on ? " on " + d.feedback.observed_on : ""));
    }
    const tb = $("d-drivers").tBodies[0];
    tb.replaceChildren();
    for (const [feature, domain, c] of d.drivers) {
      const tr = el("tr");
      tr.append(el("td", feature), el("td", domain), el("td", (c >= 0 ? "+" : "") + c.toFixed(2)));
      tb.append(tr);
    }
    const ul = $("d-reasons");
    ul.replaceChildren(...(d.reasons.length ? d.reasons : ["still above its leave levels"])
      .map((r) => el("li", r)));
    const hist = $("d-history");
    hist.replaceChildren(...d.history.map((h) => el("li", h.at + " " +
      (h.from_state || "–") + " → " + h.to_state)));
    const msgs = $("d-messages");
    msgs.replaceChildren();
    for (const m of d.messages) {
      const li = el("li");
      const b = el("button", m.identifier + " (" + m.msg_type + ")");
      b.type = "button";
      b.className = "cap-link";
      b.addEventListener("click", () => showCap(m.identifier));
      li.append(b);
      msgs.append(li);
    }
    $("cap-view").hidden = true;
    $("ack-button").disabled = d.acknowledged;
    $("ack-button").textContent = d.acknowledged ? "Acknowledged" : "Acknowledge";
    setStatus("ack-status", "");
    setStatus("outcome-status", "");
  }

  async function showCap(identifier) {
    const r = await api("/cap/" + encodeURIComponent(identifier) + ".xml");
    const pre = $("cap-view");
    pre.textContent = await r.text();
    pre.hidden = false;
  }

  const TARGETS = { fl: "forced labour", cl: "child labour" };

  function targetOptions(targets, alerts) {
    // One target at a time: FL and CL alerts of one area share its outline, so drawing
    // both would hide one under the other. Start with the first target that has alerts.
    const sel = $("target-filter");
    const keep = sel.value;
    sel.replaceChildren();
    for (const t of targets) {
      const n = alerts.filter((a) => a.target === t).length;
      const o = el("option", TARGETS[t] + " (" + n + ")");
      o.value = t;
      sel.append(o);
    }
    const first = targets.find((t) => alerts.some((a) => a.target === t)) || targets[0];
    sel.value = targets.includes(keep) ? keep : first;
  }

  function draw() {
    const t = $("target-filter").value;
    const keep = (target) => target === t;
    drawList(data.alerts.filter((a) => keep(a.target)));
    drawMap(Object.assign({}, data.fc,
                          { features: data.fc.features.filter((f) => keep(f.properties.target)) }));
    if (selected && layers.has(selected)) highlight(selected);
  }

  async function refresh() {
    const [alerts, fc] = await Promise.all([
      api("/alerts").then((r) => r.json()),
      api("/alerts.geojson").then((r) => r.json()),
    ]);
    data = { alerts, fc };
    targetOptions(me.targets, alerts);
    draw();
    const banner = $("synthetic-banner");
    banner.hidden = !fc.synthetic;
    banner.textContent = fc.note || "";
    document.body.dataset.alerts = String(alerts.length);
  }

  async function start() {
    token = sessionStorage.getItem(KEY);
    if (!token) { signOut(""); return; }
    try {
      me = await (await api("/me")).json();
      $("partner-name").textContent = me.name;
      $("sign-in").hidden = true;
      $("portal").hidden = false;
      $("sign-out").hidden = false;
      await refresh();
      document.body.dataset.ready = "1";
    } catch (e) {
      if (token) $("sign-in-error").textContent = e.message;
    }
  }

  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("token-input").value.trim());
    $("token-input").value = "";
    start();
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("target-filter").addEventListener("change", () => { if (data) draw(); });

  $("ack-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = selected;
    try {
      const res = await (await post("/alerts/" + encodeURIComponent(id) + "/ack",
                                    { note: $("ack-note").value })).json();
      $("ack-note").value = "";
      await refresh();
      await select(id);
      setStatus("ack-status", res.changed ? "Acknowledged." : "Already acknowledged.");
    } catch (e) {
      setStatus("ack-status", e.message, true);
    }
  });

  $("outcome-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = selected;
    const choice = document.querySelector("input[name=outcome]:checked");
    const body = { outcome: choice ? choice.value : "",
                   observed_on: $("observed-on").value || null,
                   note: $("outcome-note").value };
    try {
      const res = await (await post("/alerts/" + encodeURIComponent(id) + "/outcome",
                                    body)).json();
      $("outcome-note").value = "";
      await select(id);
      setStatus("outcome-status", "Recorded: " + res.outcome +
                (res.observed_on ? " on " + res.observed_on : "") + ".");
    } catch (e) {
      setStatus("outcome-status", e.message, true);
    }
  });

  takeTokenFromFragment();
  start();
})();
