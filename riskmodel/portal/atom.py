"""A CAP index feed: an Atom 1.0 feed (RFC 4287) whose entries link to CAP 1.2 messages.

This is the shape public alert hubs and national alerting authorities publish: one entry
per CAP message, newest first, `link rel="alternate" type="application/cap+xml"` to the
message, and the message's key fields repeated in the CAP namespace (`cap:event`,
`cap:severity`, ...) so an aggregator can sort and filter without fetching every message.
Header fields are read from the stored CAP text once per identifier and cached (a CAP
message is immutable once issued).
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from riskmodel.alerts.cap import CAP_NS, read_message

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
# Tags are written as literal qualified names with the xmlns attributes on the root, not via
# ET.register_namespace: that registry is global, and cap.py relies on CAP being the default
# namespace for the byte-stable messages it renders.
_A = ""
_C = "cap:"
_CAP_FIELDS = ("event", "urgency", "severity", "certainty", "effective", "expires")


class CapSummaries:
    """identifier -> the CAP fields an Atom entry repeats (bounded LRU, thread-safe)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._d: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, identifier: str, xml: Any) -> dict[str, Any]:
        """The summary of message `identifier`; `xml()` returns its text on a miss."""
        with self._lock:
            hit = self._d.get(identifier)
            if hit is not None:
                self._d.move_to_end(identifier)
                return hit
        msg = read_message(xml())
        info = msg["info"][0] if msg["info"] else {}
        summary = {"identifier": msg["identifier"], "sent": msg["sent"],
                   "status": msg["status"], "msgType": msg["msgType"],
                   "scope": msg["scope"], "sender": msg["sender"],
                   "senderName": info.get("senderName") or msg["sender"],
                   "headline": info.get("headline") or msg["identifier"],
                   "description": info.get("description") or "",
                   "areaDesc": "; ".join(a["areaDesc"] or "" for a in info.get("areas", [])),
                   **{k: info.get(k) for k in _CAP_FIELDS}}
        with self._lock:
            self._d[identifier] = summary
            while len(self._d) > self.size:
                self._d.popitem(last=False)
        return summary


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    e = ET.SubElement(parent, tag, attrs)
    if text is not None:
        e.text = text
    return e


def render_feed(*, feed_url: str, title: str, entries: list[tuple[str, dict[str, Any]]],
                author: str) -> bytes:
    """Atom XML for `entries` [(CAP message URL, summary)], newest first."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xmlns:cap": CAP_NS})
    _sub(feed, _A + "id", feed_url)
    _sub(feed, _A + "title", title)
    updated = max((s["sent"] for _, s in entries), default=None)
    _sub(feed, _A + "updated",
         updated or datetime.now(timezone.utc).isoformat(timespec="seconds"))
    _sub(_sub(feed, _A + "author"), _A + "name", author)
    _sub(feed, _A + "link", rel="self", type="application/atom+xml", href=feed_url)
    _sub(feed, _A + "generator", "riskmodel partner portal")
    for url, s in entries:
        e = _sub(feed, _A + "entry")
        _sub(e, _A + "id", url)
        _sub(e, _A + "title", s["headline"])
        _sub(e, _A + "updated", s["sent"])
        _sub(e, _A + "published", s["sent"])
        _sub(_sub(e, _A + "author"), _A + "name", s["senderName"])
        _sub(e, _A + "summary", s["description"])
        _sub(e, _A + "link", rel="alternate", type="application/cap+xml", href=url)
        _sub(e, _A + "category", term=s["msgType"] or "")
        for k in ("identifier", "sender", "sent", "status", "msgType", "scope"):
            _sub(e, _C + k, s[k])
        for k in _CAP_FIELDS:
            if s.get(k):
                _sub(e, _C + k, s[k])
        _sub(e, _C + "areaDesc", s["areaDesc"])
    ET.indent(feed, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(feed, encoding="utf-8",
                                                                      xml_declaration=False) + b"\n"
