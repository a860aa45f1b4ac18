"""Delivery of outbox messages: directory drops and signed webhook POSTs, with retries.

One deliverer at a time holds an exclusive lock beside the store (released by the OS if
the process dies). Each due message is sent and its outcome committed at once; a crash
between sending and committing means the message is sent again after a restart, which is
why every request carries its idempotency key (at-least-once delivery, exactly-once
processing at the receiver). Failures are retried with exponential backoff and jitter;
after `max_attempts` the message is dead-lettered for a person to look at. A message only
ever goes to a channel of the partner it was queued for: the channel is looked up inside
that partner's config, and a message whose partner or channel is no longer configured is
dead-lettered instead of sent elsewhere.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from riskmodel.alerts import outbox
from riskmodel.alerts.partners import Channel, Partner, PartnersConfig
from riskmodel.alerts.store import AlertStore
from riskmodel.alerts.verify import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from riskmodel.errors import ConfigError, LockHeldError
from riskmodel.io.atomic import write_bytes


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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a partner's message must not be forwarded to another address."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused",
                                     headers, fp)


_OPENER = urllib.request.build_opener(_NoRedirect)


def send_one(row: dict[str, Any], partner: Partner, ch: Channel, *, timeout: float,
             now: Callable[[], float] = time.time) -> None:
    """Deliver one outbox row through `ch`; raise on any failure."""
    body: bytes = row["body"]
    if ch.kind == "directory":
        assert ch.path is not None
        dest = Path(ch.path) / row["filename"]
        write_bytes(dest, body)
        return
    assert ch.url is not None
    ts = int(now())
    req = urllib.request.Request(ch.url, data=body, method="POST", headers={
        "Content-Type": row["content_type"],
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(partner.secret(), ts, body),
        IDEMPOTENCY_HEADER: row["idempotency_key"],
        "X-Riskmodel-Partner": partner.id,
        "X-Riskmodel-Filename": row["filename"],
    })
    with _OPENER.open(req, timeout=timeout) as resp:
        if not 200 <= resp.status < 300:  # pragma: no cover - urlopen raises for >= 400
            raise RuntimeError(f"HTTP {resp.status}")


def requeue_dead(store_path: Path | str, partner: str | None = None) -> int:
    """Put dead-lettered messages back in the queue (attempts reset); returns how many."""
    with AlertStore(store_path) as store, store.transaction():
        cur = store.db.execute(
            "UPDATE outbox SET state='pending', attempts=0, next_attempt_at=0 "
            "WHERE state='dead' AND (? IS NULL OR partner=?)", (partner, partner))
        return int(cur.rowcount)


def deliver(store_path: Path | str, partners: PartnersConfig, *, wait: bool = False,
            max_seconds: float = 60.0, partner: str | None = None,
            clock: Callable[[], float] = time.time,
            sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Send due messages; with `wait`, keep going until none is pending or time runs out.

    Returns counts: attempted, delivered, failed (will retry), dead, and what is left.
    """
    pol = partners.delivery
    rep = {"attempted": 0, "delivered": 0, "failed": 0, "dead": 0}
    start = clock()
    with AlertStore(store_path) as store, _Lock(Path(store_path)):
        while clock() - start <= max_seconds:
            rows = outbox.due(store, clock(), partner=partner)
            for row in rows:
                rep["attempted"] += 1
                found = _find(partners, row["partner"], row["channel"])
                if found is None:
                    outbox.mark_failed(store, row["id"], "partner or channel no longer "
                                       "configured", clock(), dead=True)
                    rep["dead"] += 1
                    continue
                try:
                    send_one(row, *found, timeout=pol.timeout_s, now=clock)
                except (OSError, urllib.error.URLError, RuntimeError, ConfigError) as exc:
                    n = row["attempts"] + 1
                    dead = n >= pol.max_attempts
                    err = f"{type(exc).__name__}: {exc}"
                    nxt = clock() + backoff(n, row["idempotency_key"], pol.base_delay_s,
                                            pol.max_delay_s)
                    outbox.mark_failed(store, row["id"], err, nxt, dead=dead)
                    rep["dead" if dead else "failed"] += 1
                else:
                    outbox.mark_delivered(store, row["id"])
                    rep["delivered"] += 1
            if rows:
                continue
            nxt = outbox.next_due_at(store, partner)
            left = max_seconds - (clock() - start)
            if not wait or nxt is None or left <= 0:
                break
            sleep(max(0.0, min(nxt - clock(), left, 1.0)))
        rep.update({f"outbox_{k}": v for k, v in outbox.counts(store).items()})
    return rep
