// The KPI panel of the partner portal: this partner's alert KPIs and reported programme
// results from GET /api/v1/kpis (scoped by the token, like every API call). Shown and
// loaded whenever the signed-in portal is shown, and on "Refresh". Every text
// goes through textContent; a KPI without data shows "n/a" and its reason, never 0.
"use strict";

(function () {
  const KEY = "riskmodel-portal-token";
  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function num(x) {
    return Number.isInteger(x) ? x.toLocaleString("en") : x.toFixed(2);
  }

  function cell(kpi, v) {
    if (v.value === null) return "n/a (" + v.reason + ")";
    if (kpi.unit.startsWith("share")) {
      return Math.round(100 * v.value) + "% (" + num(v.numerator) + "/" + num(v.denominator) + ")";
    }
    if (kpi.unit === "days") return v.value.toFixed(1) + " d (n=" + v.n + ")";
    return v.value.toFixed(2) + " (" + num(v.numerator) + "/" + num(v.denominator) + ")";
  }

  function kpiTable(data) {
    const table = el("table");
    const head = el("tr");
    ["", ...data.catalogue.map((k) => k.label)].forEach((h, i) => {
      const th = el("th", h);
      if (i) th.title = data.catalogue[i - 1].definition;
      head.appendChild(th);
    });
    table.appendChild(head);
    const rows = [...data.rows, data.total];
    rows.forEach((r) => {
      const tr = el("tr");
      tr.appendChild(el("th", r === data.total ? "all" : r.target + " " + r.period));
      data.catalogue.forEach((k) => tr.appendChild(el("td", cell(k, r.kpis[k.name]), "num")));
      table.appendChild(tr);
    });
    return table;
  }

  function resultsTable(results) {
    if (!results.length) return el("p", "No programme results reported yet.", "muted");
    const table = el("table");
    const head = el("tr");
    ["country", "sector", "indicator", "value", "unit", "programmes"].forEach(
      (h) => head.appendChild(el("th", h)));
    table.appendChild(head);
    results.forEach((r) => {
      const tr = el("tr");
      [r.country, r.sector, r.indicator, r.value === null ? "n/a" : num(r.value), r.unit,
       r.programmes.join(", ")].forEach((t) => tr.appendChild(el("td", t)));
      table.appendChild(tr);
    });
    return table;
  }

  async function load() {
    const box = $("kpi-body");
    const token = sessionStorage.getItem(KEY);
    if (!token || !box) return;
    try {
      const r = await fetch("/api/v1/kpis", { headers: { Authorization: "Bearer " + token } });
      const data = await r.json();
      if (!r.ok) throw new Error(data.error || r.status + " " + r.statusText);
      box.replaceChildren(el("h3", "Alert KPIs"), kpiTable(data),
                          el("h3", "Programme results you reported"),
                          resultsTable(data.results));
      document.body.dataset.kpis = String(data.total.alerts);
    } catch (e) {
      box.replaceChildren(el("p", "KPIs not available: " + e.message, "error"));
    }
  }

  // Shown with the portal (signed in), hidden with it; loaded each time it appears.
  const portal = $("portal");
  new MutationObserver(() => {
    $("kpis").hidden = portal.hidden;
    if (!portal.hidden) load();
  }).observe(portal, { attributes: true, attributeFilter: ["hidden"] });
  $("kpi-refresh").addEventListener("click", load);
})();
