"""Partner feedback on alerts: outcomes in, labels and alert precision out.

Partners report per alert whether a visit confirmed a case (`confirmed`), found none
(`not_found`) or did not happen (`not_visited`). A file is checked row by row: every
malformed row is reported with its line number, and every valid row is recorded anyway
(one bad line must not lose a partner's other reports). The latest outcome per alert and
partner wins. Confirmed outcomes (and not-found ones, as negatives) become labels for the
next training (`labels`), and `precision` is the share of visited alerts that were
confirmed: the honest measure of whether alerts send inspectors to the right places.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from riskmodel.alerts.partners import PARTNER_ID, PartnersConfig
from riskmodel.alerts.store import AlertStore
from riskmodel.errors import ConfigError, InputError

OUTCOMES = ("confirmed", "not_found", "not_visited")
_PARTNER_RE = re.compile(PARTNER_ID)


@dataclass
class FeedbackResult:
    """What a feedback file did: rows recorded, and the problems by line."""

    recorded: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _outcome(raw: str) -> str | None:
    v = raw.strip().lower().replace("-", "_").replace(" ", "_")
    return v if v in OUTCOMES else None


def record_feedback(store: AlertStore, path: Path | str, *, partners: PartnersConfig,
                    default_partner: str | None = None, now: datetime | None = None
                    ) -> FeedbackResult:
    """Validate and record a feedback CSV (columns alert_id or identifier, either holding an
    alert id or a CAP identifier; outcome; and optionally partner, observed_on YYYY-MM-DD,
    note). Every row's partner must be a
    configured partner that covers the alert, so without partners nothing is recorded."""
    if not partners.partner:
        raise ConfigError("recording feedback needs the partners file (--partners or the run "
                          "config's [alerts] partners): no partner can be checked without it")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read feedback file: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    cols = {c.strip().lower() for c in (reader.fieldnames or [])}
    if not cols:
        raise InputError(f"{p}:1: empty feedback file (expected a header row)")
    if "outcome" not in cols or not cols & {"alert_id", "identifier"}:
        raise InputError(f"{p}:1: header needs `alert_id` (or `identifier`) and `outcome`; "
                         f"got {', '.join(sorted(cols))}")
    res = FeedbackResult()
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    valid: list[tuple[Any, ...]] = []
    for row in reader:
        line = reader.line_num
        r = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()
             if isinstance(v, str) or v is None}
        if None in row:  # more cells than header columns
            res.errors.append((line, "more fields than the header"))
            continue
        if not any(r.values()):
            continue  # blank line
        # Either column may hold an alert id or a CAP identifier (what partners see first).
        ref = r.get("alert_id") or r.get("identifier") or ""
        alert = store.find_alert(ref) if ref else None
        if alert is None:
            res.errors.append((line, f"unknown alert {ref!r} (neither an alert id nor a CAP "
                                     f"identifier in this store)" if ref else
                                     "missing alert_id"))
            continue
        aid = alert["alert_id"]
        outcome = _outcome(r.get("outcome", ""))
        if outcome is None:
            res.errors.append((line, f"outcome {r.get('outcome', '')!r} is not one of "
                                     f"{', '.join(OUTCOMES)}"))
            continue
        observed = r.get("observed_on") or None
        if observed:
            try:
                date.fromisoformat(observed)
            except ValueError:
                res.errors.append((line, f"observed_on {observed!r} is not YYYY-MM-DD"))
                continue
        partner = r.get("partner") or default_partner or ""
        if partner and not _PARTNER_RE.match(partner):
            res.errors.append((line, f"partner {partner!r} is not a partner id "
                                     f"(lower-case letters, digits, '_' or '-')"))
            continue
        known = {q.id: q for q in partners.partner}
        if partner not in known:
            res.errors.append((line, f"unknown partner {partner!r}" if partner else
                                     "no partner (add a partner column or --partner)"))
            continue
        if not known[partner].covers(alert):
            res.errors.append((line, f"alert {aid} is not in partner {partner}'s areas"))
            continue
        valid.append((aid, partner, outcome, observed, r.get("note") or None, stamp,
                      f"{p.name}:{line}"))
    with store.transaction():
        store.db.executemany("INSERT OR REPLACE INTO feedback VALUES (?,?,?,?,?,?,?)", valid)
    res.recorded = len(valid)
    return res


def precision(store: AlertStore) -> dict[str, Any]:
    """Alert precision from feedback: confirmed / (confirmed + not_found), overall and per
    target (None where nothing was visited)."""
    out: dict[str, Any] = {}
    q = ("SELECT a.target, f.outcome, count(*) FROM feedback f JOIN alerts a USING (alert_id) "
         "GROUP BY a.target, f.outcome")
    tally: dict[str, dict[str, int]] = {}
    for target, outcome, n in store.db.execute(q):
        for key in ("all", target):
            tally.setdefault(key, dict.fromkeys(OUTCOMES, 0))[outcome] += n
    for key, t in sorted(tally.items()):
        visited = t["confirmed"] + t["not_found"]
        out[key] = {**t, "precision": (t["confirmed"] / visited) if visited else None}
    return out


def labels(store: AlertStore, partners: PartnersConfig | None = None,
           partner: str | None = None) -> list[dict[str, Any]]:
    """Training labels from feedback: 1 for confirmed, 0 for not found (not_visited skipped),
    with the alert's area (admin-1 ids, cells for clusters) and month.

    With `partners`, only outcomes of a configured partner about an alert it covers count
    (a partner's word on another's area is no label); with `partner`, only that partner's.
    """
    gate = {q.id: q for q in partners.partner} if partners is not None else None
    q = ("SELECT a.alert_id, a.target, a.country, a.area_kind, a.area_key, a.admin1, a.cells, "
         "a.opened_as_of, f.outcome, f.observed_on, f.partner FROM feedback f "
         "JOIN alerts a USING (alert_id) WHERE f.outcome IN ('confirmed','not_found') "
         "ORDER BY a.alert_id, f.partner")
    out = []
    for r in store.db.execute(q):
        d = dict(r)
        if partner is not None and d["partner"] != partner:
            continue
        if gate is not None:
            who = gate.get(d["partner"])
            alert = {"target": d["target"], "country": d["country"],
                     "admin1": json.loads(d["admin1"])}
            if who is None or not who.covers(alert):
                continue
        d.pop("country")
        d["label"] = 1 if d["outcome"] == "confirmed" else 0
        out.append(d)
    return out
