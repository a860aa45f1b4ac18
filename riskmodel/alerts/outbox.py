"""The outbox: messages to partners written in the same transaction as the alerts they carry.

Writing the message rows together with the state change means a crash can never leave an
alert without its message or a message without its alert, and delivery (a separate
command) can retry at leisure. Each row has an idempotency key derived from partner,
channel and file name, so enqueueing twice is a no-op and a receiver can drop repeats:
delivery is at least once, the key makes processing exactly once.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timezone
from typing import Any

from riskmodel.alerts.store import AlertStore

CONTENT_TYPES = {"cap": "application/cap+xml", "geojson": "application/geo+json",
                 "csv": "text/csv; charset=utf-8"}


def idempotency_key(partner: str, channel: str, filename: str) -> str:
    """Stable key of one delivery: the same message to the same place is the same key."""
    return hashlib.sha256(f"{partner}\n{channel}\n{filename}".encode()).hexdigest()[:40]


def enqueue(store: AlertStore, *, partner: str, channel: str, kind: str, filename: str,
            body: bytes, as_of: str, alert_id: str | None, created_at: str) -> bool:
    """Add one pending message (inside the caller's transaction); False if already queued."""
    key = idempotency_key(partner, channel, filename)
    cur = store.db.execute(
        "INSERT OR IGNORE INTO outbox (idempotency_key, partner, channel, kind, filename, "
        "content_type, body, as_of, alert_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (key, partner, channel, kind, filename, CONTENT_TYPES[kind], body, as_of, alert_id,
         created_at))
    return cur.rowcount == 1


def due(store: AlertStore, now: float, limit: int = 100, partner: str | None = None,
        channel: str | None = None, after_id: int = 0) -> list[dict[str, Any]]:
    """Pending messages whose next attempt time has come, oldest first (ids > `after_id`)."""
    return [dict(r) for r in store.db.execute(
        "SELECT * FROM outbox WHERE state='pending' AND next_attempt_at <= ? "
        "AND (? IS NULL OR partner=?) AND (? IS NULL OR channel=?) AND id > ? "
        "ORDER BY id LIMIT ?", (now, partner, partner, channel, channel, after_id, limit))]


def next_due_at(store: AlertStore, partner: str | None = None, channel: str | None = None
                ) -> float | None:
    """When the earliest pending message becomes due (None: nothing pending)."""
    r = store.db.execute("SELECT min(next_attempt_at) FROM outbox WHERE state='pending' "
                         "AND (? IS NULL OR partner=?) AND (? IS NULL OR channel=?)",
                         (partner, partner, channel, channel))
    return r.fetchone()[0]


def queues(store: AlertStore, partner: str | None = None) -> list[tuple[str, str]]:
    """(partner, channel) pairs with pending messages: each is delivered on its own."""
    return [(p, c) for p, c in store.db.execute(
        "SELECT DISTINCT partner, channel FROM outbox WHERE state='pending' "
        "AND (? IS NULL OR partner=?) ORDER BY partner, channel", (partner, partner))]


def withdraw(store: AlertStore, row_id: int, reason: str) -> None:
    """Take a pending message out of the queue for good: it must not be sent any more
    (its alert left the partner's scope). Not a failure, so not a dead letter."""
    _write(store, "UPDATE outbox SET state='withdrawn', last_error=? WHERE id=? "
                  "AND state='pending'", (reason[:500], row_id))


def mark_delivered(store: AlertStore, row_id: int, when: datetime | None = None) -> None:
    """Record a successful delivery (committed at once: the receiver has it)."""
    when = when or datetime.now(timezone.utc)
    _write(store, "UPDATE outbox SET state='delivered', attempts=attempts+1, delivered_at=?, "
                  "last_error=NULL WHERE id=?", (when.isoformat(timespec="seconds"), row_id))


def mark_failed(store: AlertStore, row_id: int, error: str, next_at: float, dead: bool) -> None:
    """Record a failed attempt: retry at `next_at`, or dead-letter it."""
    _write(store, "UPDATE outbox SET state=?, attempts=attempts+1, next_attempt_at=?, "
                  "last_error=? WHERE id=?",
           ("dead" if dead else "pending", next_at, error[:500], row_id))


def _write(store: AlertStore, sql: str, args: tuple[Any, ...]) -> None:
    with store.transaction():
        store.db.execute(sql, args)


def counts(store: AlertStore) -> dict[str, int]:
    """Outbox rows per state."""
    out = {"pending": 0, "delivered": 0, "dead": 0, "withdrawn": 0}
    for state, n in store.db.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
        out[state] = n
    return out


def rows(store: AlertStore, state: str | None = None) -> list[dict[str, Any]]:
    """Outbox rows (without bodies), optionally of one state."""
    q = ("SELECT id, idempotency_key, partner, channel, kind, filename, as_of, alert_id, state, "
         "attempts, next_attempt_at, last_error, created_at, delivered_at FROM outbox")
    args: tuple[Any, ...] = ()
    if state:
        q += " WHERE state=?"
        args = (state,)
    try:
        return [dict(r) for r in store.db.execute(q + " ORDER BY id", args)]
    except sqlite3.OperationalError:  # pragma: no cover - store without outbox migration
        return []
