"""Delivery of outbox messages: directory drops and signed webhook POSTs, with retries.

One deliverer at a time holds an exclusive lock beside the store (released by the OS if
the process dies). Inside it, every (partner, channel) queue is drained by its own thread,
so a slow or broken endpoint only ever delays its own messages, and every request has one
deadline for the whole exchange (connect, send, complete reply), never a per-read timeout
a slow-drip server could stretch forever. `max_seconds` bounds the whole run: no request
starts after it and none outlives it.

Each message is sent and its outcome committed at once; a crash between sending and
committing means the message is sent again after a restart, which is why every request
carries its stable `webhook-id` (at-least-once delivery, exactly-once processing at the
receiver). Any failure of one message (refused connection, garbage reply, bad URL, an
error of ours) is recorded on that message and retried with exponential backoff and
jitter; after `max_attempts` it is dead-lettered for a person to look at. A message only
goes to a channel of the partner it was queued for, and only while that partner still
covers its alert: a message whose partner or channel is gone is dead-lettered, one whose
alert left the partner's scope is withdrawn.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import http.client
import io
import ipaddress
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from riskmodel.alerts import outbox
from riskmodel.alerts.partners import (Channel, Partner, PartnersConfig, check_webhook_url,
                                       host_address_problem)
from riskmodel.alerts.store import AlertStore
from riskmodel.alerts.verify import (FILENAME_HEADER, ID_HEADER, PARTNER_HEADER,
                                     SIGNATURE_HEADER, TIMESTAMP_HEADER, safe_filename,
                                     signature_header)
from riskmodel.errors import LockHeldError
from riskmodel.io.atomic import write_bytes

MAX_REPLY_BYTES = 64 * 1024  # a receiver's reply is read (and dropped) up to this size


class DeliveryError(Exception):
    """One attempt to deliver one message failed (the message will be retried)."""


class _Lock:
    """Exclusive, non-blocking flock on `<store>.deliver.lock`."""

    def __init__(self, store_path: Path) -> None:
        self.path = Path(str(store_path) + ".deliver.lock")
        self.fd = -1

    def __enter__(self) -> _Lock:
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise LockHeldError(f"{self.path}: another deliverer is running") from None
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def backoff(attempts: int, key: str, base: float, cap: float) -> float:
    """Delay before the next try after `attempts` failures: base*2^(n-1), capped, jittered.

    Jitter (50-100%) is derived from the key so retries of many messages spread out while
    a given message's schedule stays reproducible.
    """
    raw = min(cap, base * (2 ** max(attempts - 1, 0)))
    frac = int(hashlib.sha256(f"{key}:{attempts}".encode()).hexdigest()[:8], 16) / 2**32
    return raw * (0.5 + 0.5 * frac)


def _find(partners: PartnersConfig, pid: str, channel: str) -> tuple[Partner, Channel] | None:
    for p in partners.partner:
        if p.id == pid:
            for name, ch in p.named_channels():
                if name == channel:
                    return p, ch
    return None


# --- one HTTP request with one deadline ---------------------------------------------------

def _addresses(host: str, port: int, named_loopback: bool) -> list[str]:
    """The host's addresses allowed for a webhook (DNS answers are hostile input too)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc.strerror}") from None
    out, why = [], None
    for info in infos:
        ip = str(info[4][0])
        why = host_address_problem(ipaddress.ip_address(ip.split("%")[0]), named_loopback)
        if why is None and ip not in out:
            out.append(ip)
    if not out:
        raise DeliveryError(f"{host} resolves to no allowed address ({why})")
    return out


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP connection to an address checked beforehand (no second DNS lookup)."""

    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate is still verified for the host name."""

    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        ctx: ssl.SSLContext = self._context  # type: ignore[attr-defined]
        self.sock = ctx.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST `body` to `url`; return the 2xx status or raise `DeliveryError`.

    `timeout` bounds the whole request: a watchdog shuts the socket down when it passes,
    however the server dribbles its reply. Redirects are refused, not followed (a message
    must not travel to another address); the URL and every resolved address are checked.
    """
    try:
        scheme, host, port, loopback = check_webhook_url(url)
    except ValueError as exc:
        raise DeliveryError(str(exc)) from None
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    ip = _addresses(host, port, loopback)[0]
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeliveryError(f"no time left for {host}")
    cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = cls(host, port, ip, timeout=left)
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(left, stop)
    timer.daemon = True
    timer.start()
    try:
        conn.request("POST", target, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read(MAX_REPLY_BYTES)
        status = resp.status
        location = resp.getheader("Location")
    except Exception as exc:  # any failure of this one exchange is this message's failure
        if fired.is_set():
            raise DeliveryError(f"no complete reply within {timeout:.1f} s") from None
        raise DeliveryError(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    finally:
        timer.cancel()
        conn.close()
    if fired.is_set():
        raise DeliveryError(f"no complete reply within {timeout:.1f} s")
    if 300 <= status < 400:
        raise DeliveryError(f"HTTP {status}: redirect to {str(location)[:200]} refused")
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")
    return status


def webhook_headers(partner: Partner, msg_id: str, timestamp: int, body: bytes,
                    content_type: str, filename: str) -> dict[str, str]:
    """Standard Webhooks headers (id, timestamp, one signature per active secret) plus the
    informational, unsigned partner and file name."""
    return {
        "Content-Type": content_type,
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(partner.secrets(), msg_id, timestamp, body),
        PARTNER_HEADER: partner.id,
        FILENAME_HEADER: filename,
        "User-Agent": "riskmodel-alerts",
    }


def send_one(row: dict[str, Any], partner: Partner, ch: Channel, *, timeout: float,
             now: Callable[[], float] = time.time) -> None:
    """Deliver one outbox row through `ch`; raise on any failure."""
    body: bytes = row["body"]
    name = safe_filename(row["filename"])
    if ch.kind == "directory":
        assert ch.path is not None
        root = Path(ch.path).resolve()
        dest = (root / name).resolve()
        if root not in dest.parents:  # a symlink inside the drop must not lead out of it
            raise DeliveryError(f"{dest} is outside the drop folder {root}")
        write_bytes(dest, body)
        return
    assert ch.url is not None
    headers = webhook_headers(partner, row["idempotency_key"], int(now()), body,
                              row["content_type"], name)
    post(ch.url, body, headers, timeout=timeout)


# --- scope at delivery time ---------------------------------------------------------------

def _alert_ids(row: dict[str, Any]) -> list[str]:
    """The alerts an outbox row carries: its own, or every feature/row of a feed."""
    if row["alert_id"]:
        return [row["alert_id"]]
    text = bytes(row["body"]).decode("utf-8", "replace")
    if row["kind"] == "geojson":
        try:
            return [str(f.get("id")) for f in json.loads(text).get("features", [])]
        except (ValueError, AttributeError):
            return []
    if row["kind"] == "csv":
        return [r.get("alert_id", "") for r in csv.DictReader(io.StringIO(text))]
    return []


def out_of_scope(store: AlertStore, row: dict[str, Any], partner: Partner) -> str | None:
    """Why `row` must not go to `partner` any more (None: it may). The partner-only Cancel
    telling a partner an alert left its areas always may: it repeats what they had."""
    if row["alert_id"] and row["filename"] == (
            f"cap/{row['alert_id']}.withdrawn-{partner.id}-{row['as_of']}.xml"):
        return None
    for aid in _alert_ids(row):
        alert = store.get_alert(aid)
        if alert is not None and not partner.covers(alert):
            return f"alert {aid} is no longer in partner {partner.id}'s areas"
    return None


# --- the deliverer ------------------------------------------------------------------------

def requeue_dead(store_path: Path | str, partner: str | None = None) -> int:
    """Put dead-lettered messages back in the queue (attempts reset); returns how many.

    Scope is checked again when they are sent: a requeued message whose alert left the
    partner's areas is withdrawn, not delivered."""
    with AlertStore(store_path, create=False) as store, store.transaction():
        cur = store.db.execute(
            "UPDATE outbox SET state='pending', attempts=0, next_attempt_at=0 "
            "WHERE state='dead' AND (? IS NULL OR partner=?)", (partner, partner))
        return int(cur.rowcount)


class _Report:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.n = {"attempted": 0, "delivered": 0, "failed": 0, "dead": 0, "withdrawn": 0}

    def add(self, key: str) -> None:
        with self.lock:
            self.n[key] += 1


def _drain(store_path: Path, partners: PartnersConfig, pid: str, chan: str, rep: _Report,
           *, wait: bool, deadline: float, clock: Callable[[], float],
           sleep: Callable[[float], None]) -> None:
    """Deliver one (partner, channel) queue, oldest first, until empty or `deadline`."""
    pol = partners.delivery
    found = _find(partners, pid, chan)
    last_id = 0  # without `wait`, each message is tried at most once per run
    with AlertStore(store_path) as store:
        while time.monotonic() < deadline:
            rows = outbox.due(store, clock(), partner=pid, channel=chan,
                              after_id=0 if wait else last_id)
            last_id = max([last_id, *(r["id"] for r in rows)])
            for row in rows:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                rep.add("attempted")
                if found is None:
                    outbox.mark_failed(store, row["id"], "partner or channel no longer "
                                       "configured", clock(), dead=True)
                    rep.add("dead")
                    continue
                why = out_of_scope(store, row, found[0])
                if why:
                    outbox.withdraw(store, row["id"], why)
                    rep.add("withdrawn")
                    continue
                try:
                    send_one(row, *found, timeout=min(pol.timeout_s, left), now=clock)
                except Exception as exc:  # one message's failure never stops the queue
                    n = row["attempts"] + 1
                    dead = n >= pol.max_attempts
                    msg = str(exc).splitlines()[0] if str(exc) else ""
                    err = msg if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {msg}"
                    nxt = clock() + backoff(n, row["idempotency_key"], pol.base_delay_s,
                                            pol.max_delay_s)
                    outbox.mark_failed(store, row["id"], err, nxt, dead=dead)
                    rep.add("dead" if dead else "failed")
                else:
                    outbox.mark_delivered(store, row["id"])
                    rep.add("delivered")
            if rows:
                continue
            nxt = outbox.next_due_at(store, pid, chan)
            left = deadline - time.monotonic()
            if not wait or nxt is None or left <= 0:
                return
            sleep(max(0.01, min(nxt - clock(), left, 1.0)))


def deliver(store_path: Path | str, partners: PartnersConfig, *, wait: bool = False,
            max_seconds: float = 60.0, partner: str | None = None,
            clock: Callable[[], float] = time.time,
            sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Send due messages, one thread per (partner, channel) queue; with `wait`, keep going
    until none is pending or `max_seconds` pass (no request outlives them).

    Returns counts: attempted, delivered, failed (will retry), dead, withdrawn (out of the
    partner's scope), and the outbox's rows per state afterwards.
    """
    path = Path(store_path)
    deadline = time.monotonic() + max_seconds
    rep = _Report()
    with AlertStore(path, create=False) as store, _Lock(path):
        queues = outbox.queues(store, partner)
        threads = [threading.Thread(
            target=_drain, args=(path, partners, pid, chan, rep),
            kwargs={"wait": wait, "deadline": deadline, "clock": clock, "sleep": sleep},
            name=f"deliver-{pid}-{chan}", daemon=True) for pid, chan in queues]
        for t in threads:
            t.start()
        for t in threads:
            # Requests end by the deadline (their watchdogs); the margin covers bookkeeping.
            t.join(max(0.0, deadline - time.monotonic()) + 5.0)
        out: dict[str, Any] = dict(rep.n)
        out.update({f"outbox_{k}": v for k, v in outbox.counts(store).items()})
    return out
