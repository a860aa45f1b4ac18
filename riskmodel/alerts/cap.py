"""CAP 1.2 messages for alerts, and the specification's rules the XSD cannot check.

One message per lifecycle step of an alert: `Alert` when it opens, `Update` when it
escalates, `Cancel` when it resolves; later messages reference every earlier one
("sender,identifier,sent" triples). Anything computed from the synthetic world is sent
with `status` Exercise (never Actual) and says so in `note`; messages about real places
carry the `status` of the rules' `[cap]` (Exercise unless the operator sets Actual) and a
`note` saying they are modelled estimates. Region alerts (yearly scores of GDL regions)
describe the relative risk score and the modelled estimate behind it, name the region by
its ISO 3166-1 and GDL codes, and run from the start of their year until a year after
they are sent (the next yearly run supersedes them). Messages are plain
ElementTree output with a fixed element order, so the same alert renders the same bytes.
`check_cap` enforces CAP 1.2 section 3 rules beyond the schema: polygons of at least four
closed lat,lon pairs in range, `sent`/`effective`/`expires` with an explicit UTC offset,
`effective` and `onset` before `expires`, well-formed `references`. `validate_cap` is the
gate every message passes before it is stored or queued: well-formed XML, the CAP 1.2
schema (`schema/CAP-v1.2.xsd`) and those rules. Identifiers (which also name files) come
from a safe character set.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from riskmodel.alerts.rules import CapSpec, severity

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ET.register_namespace("", CAP_NS)
_Q = f"{{{CAP_NS}}}"

EVENTS = {"fl": "Forced labour risk", "cl": "Child labour risk"}
SYNTHETIC_NOTE = ("SYNTHETIC WORLD: computed from a generated test world; not evidence about "
                  "any real place.")
REAL_NOTE = ("MODELLED ESTIMATE: relative risk from models trained on country-level outcomes, "
             "not validated at region level; not a count of identified cases.")
_DT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")
# Identifiers name files in run folders, drops and webhooks: letters, digits, '_', '.',
# '-', starting with a letter or digit, and never '..' (no way out of a folder).
SAFE_ID = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_ID_OK = re.compile(r"^[^\s,<&]+$")  # the spec's own rule, for messages of any sender
# Characters XML 1.0 cannot carry (most C0 controls, NUL, surrogates, U+FFFE/U+FFFF).
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "CAP-v1.2.xsd"


def cap_time(t: datetime) -> str:
    """CAP dateTime: seconds precision and an explicit offset ("+00:00", never "Z")."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("CAP times need a timezone offset; got a naive datetime")
    return t.replace(microsecond=0).isoformat()


def month_start(as_of: str, add_months: int = 0) -> datetime:
    """00:00 UTC on the first day of month `as_of` (+ `add_months`)."""
    y, m = (int(x) for x in as_of.split("-"))
    k = y * 12 + (m - 1) + add_months
    return datetime(k // 12, k % 12 + 1, 1, tzinfo=timezone.utc)


def info_times(sent: str, as_of: str, horizon: int) -> tuple[str, str, str]:
    """(effective, onset, expires) of a message about month `as_of` sent at `sent`.

    The forecast covers the months `as_of` .. `as_of` + `horizon` - 1: onset is the start
    of the first, expires the start of the month after the last. The information takes
    effect when sent; a message about months already over when it is sent (a backfilled
    or replayed month, such as the demo's) takes effect at its onset instead, so no message
    expires before it takes effect.
    """
    onset, expires = month_start(as_of), month_start(as_of, int(horizon))
    effective = sent if datetime.fromisoformat(sent) < expires else cap_time(onset)
    return effective, cap_time(onset), cap_time(expires)


def year_times(sent: str, year: str) -> tuple[str, str, str]:
    """(effective, onset, expires) of a message about calendar year `year` sent at `sent`:
    effective when sent, onset at the start of the year, expires a year after sending (or
    at the end of the year, if later), when the next yearly run has superseded it."""
    at = datetime.fromisoformat(sent)
    onset = datetime(int(year), 1, 1, tzinfo=timezone.utc)
    try:
        later = at.replace(year=at.year + 1)
    except ValueError:  # 29 February
        later = at.replace(year=at.year + 1, day=28)
    expires = max(later, datetime(int(year) + 1, 1, 1, tzinfo=timezone.utc))
    return sent, cap_time(onset), cap_time(expires)


def cap_status(synthetic: bool, cap: CapSpec) -> str:
    """The message status: always Exercise for the synthetic world, else the rules' own."""
    return "Exercise" if synthetic else cap.status


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    e = ET.SubElement(parent, _Q + tag)
    if text is not None:
        if _XML_BAD.search(text):
            raise ValueError(f"CAP {tag} {text[:60]!r} holds a control character XML cannot "
                             f"carry")
        e.text = text
    return e


def _param(info: ET.Element, name: str, value: str) -> None:
    p = _sub(info, "parameter")
    _sub(p, "valueName", name)
    _sub(p, "value", value)


def _pairs(ring: list[list[float]] | list[tuple[float, float]]) -> str:
    # GeoJSON rings are (lon, lat); CAP wants "lat,lon" pairs.
    return " ".join(f"{lat:.5f},{lon:.5f}" for lon, lat in ring)


def build_message(alert: dict[str, Any], *, identifier: str, msg_type: str, sent: str,
                  references: list[tuple[str, str, str]], synthetic: bool, cap: CapSpec,
                  as_of: str) -> str:
    """The CAP 1.2 XML text of one message about `alert` (a store row)."""
    if not SAFE_ID.match(identifier):
        raise ValueError(f"CAP identifier {identifier!r} is not letters, digits, '_', '.', "
                         f"'-' (no '..')")
    target = alert["target"]
    cancel = msg_type == "Cancel"
    root = ET.Element(_Q + "alert")
    _sub(root, "identifier", identifier)
    _sub(root, "sender", cap.sender)
    _sub(root, "sent", sent)
    _sub(root, "status", cap_status(synthetic, cap))
    _sub(root, "msgType", msg_type)
    _sub(root, "source", f"riskmodel {alert['model_id']}")
    _sub(root, "scope", "Restricted")
    _sub(root, "restriction", "ILO national partners of the covered country; not for release")
    region = alert["area_kind"] == "region"
    if synthetic:
        _sub(root, "note", SYNTHETIC_NOTE)
    elif region:
        _sub(root, "note", REAL_NOTE)
    if references:
        _sub(root, "references", " ".join(",".join(t) for t in references))
    _sub(root, "incidents", alert["alert_id"])

    info = _sub(root, "info")
    _sub(info, "language", cap.language)
    _sub(info, "category", "Other")
    _sub(info, "event", EVENTS[target])
    _sub(info, "responseType", "AllClear" if cancel else "Monitor")
    _sub(info, "urgency", "Past" if cancel else "Future")
    _sub(info, "severity", "Minor" if cancel else severity(alert["risk"], alert["area_kind"]))
    # CAP: Likely is p > ~50%, Possible p <= ~50%; a grid's risk is a calibrated
    # probability. A region's is a rank of modelled estimates, never observed: Possible.
    _sub(info, "certainty", "Unlikely" if cancel else "Possible" if region else
         ("Likely" if alert["risk"] > 0.5 else "Possible"))
    ev = _sub(info, "eventCode")
    _sub(ev, "valueName", "riskmodel:target")
    _sub(ev, "value", target.upper())
    effective, onset, expires = (year_times(sent, as_of) if region else
                                 info_times(sent, as_of, int(alert["horizon"])))
    _sub(info, "effective", effective)
    _sub(info, "onset", onset)
    _sub(info, "expires", expires)
    _sub(info, "senderName", cap.sender_name)
    where = f"{alert['name']} ({alert['country_name']})"
    what = EVENTS[target].lower()
    if cancel:
        _sub(info, "headline", f"Ended: {what} alert for {where}"[:160])
        _sub(info, "description",
             f"The {what} alert for {where} is resolved: the modelled risk "
             f"({alert['risk']:.2f}) stayed below the alert's leave levels.")
    else:
        _sub(info, "headline",
             f"{'Raised' if msg_type == 'Update' else 'High'} {what} in {where}"[:160])
        drivers = "; ".join(f"{f} ({d}, {c:+.2f})" for f, d, c in alert["drivers"]) or "n/a"
        why = '; '.join(alert['reasons']) or 'ongoing'
        if region:
            _sub(info, "description", region_description(alert, as_of, drivers, why))
        else:
            _sub(info, "description",
                 f"Modelled probability of at least one identified case in the next "
                 f"{alert['horizon']} month(s): {alert['risk']:.2f} "
                 f"(80% interval {alert['risk_lo']:.2f}-{alert['risk_hi']:.2f}). "
                 f"Top drivers: {drivers}. Why: {why}.")
        _sub(info, "instruction",
             "Consider prioritising inspection, social protection or programme outreach "
             "in this area; report the outcome through the feedback channel.")
    if cap.web:
        _sub(info, "web", cap.web)
    if cap.contact:
        _sub(info, "contact", cap.contact)
    _param(info, "alert_id", alert["alert_id"])
    _param(info, "as_of", as_of)
    _param(info, "risk", f"{alert['risk']:.4f}")
    _param(info, "risk_interval", f"{alert['risk_lo']:.4f} {alert['risk_hi']:.4f}")
    _param(info, "priority", f"{alert['priority']:.4f}")
    for i, (f, d, c) in enumerate(alert["drivers"], 1):
        _param(info, f"driver_{i}", f"{f} {d} {c:+.4f}")
    for d, c in sorted(alert.get("domains", {}).items()):
        _param(info, f"domain_{d}", f"{c:+.4f}")
    est = alert.get("estimates") or {}
    if region and "rate" in est:
        _param(info, "estimate", f"{est['rate']:.4g} {est['units']}")
        if "rate_lo" in est and "rate_hi" in est:
            _param(info, "estimate_interval", f"{est['rate_lo']:.4g} {est['rate_hi']:.4g}")
    _param(info, "model_id", alert["model_id"])
    _param(info, "synthetic", "1" if synthetic else "0")
    area = _sub(info, "area")
    _sub(area, "areaDesc", where)
    for poly in alert["geometry"]:
        _sub(area, "polygon", _pairs(poly[0]))  # CAP polygons have no holes: exterior only
    _gc(area, "ISO3166-1-alpha-3", alert["country"])
    for a in alert["admin1"]:
        _gc(area, "gdlcode" if region else "riskmodel:admin1", a)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def region_description(alert: dict[str, Any], year: str, drivers: str, why: str) -> str:
    """The `description` of a region alert: what the score is, the estimate behind it."""
    est = alert.get("estimates") or {}
    text = (f"Relative risk score {alert['risk']:.2f} for {year} (80% interval "
            f"{alert['risk_lo']:.2f}-{alert['risk_hi']:.2f}): the region's modelled "
            f"{est.get('what', 'risk')} estimate is above that of about "
            f"{100 * alert['risk']:.0f}% of the regions scored that year. ")
    if "rate" in est:
        text += f"Modelled estimate: {est['rate']:.3g} {est['units']}"
        if "rate_lo" in est and "rate_hi" in est:
            text += f" (80% interval {est['rate_lo']:.3g}-{est['rate_hi']:.3g})"
        if "rate_standard_detection" in est:
            text += (f"; {est['rate_standard_detection']:.3g} at a reference detection "
                     f"level")
        text += ". "
    return text + (f"Top drivers: {drivers}. Why: {why}. A modelled estimate, not validated "
                   f"at region level.")


def _gc(area: ET.Element, name: str, value: str) -> None:
    g = _sub(area, "geocode")
    _sub(g, "valueName", name)
    _sub(g, "value", value)


def read_message(xml: str | bytes) -> dict[str, Any]:
    """A CAP 1.2 message as a dict: header fields, `references` as triples, and per `info`
    its fields, parameters, and areas with polygons as [(lat, lon), ...]."""
    root = ET.fromstring(xml)
    if root.tag != _Q + "alert":
        raise ValueError(f"not a CAP 1.2 alert (root {root.tag})")
    msg: dict[str, Any] = {t: root.findtext(_Q + t) for t in (
        "identifier", "sender", "sent", "status", "msgType", "source", "scope",
        "restriction", "note", "incidents")}
    msg["references"] = [tuple(r.split(",")) for r in
                         (root.findtext(_Q + "references") or "").split()]
    msg["info"] = []
    for info in root.findall(_Q + "info"):
        d: dict[str, Any] = {t: info.findtext(_Q + t) for t in (
            "language", "event", "urgency", "severity", "certainty", "effective", "onset",
            "expires", "senderName", "headline", "description", "instruction", "web",
            "contact")}
        d["category"] = [c.text for c in info.findall(_Q + "category")]
        d["parameters"] = {p.findtext(_Q + "valueName"): p.findtext(_Q + "value")
                           for p in info.findall(_Q + "parameter")}
        d["areas"] = [{
            "areaDesc": a.findtext(_Q + "areaDesc"),
            "polygons": [[tuple(float(v) for v in pair.split(","))
                          for pair in (p.text or "").split()] for p in a.findall(_Q + "polygon")],
            "geocodes": [(g.findtext(_Q + "valueName"), g.findtext(_Q + "value"))
                         for g in a.findall(_Q + "geocode")],
        } for a in info.findall(_Q + "area")]
        msg["info"].append(d)
    return msg


def check_cap(xml: str | bytes) -> list[str]:
    """Problems with CAP 1.2 rules the XSD cannot express (empty list: none)."""
    problems: list[str] = []
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML ({exc})"]
    for tag in ("sent", "effective", "onset", "expires"):
        for e in root.iter(_Q + tag):
            if not _DT.match(e.text or ""):
                problems.append(f"{tag} {e.text!r} lacks an explicit offset or seconds")
    ident = root.findtext(_Q + "identifier") or ""
    if not _ID_OK.match(ident):
        problems.append(f"identifier {ident!r} has a space, comma, < or &")
    refs = root.findtext(_Q + "references")
    if refs is not None:
        for t in refs.split():
            parts = t.split(",")
            if len(parts) != 3 or not _DT.match(parts[2]):
                problems.append(f"reference {t!r} is not sender,identifier,sent")
    for info in root.iter(_Q + "info"):
        times = {t: info.findtext(_Q + t) for t in ("effective", "onset", "expires")}
        try:
            at = {t: datetime.fromisoformat(v) for t, v in times.items() if v and _DT.match(v)}
        except ValueError:
            continue  # a date the pattern accepts but the calendar does not: no order
        if "expires" in at:
            for t in ("effective", "onset"):
                if t in at and at[t] >= at["expires"]:
                    problems.append(f"{t} {times[t]} is not before expires {times['expires']}"
                                    f" (the message would expire before it takes effect)")
    if root.findtext(_Q + "msgType") in ("Update", "Cancel") and not refs:
        problems.append("Update/Cancel without references")
    for e in root.iter(_Q + "polygon"):
        pts = (e.text or "").split()
        if len(pts) < 4:
            problems.append(f"polygon with {len(pts)} pairs (< 4)")
            continue
        if pts[0] != pts[-1]:
            problems.append("polygon not closed (first pair != last pair)")
        for p in pts:
            try:
                lat, lon = (float(v) for v in p.split(","))
            except ValueError:
                problems.append(f"polygon pair {p!r} is not lat,lon")
                break
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                problems.append(f"polygon pair {p!r} out of range")
                break
    return problems


@lru_cache(maxsize=1)
def _schema() -> Any:
    # xmlschema is a runtime dependency: no message leaves unchecked against the XSD.
    import xmlschema
    return xmlschema.XMLSchema(SCHEMA_PATH)


def validate_cap(xml: str | bytes) -> list[str]:
    """Every problem of a CAP message: not well-formed, CAP 1.2 schema, then the spec's rules
    (`check_cap`). An empty list means it may be stored and sent."""
    text = xml.decode("utf-8", "replace") if isinstance(xml, bytes) else xml
    try:
        ET.fromstring(xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML ({exc})"]
    problems = [f"schema: {e.reason} at {e.path}" for e in _schema().iter_errors(text)]
    return problems + check_cap(xml)


def build_test_message(partner_id: str, *, identifier: str, sent: str, cap: CapSpec) -> str:
    """A CAP 1.2 message with status `Test` that proves a channel to `partner_id`: it carries
    no alert and receivers are expected to discard it after checking it arrived."""
    if not SAFE_ID.match(identifier):
        raise ValueError(f"CAP identifier {identifier!r} is not from the safe character set")
    root = ET.Element(_Q + "alert")
    _sub(root, "identifier", identifier)
    _sub(root, "sender", cap.sender)
    _sub(root, "sent", sent)
    _sub(root, "status", "Test")
    _sub(root, "msgType", "Alert")
    _sub(root, "source", "riskmodel channel test")
    _sub(root, "scope", "Restricted")
    _sub(root, "restriction", "ILO national partners; channel test, discard")
    _sub(root, "note", f"Channel test for partner {partner_id}: no alert, discard.")
    info = _sub(root, "info")
    _sub(info, "language", cap.language)
    _sub(info, "category", "Other")
    _sub(info, "event", "Channel test")
    _sub(info, "urgency", "Unknown")
    _sub(info, "severity", "Unknown")
    _sub(info, "certainty", "Unknown")
    _sub(info, "senderName", cap.sender_name)
    _sub(info, "headline", "riskmodel channel test: discard")
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def withdrawal(previous: str, *, identifier: str, sent: str, partner_id: str) -> str:
    """A Cancel, for one partner only, of the alert `previous` (the last CAP message that
    partner received) told: the alert left the partner's areas. It keeps the area of
    `previous`, so nothing of the alert's new extent (another partner's) is disclosed, and
    references every message the partner had."""
    if not SAFE_ID.match(identifier):
        raise ValueError(f"CAP identifier {identifier!r} is not from the safe character set")
    root = ET.fromstring(previous)
    if root.tag != _Q + "alert":
        raise ValueError("previous message is not a CAP 1.2 alert")

    def set_text(parent: ET.Element, tag: str, text: str) -> None:
        e = parent.find(_Q + tag)
        if e is not None:
            e.text = text

    old = (root.findtext(_Q + "sender") or "", root.findtext(_Q + "identifier") or "",
           root.findtext(_Q + "sent") or "")
    refs = (root.findtext(_Q + "references") or "").split() + [",".join(old)]
    set_text(root, "identifier", identifier)
    set_text(root, "sent", sent)
    set_text(root, "msgType", "Cancel")
    ref_el = root.find(_Q + "references")
    if ref_el is None:  # CAP order: ... note, references, incidents, info
        ref_el = ET.Element(_Q + "references")
        children = list(root)
        at = next(i for i, c in enumerate(children)
                  if c.tag in (_Q + "incidents", _Q + "info"))
        root.insert(at, ref_el)
    ref_el.text = " ".join(refs)
    for info in root.findall(_Q + "info"):
        set_text(info, "responseType", "AllClear")
        set_text(info, "urgency", "Past")
        set_text(info, "severity", "Minor")
        set_text(info, "certainty", "Unlikely")
        expires = info.findtext(_Q + "expires")
        onset = info.findtext(_Q + "onset")
        # A withdrawal of a message about months already over takes effect at their onset,
        # as the message it cancels did (it must not expire before it takes effect).
        late = bool(expires and _DT.match(expires)
                    and datetime.fromisoformat(sent) >= datetime.fromisoformat(expires))
        set_text(info, "effective", onset if late and onset else sent)
        area = (info.find(f"{_Q}area/{_Q}areaDesc"))
        where = area.text if area is not None else "this area"
        set_text(info, "headline", f"Withdrawn for {partner_id}: alert for {where}"[:160])
        set_text(info, "description",
                 f"This alert no longer falls within the areas of partner {partner_id}; "
                 f"no further messages about it will be sent to {partner_id}.")
        for e in info.findall(_Q + "instruction"):
            info.remove(e)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
