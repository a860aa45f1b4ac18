"""What one partner may read from the alert store: its alerts, their messages and its own
feedback, nothing else.

Every read of the portal goes through `PartnerView`, which first finds the alert ids the
partner covers (`Partner.covers`, the same gate as the nightly feeds) and only then
selects rows by those ids. Things other partners did to a shared alert are removed: the
alert's `acknowledged_by` list becomes "acknowledged by you" (and when), history rows of
other partners' acknowledgements are dropped, and only this partner's feedback is shown.
An alert or message outside the partner's areas is reported exactly like one that does
not exist (None), so ids cannot be probed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from riskmodel.alerts import geojson
from riskmodel.alerts.partners import Partner
from riskmodel.alerts.store import ACTIVE_STATES, AlertStore

# Alert ids and CAP identifiers are built from target, area key and month; anything else
# in a URL is rejected before it reaches a query.
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,159}$")
_JSON = ("admin1", "priority_parts", "drivers", "reasons", "geometry", "domains", "detail")
# Every alert column except `cells` (large, and not needed by any portal output).
_COLS = ("alert_id, target, area_key, area_kind, country, country_name, admin1, name, state, "
         "opened_as_of, last_as_of, closed_as_of, risk, risk_lo, risk_hi, risk_max, "
         "priority, priority_parts, exposed, population, child_population, n_cells, drivers, "
         "reasons, geometry, model_id, horizon, synthetic, acknowledged_by, domains")
BRIEF = ("alert_id", "state", "target", "area_kind", "area_key", "name", "country",
         "country_name", "admin1", "risk", "risk_lo", "risk_hi", "priority", "opened_as_of",
         "last_as_of", "closed_as_of", "drivers", "model_id", "synthetic")


def _decode(row: Any) -> dict[str, Any]:
    d = dict(row)
    for k in _JSON:
        if isinstance(d.get(k), str):
            d[k] = json.loads(d[k])
    return d


class PartnerView:
    """Partner-scoped reads of one open store (cheap: build one per request)."""

    def __init__(self, store: AlertStore, partner: Partner) -> None:
        self.store = store
        self.partner = partner
        self._covered: set[str] | None = None

    @property
    def covered(self) -> set[str]:
        """Ids of every alert (any state) that belongs to this partner."""
        if self._covered is None:
            rows = self.store.db.execute("SELECT alert_id, target, country, admin1 FROM alerts")
            self._covered = {r["alert_id"] for r in rows
                             if self.partner.covers({"target": r["target"],
                                                     "country": r["country"],
                                                     "admin1": json.loads(r["admin1"])})}
        return self._covered

    def owns(self, alert_id: str) -> bool:
        """True if `alert_id` is a well-formed id of one of this partner's alerts."""
        return bool(ID_RE.match(alert_id)) and alert_id in self.covered

    def _rows(self, ids: set[str], states: tuple[str, ...] | None) -> list[dict[str, Any]]:
        if not ids:
            return []
        q = f"SELECT {_COLS} FROM alerts WHERE alert_id IN ({','.join('?' * len(ids))})"
        args: list[Any] = sorted(ids)
        if states:
            q += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        rows = [_decode(r) for r in self.store.db.execute(
            q + " ORDER BY priority DESC, alert_id", args)]
        for r in rows:
            r["acknowledged"] = self.partner.id in (r.pop("acknowledged_by") or "").split()
        return rows

    def alerts(self, states: tuple[str, ...] | None = ACTIVE_STATES) -> list[dict[str, Any]]:
        """This partner's alerts (open ones by default), highest priority first, brief."""
        return [{k: r[k] for k in (*BRIEF, "acknowledged")}
                for r in self._rows(self.covered, states)]

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        """One alert row of this partner (without cells), or None."""
        if not self.owns(alert_id):
            return None
        rows = self._rows({alert_id}, None)
        return rows[0] if rows else None

    def history(self, alert_id: str) -> list[dict[str, Any]]:
        """The alert's history without other partners' acknowledgements."""
        out = []
        for r in self.store.db.execute("SELECT at, as_of, from_state, to_state, detail FROM "
                                       "history WHERE alert_id=? ORDER BY seq", (alert_id,)):
            h = _decode(r)
            if h["to_state"] == "acknowledged" and h["detail"].get("partner") != self.partner.id:
                continue
            out.append(h)
        return out

    def feedback(self, alert_id: str) -> dict[str, Any] | None:
        """This partner's recorded outcome for the alert, if any."""
        r = self.store.db.execute(
            "SELECT outcome, observed_on, note, recorded_at FROM feedback WHERE alert_id=? "
            "AND partner=?", (alert_id, self.partner.id)).fetchone()
        return dict(r) if r else None

    def messages(self, alert_id: str) -> list[dict[str, Any]]:
        """(identifier, msg_type, sent, as_of) of the alert's CAP messages, first first."""
        return [dict(r) for r in self.store.db.execute(
            "SELECT identifier, msg_type, sent, as_of FROM messages WHERE alert_id=? "
            "ORDER BY seq", (alert_id,))]

    def detail(self, alert_id: str) -> dict[str, Any] | None:
        """Everything about one alert a partner reads before acting: brief fields, priority
        parts, reasons, per-domain contributions, history, messages, own outcome."""
        al = self.alert(alert_id)
        if al is None:
            return None
        hist = self.history(alert_id)
        acks = [h["at"] for h in hist if h["to_state"] == "acknowledged"]
        info = {k: al[k] for k in BRIEF}
        info.update(priority_parts=al["priority_parts"], reasons=al["reasons"],
                    domains=al["domains"], exposed=al["exposed"], n_cells=al["n_cells"],
                    horizon=al["horizon"], acknowledged=al["acknowledged"],
                    acknowledged_at=acks[0] if acks else None, history=hist,
                    messages=self.messages(alert_id), feedback=self.feedback(alert_id))
        return info

    def cap_xml(self, identifier: str) -> str | None:
        """The stored CAP XML of one of this partner's messages, or None."""
        if not ID_RE.match(identifier):
            return None
        r = self.store.db.execute("SELECT alert_id, xml FROM messages WHERE identifier=?",
                                  (identifier,)).fetchone()
        if r is None or r["alert_id"] not in self.covered:
            return None
        return str(r["xml"])

    def feed_messages(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` CAP messages of this partner's alerts, newest first."""
        out = []
        for r in self.store.db.execute("SELECT identifier, alert_id, msg_type, sent FROM "
                                       "messages ORDER BY sent DESC, alert_id, seq DESC"):
            if r["alert_id"] in self.covered:
                out.append(dict(r))
                if len(out) >= limit:
                    break
        return out

    def feature_collection(self) -> dict[str, Any]:
        """Open alerts as the run's GeoJSON FeatureCollection (same properties), with
        `acknowledged` meaning acknowledged by this partner."""
        rows = self._rows(self.covered, ACTIVE_STATES)
        last = {r["alert_id"]: r for r in self.store.db.execute(
            "SELECT alert_id, identifier, msg_type, max(seq) FROM messages GROUP BY alert_id")}
        as_of = self.store.latest_as_of() or ""
        recs = []
        for rank, r in enumerate(rows, 1):
            m = last[r["alert_id"]]
            recs.append({**r, "identifier": m["identifier"], "msg_type": m["msg_type"],
                         "rank": rank, "as_of": as_of,
                         "acknowledged_at": "yes" if r["acknowledged"] else None})
        return geojson.feature_collection(recs, as_of=as_of,
                                          synthetic=any(r["synthetic"] for r in recs))
