"""The nightly entry point: risk grid in, alert lifecycle, messages, outbox and files out.

`publish_alerts` turns one night's risk dataset into alert changes against the store's
history, in one transaction: areas are built and judged by the rules (persistence,
hysteresis, escalation), open alerts move along the lifecycle, new ones open in priority
order within each partner's budget, every change gets a history row and a CAP message,
and each partner's messages and feeds are queued in the outbox. A month already in the
store is not processed again: a rerun of the same night changes nothing and re-renders the
same files from the snapshot kept with that run. Files are written only after the commit,
each atomically, so a crash leaves either the old run folder or a complete one.

The same night runs on a monthly risk grid (areas: admin-1 units or clusters of cells) and
on the real world's yearly region risk dataset (areas: GDL regions with their polygons,
`riskmodel.alerts.regions`); a store holds one of the two, never both, because its periods
("YYYY-MM" months or "YYYY" years) are compared as text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.alerts import cap as capmod
from riskmodel.alerts import geojson, outbox
from riskmodel.alerts.areas import (Area, Grid, admin1_areas, area_polygons, as_of_of,
                                    check_contract, cluster_areas, select_month)
from riskmodel.alerts.csvout import to_csv
from riskmodel.alerts.feedback import precision
from riskmodel.alerts.geometry import Polygon
from riskmodel.alerts.partners import Partner, PartnersConfig, load_partners
from riskmodel.alerts.regions import RegionSource, check_partner_regions
from riskmodel.alerts.priority import components, score
from riskmodel.alerts.rules import RulesConfig, Verdict, evaluate, load_rules, severity
from riskmodel.alerts.store import ACTIVE_STATES, AlertStore
from riskmodel.config import AlertsConfig
from riskmodel.errors import ConfigError, InputError
from riskmodel.io.atomic import write_json, write_text
from riskmodel.regions.risk_dataset import is_region_risk


def publish_alerts(risk: xr.Dataset, *, run_dir: Path, cfg: AlertsConfig, run_id: str,
                   sent: datetime, warm_up: bool = True, history_only: bool = False,
                   polygons: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Evaluate rules, update the store in one transaction, enqueue, and write run files.

    Writes `alerts/cap/<identifier>.xml`, `alerts.geojson`, `alerts.csv` and
    `alerts/partners/<partner>/...` under `run_dir`; returns a JSON-able summary
    (counts new/ongoing/escalated/resolved/deferred, per partner, files).
    `warm_up=False` asks persistence for its full k runs even on a store with fewer
    (backfilled history is built that way, so first-night alerts meet the rule honestly).
    `history_only=True` records the period as history and nothing else: the run and every
    area's observation (the risk and trigger flags persistence and the rise rule read),
    but no alert opens or changes, no message is made or queued and no file is written
    (summary `history_only`); it is refused on a store with open alerts. A first night
    publishes the periods before its own this way, so the store holds only alerts that
    partners were sent.
    A region risk dataset (`riskmodel.regions.risk_dataset`) needs `polygons` (gdlcode ->
    GeoJSON geometry) and rules with `[area] kind = "region"`; its `as_of` is a year.
    """
    if sent.tzinfo is None or sent.utcoffset() is None:
        raise InputError("publish_alerts: `sent` must be timezone-aware (CAP needs an offset)")
    if not cfg.enabled:
        return {"enabled": False}
    rules = load_rules(cfg.rules)
    partners = load_partners(cfg.partners)
    regions: RegionSource | None = None
    if is_region_risk(risk):
        if rules.area.kind != "region":
            raise ConfigError(f"{cfg.rules or 'alert rules'}: [area] kind is "
                              f"{rules.area.kind!r}; region risk needs kind = \"region\"")
        if polygons is None:
            raise InputError("publish_alerts: a region risk dataset needs the regions' "
                             "polygons")
        regions = RegionSource(risk, polygons)
        check_partner_regions(partners, risk, str(cfg.partners))
    else:
        if rules.area.kind == "region":
            raise ConfigError(f"{cfg.rules}: [area] kind = \"region\" needs a region risk "
                              f"dataset; this one is a grid")
        check_contract(risk)
        select_month(risk)  # as_of must be on the time axis
    as_of = as_of_of(risk)
    synthetic = synthetic_flag(risk.attrs)
    if synthetic and rules.cap.status == "Actual":
        raise ConfigError(f"{cfg.rules}: [cap] status = \"Actual\" refused: this risk dataset "
                          f"is the synthetic world (always Exercise)")
    sent_s = capmod.cap_time(sent)
    with AlertStore(cfg.store) as store:
        with store.transaction():
            prior = store.get_run(as_of)
            if prior is None:
                latest = store.latest_as_of()
                if latest is not None and len(latest) != len(as_of):
                    raise InputError(f"{cfg.store}: this store holds "
                                     f"{'yearly' if len(latest) == 4 else 'monthly'} runs "
                                     f"(latest {latest}); publish {as_of} to a store of its "
                                     f"own ([alerts] store)")
                if latest is not None and as_of < latest:
                    raise InputError(f"{cfg.store}: alerts already processed up to {latest}; "
                                     f"refusing to go back to {as_of}")
                summary, records = _process(store, risk, rules, partners, as_of=as_of,
                                            run_id=run_id, sent=sent_s, synthetic=synthetic,
                                            warm_up=warm_up, regions=regions,
                                            history_only=history_only)
                meta = {k: _plain(v) for k, v in risk.attrs.items()}
                store.add_run(as_of, run_id, sent_s, synthetic, meta, summary, records)
            else:
                summary = dict(prior["summary"])
                summary["rerun_of"] = prior["run_id"]
                records = prior["records"]
        if summary.get("history_only"):  # nothing was sent for this period: no files
            return {**summary, "files": {}}
        files = render_run(store, Path(run_dir), records, partners, as_of=as_of,
                           synthetic=synthetic)
        prec = precision(store)
    summary = dict(summary)
    summary["files"] = files
    summary["feedback"] = prec  # alert precision from partners' outcomes so far
    write_json(Path(run_dir) / "alerts" / "summary.json", summary)
    return summary


def synthetic_flag(attrs: dict[str, Any]) -> bool:
    """The dataset's `synthetic` attribute, strictly: 1/0, True/False or "true"/"false"/"1"/"0".

    A missing or odd value is refused rather than guessed: guessing "real" would send
    numbers from a generated world out as CAP `Actual`.
    """
    if "synthetic" not in attrs:
        raise InputError("risk dataset: attribute 'synthetic' is missing (expected 1 for the "
                         "synthetic world, 0 for real data); refusing to guess")
    v = attrs["synthetic"]
    v = v.item() if hasattr(v, "item") else v
    if isinstance(v, (bool, int)) and int(v) in (0, 1):
        return bool(int(v))
    if isinstance(v, str) and v.strip().lower() in ("1", "0", "true", "false"):
        return v.strip().lower() in ("1", "true")
    raise InputError(f"risk dataset: attribute 'synthetic' is {v!r}; expected 1 or 0")


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else (v if isinstance(v, (int, float, str)) else str(v))


# --- processing one new night ------------------------------------------------------------

def partner_zones(grid: Grid, partners: PartnersConfig) -> np.ndarray | None:
    """Flat zone ids (-1 at sea): cells of one country covered by the same partners.

    Clusters grow within a zone, so every cluster belongs wholly to the partners covering
    it: it can neither straddle two partners (and belong to nobody) nor grow out of its
    partner's areas into another's. None without partners (zones = countries).
    """
    if not partners.partner:
        return None
    keys: dict[tuple[int, tuple[str, ...]], int] = {}

    def zone(c: int, admin1: list[str]) -> int:
        probe = {"target": grid.target, "country": grid.countries[c], "admin1": admin1}
        k = (c, tuple(p.id for p in partners.partner if p.covers(probe)))
        return keys.setdefault(k, len(keys))

    by_admin1 = np.array([zone(int(grid.admin1_country[i]), [a])
                          for i, a in enumerate(grid.admin1)] or [0], dtype=np.int64)
    by_country = np.array([zone(c, []) for c in range(len(grid.countries))] or [0],
                          dtype=np.int64)
    cid, aid = grid.country_id, grid.admin1_id
    z = np.where(aid >= 0, by_admin1[np.maximum(aid, 0)], by_country[np.maximum(cid, 0)])
    return np.where(cid >= 0, z, -1)


def _areas(grid: Grid, rules: RulesConfig, keep: list[np.ndarray],
           partners: PartnersConfig) -> list[Area]:
    if rules.area.kind == "admin1":
        return admin1_areas(grid, rules.area.aggregate)
    th = rules.threshold
    return cluster_areas(grid, th.enter, th.leave, rules.area.min_cells, rules.area.aggregate,
                         keep=keep, zones=partner_zones(grid, partners))


def match_clusters(areas: list[Area], previous: list[tuple[str, str, list[int]]],
                   active_cells: dict[str, list[int]], n_cells: int) -> None:
    """Give today's clusters the key of the open alert or recent cluster they overlap most.

    A cluster's outline moves a little from night to night; without matching, each move
    would close one alert and open another. Open alerts win over mere observations (then
    newer months over older), the largest overlap (Jaccard) wins, and each old key is used
    at most once. Each class of sources is one label raster, so this is linear in cells.
    """
    classes: list[list[tuple[str, list[int]]]] = [list(active_cells.items())]
    seen: set[str] = set(active_cells)
    by_month: dict[str, list[tuple[str, list[int]]]] = {}
    for as_of, k, c in previous:
        by_month.setdefault(as_of, []).append((k, c))
    for as_of in sorted(by_month, reverse=True):
        cls = [(k, c) for k, c in by_month[as_of] if k not in seen]
        seen |= {k for k, _ in cls}
        classes.append(cls)
    cand: list[tuple[int, float, str, int]] = []  # (class, -overlap, key, area index)
    for ci, sources in enumerate(classes):
        if not sources:
            continue
        lab = np.full(n_cells, -1, dtype=np.int64)
        sizes = np.zeros(len(sources))
        for si, (_, cells) in enumerate(sources):
            lab[np.asarray(cells, dtype=np.int64)] = si
            sizes[si] = len(cells)
        for i, a in enumerate(areas):
            hit = lab[a.cells]
            hit = hit[hit >= 0]
            if hit.size == 0:
                continue
            ov = np.bincount(hit, minlength=len(sources))
            for si in np.flatnonzero(ov):
                jac = ov[si] / (a.cells.size + sizes[si] - ov[si])
                cand.append((ci, -float(jac), sources[si][0], i))
    used_keys: set[str] = set()
    done: set[int] = set()
    for _, _, k, i in sorted(cand):
        if k in used_keys or i in done:
            continue
        areas[i].key = k
        used_keys.add(k)
        done.add(i)
    # A cluster that matched nothing keeps its peak-cell key, unless that key is taken
    # (by a matched cluster, an open alert or a recent cluster): then it gets a suffix.
    taken = used_keys | set(active_cells) | seen
    for i, a in enumerate(areas):
        if i in done:
            continue
        key, n = a.key, 1
        while key in taken:
            n += 1
            key = f"{a.key}-{n}"
        a.key = key
        taken.add(key)


def _dataset_history(risk: xr.Dataset, rules: RulesConfig, target: str, time: np.datetime64
                     ) -> dict[str, list[tuple[str, float]]]:
    """Admin-1 risks of the months before `time` that the dataset itself carries.

    The rise rule compares with previous months; on a fresh store (or after a gap) the
    risk dataset's earlier time steps are the only record of them.
    """
    out: dict[str, list[tuple[str, float]]] = {}
    if not rules.rise.enabled or rules.area.kind != "admin1":
        return out
    times = [t for t in risk["time"].values if t < time][-rules.rise.months:]
    for t in times:
        month = str(np.datetime_as_string(t, unit="M"))
        for a in admin1_areas(Grid(risk, target, t), rules.area.aggregate):
            if np.isfinite(a.risk):
                out.setdefault(a.key, []).append((month, a.risk))
    return out


def _persistent(verdict: Verdict, hist: list[tuple[str, float | None, int]],
                rules: RulesConfig, n_prior_runs: int, warm_up: bool = True) -> bool:
    """Triggered tonight and in `k` of the last `n` runs; while the store holds fewer than
    `k - 1` earlier runs (warm-up, unless `warm_up` is False), in every run it has, so a
    new store still alerts."""
    k, n = rules.persistence.k, rules.persistence.n
    past = [t for _, _, t in hist][-(n - 1):] if n > 1 else []
    need = min(k, 1 + min(n_prior_runs, n - 1)) if warm_up else k
    return verdict.triggered and (1 + sum(past)) >= need


def _area_fields(a: Area, v: Verdict, rules: RulesConfig) -> dict[str, Any]:
    extra = {"estimates": dict(a.estimates)} if a.estimates else {}
    return {**extra, "risk": a.risk, "risk_lo": a.risk_lo, "risk_hi": a.risk_hi,
            "risk_max": a.risk_max,
            "priority": score(a, rules.priority),
            "priority_parts": {k: round(x, 4) for k, x in components(a, rules.priority).items()},
            "exposed": a.exposed, "population": a.population,
            "child_population": a.child_population, "n_cells": a.n_cells,
            "drivers": [list(d) for d in a.drivers], "reasons": list(v.reasons),
            "domains": dict(a.domains)}


def _issue(store: AlertStore, alert_id: str, msg_type: str, *, sent: str, as_of: str,
           run_id: str, synthetic: bool, rules: RulesConfig) -> dict[str, Any]:
    alert = store.get_alert(alert_id)
    assert alert is not None
    prev = store.messages(alert_id)
    seq = len(prev) + 1
    ident = f"{alert_id}.{seq}"
    refs = [(rules.cap.sender, m["identifier"], m["sent"]) for m in prev]
    alert["drivers"] = [tuple(d) for d in alert["drivers"]]
    try:
        xml = capmod.build_message(alert, identifier=ident, msg_type=msg_type, sent=sent,
                                   references=refs, synthetic=synthetic, cap=rules.cap,
                                   as_of=as_of)
    except ValueError as exc:
        raise InputError(f"alert {alert_id}: cannot build its CAP message: {exc}") from None
    problems = capmod.validate_cap(xml)
    if problems:  # raised inside the night's transaction: nothing is stored or queued
        raise InputError(f"alert {alert_id}: CAP message {ident} is invalid: "
                         f"{'; '.join(problems[:3])}")
    store.add_message(ident, alert_id, seq, msg_type, sent, as_of, run_id, xml)
    return {"identifier": ident, "alert_id": alert_id, "msg_type": msg_type}


def _process(store: AlertStore, risk: xr.Dataset, rules: RulesConfig, partners: PartnersConfig,
             *, as_of: str, run_id: str, sent: str, synthetic: bool, warm_up: bool = True,
             regions: RegionSource | None = None, history_only: bool = False
             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if history_only and store.alerts(states=ACTIVE_STATES):
        raise InputError(f"{store.path}: {as_of} cannot be recorded as history only: the "
                         f"store has open alerts (history goes before a store's first "
                         f"delivery)")
    time = select_month(risk) if regions is None else None
    targets = [t for t in rules.targets if t in [str(x) for x in risk["target"].values]]
    counts = {"new": 0, "ongoing": 0, "escalated": 0, "resolved": 0, "deferred": 0}
    issued: list[dict[str, Any]] = []
    candidates: list[tuple[float, Area, Verdict, Callable[[Area], list[Polygon]]]] = []
    hist_n = max(rules.persistence.n, rules.rise.months if rules.rise.enabled else 1)

    def history(alert_id: str, frm: str | None, to: str, detail: dict[str, Any]) -> None:
        store.add_history(alert_id, to, sent, from_state=frm, as_of=as_of, run_id=run_id,
                          detail=detail)

    # Phase 1, per target: judge areas, move open alerts along, collect candidates.
    for target in targets:
        active = {a["area_key"]: a for a in store.alerts(states=ACTIVE_STATES, target=target)}
        geometry: Callable[[Area], list[Polygon]]
        if regions is not None:
            areas = regions.areas(target, int(as_of))
            geometry = regions.geometry
            prev_risk = (regions.history(target, int(as_of), rules.rise.months)
                         if rules.rise.enabled else {})
        else:
            grid = Grid(risk, target, time)
            areas = _areas(grid, rules, [np.asarray(a["cells"], dtype=np.int64)
                                         for a in active.values()
                                         if a["area_kind"] == "cluster"], partners)
            if rules.area.kind == "cluster":
                match_clusters(areas, store.previous_cells(target, as_of, hist_n),
                               {k: a["cells"] for k, a in active.items()},
                               grid.shape[0] * grid.shape[1])
            prev_risk = _dataset_history(risk, rules, target, time)

            def geometry(a: Area, g: Grid = grid) -> list[Polygon]:
                return area_polygons(g.shape, a.cells, g.lat, g.lon)
        prev = store.previous_observations(target, as_of, hist_n)
        n_prior = store.count_runs_before(as_of)
        for k, v in prev.items():  # the store's own record wins for months it has
            seen = dict(prev_risk.get(k, []))
            seen.update({m: r for m, r, _ in v if r is not None})
            prev_risk[k] = sorted(seen.items())
        verdicts = evaluate(areas, rules, prev_risk)
        by_key = {a.key: a for a in areas}
        store.add_observations([
            (as_of, target, a.key, a.kind, a.risk if np.isfinite(a.risk) else None,
             int(verdicts[a.key].triggered), int(verdicts[a.key].holding),
             "[" + ",".join(map(str, a.cells.tolist())) + "]" if a.kind == "cluster" else None)
            for a in areas])
        if history_only:
            continue
        for key, al in active.items():
            a, v = by_key.get(key), verdicts.get(key)
            aid, state = al["alert_id"], al["state"]
            if a is None or v is None or not v.holding:
                below = al["below_runs"] + 1
                fields: dict[str, Any] = {"below_runs": below, "last_as_of": as_of}
                if a is not None and v is not None:
                    fields.update(_area_fields(a, v, rules))
                if below >= rules.resolve_after:
                    store.update_alert(aid, state="resolved", closed_as_of=as_of, **fields)
                    history(aid, state, "resolved",
                            {"risk": a.risk if a else None, "below_runs": below})
                    issued.append(_issue(store, aid, "Cancel", sent=sent, as_of=as_of,
                                         run_id=run_id, synthetic=synthetic, rules=rules))
                    counts["resolved"] += 1
                else:
                    store.update_alert(aid, **fields)
                    counts["ongoing"] += 1
                continue
            fields = {"below_runs": 0, "last_as_of": as_of, **_area_fields(a, v, rules)}
            if a.kind == "cluster" and sorted(a.cells.tolist()) != sorted(al["cells"]):
                fields["cells"] = a.cells.tolist()
                fields["geometry"] = geometry(a)
                fields["admin1"] = list(a.admin1)
            up = (a.risk >= al["risk_at_message"] + rules.escalate_delta
                  or _band(severity(a.risk, a.kind))
                  > _band(severity(al["risk_at_message"], a.kind)))
            if up:
                store.update_alert(aid, state="escalated", risk_at_message=a.risk, **fields)
                history(aid, state, "escalated",
                        {"risk": a.risk, "from_risk": al["risk_at_message"]})
                issued.append(_issue(store, aid, "Update", sent=sent, as_of=as_of,
                                     run_id=run_id, synthetic=synthetic, rules=rules))
                counts["escalated"] += 1
            else:
                if state == "new":
                    fields["state"] = "ongoing"
                    history(aid, "new", "ongoing", {"risk": a.risk})
                store.update_alert(aid, **fields)
                counts["ongoing"] += 1
        for a in areas:
            v = verdicts[a.key]
            if a.key not in active and _persistent(v, prev.get(a.key, []), rules, n_prior,
                                                   warm_up):
                candidates.append((score(a, rules.priority), a, v, geometry))

    # Phase 2, all targets together: open the best candidates within partners' budgets.
    # Budgets count every alert that touches a partner's areas, so an alert that straddles
    # two partners (possible only after a partners file changed) still uses their room.
    load = {p.id: len([al for al in store.alerts(states=ACTIVE_STATES) if p.touches(al)])
            for p in partners.partner}
    candidates.sort(key=lambda c: (-c[0], c[1].target, c[1].key))
    for prio, a, v, geometry in candidates:
        probe = {"target": a.target, "country": a.country, "admin1": list(a.admin1)}
        mine = [p for p in partners.partner if p.touches(probe)]
        if any(load[p.id] >= _budget(p, rules) for p in mine):
            counts["deferred"] += 1
            continue
        for p in mine:
            load[p.id] += 1
        aid = f"{a.target}-{a.key}-{as_of}"
        row = {"alert_id": aid, "target": a.target, "area_key": a.key, "area_kind": a.kind,
               "country": a.country, "country_name": a.country_name, "admin1": list(a.admin1),
               "name": a.name, "state": "new", "opened_as_of": as_of, "last_as_of": as_of,
               "closed_as_of": None, "risk_at_message": a.risk,
               "geometry": geometry(a),
               "cells": a.cells.tolist() if a.kind == "cluster" else [],
               "model_id": str(risk.attrs.get(f"model_id_{a.target}", "unknown")),
               "horizon": 1 if a.kind == "region" else int(risk.attrs.get("horizon", 3)),
               "synthetic": int(synthetic),
               "below_runs": 0, **_area_fields(a, v, rules)}
        store.insert_alert(row)
        history(aid, None, "new", {"risk": a.risk, "priority": prio, "reasons": list(v.reasons)})
        issued.append(_issue(store, aid, "Alert", sent=sent, as_of=as_of, run_id=run_id,
                             synthetic=synthetic, rules=rules))
        counts["new"] += 1

    if history_only:
        return {"as_of": as_of, "run_id": run_id, "sent": sent, "synthetic": synthetic,
                "targets": targets, **counts, "active": 0, "messages": 0, "partners": {},
                "history_only": True}, []
    records = _records(store, as_of)
    per_partner = _enqueue(store, partners, records, issued, as_of=as_of, sent=sent,
                           synthetic=synthetic)
    summary = {"as_of": as_of, "run_id": run_id, "sent": sent, "synthetic": synthetic,
               "targets": targets, **counts, "active": sum(1 for r in records
                                                           if r["state"] in ACTIVE_STATES),
               "messages": len(issued), "partners": per_partner}
    return summary, records


def _band(sev: str) -> int:
    return {"Minor": 0, "Moderate": 1, "Severe": 2}[sev]


def _budget(p: Partner, rules: RulesConfig) -> int:
    return rules.budget if p.budget is None else p.budget


def _records(store: AlertStore, as_of: str) -> list[dict[str, Any]]:
    """This night's alert list: open alerts ranked by priority, then those resolved tonight."""
    active = store.alerts(states=ACTIVE_STATES)
    closed = store.alerts(closed_as_of=as_of)
    out = []
    for rank, al in enumerate(active, 1):
        out.append(_record(store, al, rank, as_of))
    for al in closed:
        out.append(_record(store, al, None, as_of))
    return out


def _record(store: AlertStore, al: dict[str, Any], rank: int | None, as_of: str
            ) -> dict[str, Any]:
    last = store.messages(al["alert_id"])[-1]
    rec = {k: v for k, v in al.items() if k != "cells"}
    rec.update(identifier=last["identifier"], msg_type=last["msg_type"], rank=rank, as_of=as_of,
               drivers=[list(d) for d in al["drivers"]])
    return rec


def _rerank(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, rank = [], 0
    for r in records:
        r = dict(r)
        if r["rank"] is not None:
            rank += 1
            r["rank"] = rank
        out.append(r)
    return out


def partner_records(p: Partner, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records that belong to partner `p`, ranked within the partner; `acknowledged`
    reflects `p`'s own acknowledgement only (another partner's is not `p`'s business)."""
    out = []
    for r in records:
        if not p.covers(r):
            continue
        by = (r.get("acknowledged_by") or "").split()
        out.append({**r, "acknowledged_by": p.id if p.id in by else None,
                    "acknowledged_at": r.get("acknowledged_at") if p.id in by else None})
    return _rerank(out)


def _enqueue(store: AlertStore, partners: PartnersConfig, records: list[dict[str, Any]],
             issued: list[dict[str, Any]], *, as_of: str, sent: str, synthetic: bool
             ) -> dict[str, Any]:
    per: dict[str, Any] = {}
    by_id = {r["alert_id"]: r for r in records}
    for p in partners.partner:
        recs = partner_records(p, records)
        mine = [m for m in issued if m["alert_id"] in by_id and p.covers(by_id[m["alert_id"]])]
        queued = 0
        for ch_name, _ in p.named_channels():
            if "cap" in p.formats:
                for m in mine:
                    msg = store.get_message(m["identifier"])
                    assert msg is not None
                    queued += outbox.enqueue(
                        store, partner=p.id, channel=ch_name, kind="cap",
                        filename=f"cap/{m['identifier']}.xml", body=msg["xml"].encode(),
                        as_of=as_of, alert_id=m["alert_id"], created_at=sent)
            for kind, body in _feeds(p, recs, as_of=as_of, synthetic=synthetic).items():
                queued += outbox.enqueue(
                    store, partner=p.id, channel=ch_name, kind=kind,
                    filename=f"feeds/{as_of}/alerts.{kind}", body=body.encode(), as_of=as_of,
                    alert_id=None, created_at=sent)
        withdrawn = _withdrawals(store, p, as_of=as_of, sent=sent) if "cap" in p.formats else []
        for ident, aid, xml in withdrawn:
            for ch_name, _ in p.named_channels():
                queued += outbox.enqueue(
                    store, partner=p.id, channel=ch_name, kind="cap",
                    filename=f"cap/{ident}.xml", body=xml.encode(), as_of=as_of,
                    alert_id=aid, created_at=sent)
        per[p.id] = {"alerts": sum(1 for r in recs if r["state"] in ACTIVE_STATES),
                     "resolved": sum(1 for r in recs if r["state"] == "resolved"),
                     "messages": len(mine) + len(withdrawn), "withdrawn": len(withdrawn),
                     "queued": queued}
    return per


def _withdrawals(store: AlertStore, p: Partner, *, as_of: str, sent: str
                 ) -> list[tuple[str, str, str]]:
    """(identifier, alert_id, CAP xml) of a partner-only Cancel for every alert `p` was
    sent that no longer belongs to `p` (its partners file changed, or its area moved) and
    that `p` has not been told is over: `p` is never left holding a live alert nobody
    updates. The Cancel repeats only the area `p` last received, never the new one."""
    rows = store.db.execute(
        "SELECT o.alert_id, o.body FROM outbox o JOIN (SELECT alert_id, max(id) AS last "
        "FROM outbox WHERE partner=? AND kind='cap' AND alert_id IS NOT NULL "
        "GROUP BY alert_id) m ON o.id = m.last ORDER BY o.alert_id", (p.id,)).fetchall()
    out = []
    for aid, body in rows:
        alert = store.get_alert(aid)
        if alert is None or p.covers(alert):
            continue
        prev = bytes(body).decode("utf-8")
        if capmod.read_message(prev)["msgType"] == "Cancel":
            continue  # resolved, or already withdrawn: the partner knows it is over
        ident = f"{aid}.withdrawn-{p.id}-{as_of}"
        try:
            xml = capmod.withdrawal(prev, identifier=ident, sent=sent, partner_id=p.id)
        except ValueError as exc:
            raise InputError(f"alert {aid}: cannot build the Cancel for {p.id}: {exc}") from None
        problems = capmod.validate_cap(xml)
        if problems:
            raise InputError(f"alert {aid}: Cancel {ident} for {p.id} is invalid: "
                             f"{'; '.join(problems[:3])}")
        store.add_history(aid, "withdrawn", sent, from_state=alert["state"], as_of=as_of,
                          run_id=None, detail={"partner": p.id, "identifier": ident})
        out.append((ident, aid, xml))
    return out


def _feeds(p: Partner, recs: list[dict[str, Any]], *, as_of: str, synthetic: bool
           ) -> dict[str, str]:
    out = {}
    if "geojson" in p.formats:
        out["geojson"] = geojson.dumps(geojson.feature_collection(recs, as_of=as_of,
                                                                  synthetic=synthetic))
    if "csv" in p.formats:
        out["csv"] = to_csv(recs)
    return out


# --- files ---------------------------------------------------------------------------------

def _inside(folder: Path, name: str) -> Path:
    """`folder / name`, refusing any name that is not one safe file name (defence in depth:
    identifiers are checked when they are made)."""
    if not capmod.SAFE_ID.match(name):
        raise InputError(f"{folder}: refusing to write file name {name[:80]!r}")
    return folder / name


def render_run(store: AlertStore, run_dir: Path, records: list[dict[str, Any]],
               partners: PartnersConfig, *, as_of: str, synthetic: bool) -> dict[str, Any]:
    """Write the run folder's alert files from `records`; returns the file counts."""
    adir = run_dir / "alerts"
    xml_of = {}
    for r in records:
        msg = store.get_message(r["identifier"])
        assert msg is not None
        xml_of[r["identifier"]] = msg["xml"]
        write_text(_inside(adir / "cap", f"{r['identifier']}.xml"), msg["xml"])
    write_text(run_dir / "alerts.geojson",
               geojson.dumps(geojson.feature_collection(records, as_of=as_of,
                                                        synthetic=synthetic)))
    write_text(run_dir / "alerts.csv", to_csv(records))
    per: dict[str, int] = {}
    for p in partners.partner:
        recs = partner_records(p, records)
        pdir = _inside(adir / "partners", p.id)
        n = 0
        if "cap" in p.formats:
            for r in recs:
                write_text(_inside(pdir / "cap", f"{r['identifier']}.xml"),
                           xml_of[r["identifier"]])
                n += 1
        for kind, body in _feeds(p, recs, as_of=as_of, synthetic=synthetic).items():
            write_text(pdir / f"alerts.{kind}", body)
            n += 1
        per[p.id] = n
    return {"cap": len(records), "partners": per}
