"""The alert store: one SQLite file (WAL) holding runs, alerts, their history and messages.

SQLite is the embedded default: no server, one file beside the runs, safe for a nightly
writer with concurrent readers (WAL). Every run's changes happen in one `BEGIN IMMEDIATE`
transaction, so a crash leaves the store as it was and two writers queue rather than
interleave. The schema is versioned with `PRAGMA user_version`; `MIGRATIONS[i]` takes the
schema from version i to i+1 and runs once, inside a transaction, when the store opens.
Every state change of an alert is appended to `history` (never updated), and the exact
bytes of every CAP message are kept so a rerun of the same night re-renders identical files.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from riskmodel.io.sqlite import VersionedSqlite

ACTIVE_STATES = ("new", "ongoing", "escalated")
STATES = (*ACTIVE_STATES, "resolved")

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: runs, per-area observations (for persistence and rise), alerts, history, messages.
    """
    CREATE TABLE runs (
        as_of TEXT PRIMARY KEY, run_id TEXT NOT NULL, sent TEXT NOT NULL,
        synthetic INTEGER NOT NULL, meta TEXT NOT NULL, summary TEXT NOT NULL,
        records TEXT NOT NULL
    );
    CREATE TABLE observations (
        as_of TEXT NOT NULL, target TEXT NOT NULL, area_key TEXT NOT NULL,
        kind TEXT NOT NULL, risk REAL, triggered INTEGER NOT NULL, holding INTEGER NOT NULL,
        cells TEXT,
        PRIMARY KEY (as_of, target, area_key)
    );
    CREATE TABLE alerts (
        alert_id TEXT PRIMARY KEY, target TEXT NOT NULL, area_key TEXT NOT NULL,
        area_kind TEXT NOT NULL, country TEXT NOT NULL, country_name TEXT NOT NULL,
        admin1 TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
        opened_as_of TEXT NOT NULL, last_as_of TEXT NOT NULL, closed_as_of TEXT,
        risk REAL NOT NULL, risk_lo REAL NOT NULL, risk_hi REAL NOT NULL, risk_max REAL NOT NULL,
        risk_at_message REAL NOT NULL, priority REAL NOT NULL, priority_parts TEXT NOT NULL,
        exposed REAL NOT NULL, population REAL NOT NULL, child_population REAL NOT NULL,
        n_cells INTEGER NOT NULL, drivers TEXT NOT NULL, reasons TEXT NOT NULL,
        geometry TEXT NOT NULL, cells TEXT NOT NULL, model_id TEXT NOT NULL,
        horizon INTEGER NOT NULL, synthetic INTEGER NOT NULL, below_runs INTEGER NOT NULL,
        acknowledged_at TEXT, acknowledged_by TEXT
    );
    CREATE INDEX alerts_state ON alerts (state, target);
    CREATE INDEX alerts_area ON alerts (target, area_key);
    CREATE TABLE history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL REFERENCES alerts,
        as_of TEXT, run_id TEXT, from_state TEXT, to_state TEXT NOT NULL, at TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX history_alert ON history (alert_id, seq);
    CREATE TABLE messages (
        identifier TEXT PRIMARY KEY, alert_id TEXT NOT NULL REFERENCES alerts,
        seq INTEGER NOT NULL, msg_type TEXT NOT NULL, sent TEXT NOT NULL, as_of TEXT NOT NULL,
        run_id TEXT NOT NULL, xml TEXT NOT NULL, UNIQUE (alert_id, seq)
    );
    """,
    # 1 -> 2: the delivery outbox (one row per message, partner and channel).
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL UNIQUE,
        partner TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL,
        filename TEXT NOT NULL, content_type TEXT NOT NULL, body BLOB NOT NULL,
        as_of TEXT NOT NULL, alert_id TEXT, state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT, created_at TEXT NOT NULL, delivered_at TEXT
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
    """,
    # 2 -> 3: partner feedback on alerts (one outcome per alert and partner, latest wins).
    """
    CREATE TABLE feedback (
        alert_id TEXT NOT NULL REFERENCES alerts, partner TEXT NOT NULL,
        outcome TEXT NOT NULL, observed_on TEXT, note TEXT, recorded_at TEXT NOT NULL,
        source TEXT NOT NULL, PRIMARY KEY (alert_id, partner)
    );
    """,
    # 3 -> 4: per-domain contributions (climatic, economic, ...) explain each alert.
    """
    ALTER TABLE alerts ADD COLUMN domains TEXT NOT NULL DEFAULT '{}';
    """,
    # 4 -> 5: partner portal API tokens (only a SHA-256 of each token is kept) and the
    # portal's audit log of who did what, when, from where (append only).
    """
    CREATE TABLE IF NOT EXISTS portal_tokens (
        token_id TEXT PRIMARY KEY, partner TEXT NOT NULL, token_sha256 TEXT NOT NULL,
        label TEXT, created_at TEXT NOT NULL, revoked_at TEXT
    );
    CREATE INDEX IF NOT EXISTS portal_tokens_partner ON portal_tokens (partner);
    CREATE TABLE IF NOT EXISTS portal_audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, partner TEXT NOT NULL,
        token_id TEXT, action TEXT NOT NULL, alert_id TEXT, remote TEXT,
        detail TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS portal_audit_partner ON portal_audit (partner, seq);
    """,
    # 5 -> 6: region alerts keep the modelled estimate behind their score (rate, interval,
    # units, year) for their messages and feeds; grid alerts leave it empty.
    """
    ALTER TABLE alerts ADD COLUMN estimates TEXT NOT NULL DEFAULT '{}';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_JSON_COLUMNS = ("admin1", "priority_parts", "drivers", "reasons", "geometry", "cells",
                 "meta", "summary", "detail", "records", "domains", "estimates")


def _row(r: sqlite3.Row | None) -> dict[str, Any] | None:
    if r is None:
        return None
    d = dict(r)
    for k in _JSON_COLUMNS:
        if k in d and isinstance(d[k], str):
            d[k] = json.loads(d[k])
    return d


def dumps(obj: Any) -> str:
    """Canonical JSON for stored columns (stable bytes for identical content)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


class AlertStore(VersionedSqlite):
    """An open alert store; use as a context manager or call `close()`.

    Opening, pragmas, migrations and transactions are `riskmodel.io.sqlite`'s;
    `create=False` refuses a path where no store exists, `readonly=True` reads without
    write access (module docstring)."""

    what = "alert store"
    missing = "no alert store here (check the path; `riskmodel run` creates it)"
    migrations = MIGRATIONS

    def __init__(self, path: Path | str, *, timeout: float = 30.0, create: bool = True,
                 readonly: bool = False) -> None:
        super().__init__(path, timeout=timeout, create=create, readonly=readonly)
        self.db.row_factory = sqlite3.Row

    # --- runs and observations ----------------------------------------------------------
    def get_run(self, as_of: str) -> dict[str, Any] | None:
        """The run recorded for month `as_of`, if that night was already processed."""
        return _row(self.db.execute("SELECT * FROM runs WHERE as_of=?", (as_of,)).fetchone())

    def latest_as_of(self) -> str | None:
        """The newest processed month, or None for a new store."""
        r = self.db.execute("SELECT max(as_of) FROM runs").fetchone()
        return r[0]

    def add_run(self, as_of: str, run_id: str, sent: str, synthetic: bool,
                meta: dict[str, Any], summary: dict[str, Any],
                records: list[dict[str, Any]]) -> None:
        """Record that month `as_of` was processed (makes reruns of that night no-ops).

        `records` is the rendered alert list of that night, kept so a rerun writes the
        same files even after later nights changed the alerts.
        """
        self.db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?)",
                        (as_of, run_id, sent, int(synthetic), dumps(meta), dumps(summary),
                         dumps(records)))

    def count_runs_before(self, as_of: str) -> int:
        """How many months before `as_of` were processed."""
        return int(self.db.execute("SELECT count(*) FROM runs WHERE as_of < ?",
                                   (as_of,)).fetchone()[0])

    def runs(self) -> list[dict[str, Any]]:
        """All processed runs, oldest first."""
        rows = self.db.execute("SELECT * FROM runs ORDER BY as_of")
        return [_row(r) for r in rows]  # type: ignore[misc]

    def add_observations(self, rows: list[tuple[Any, ...]]) -> None:
        """(as_of, target, area_key, kind, risk, triggered, holding, cells_json) rows."""
        self.db.executemany("INSERT INTO observations VALUES (?,?,?,?,?,?,?,?)", rows)

    def previous_observations(self, target: str, before: str, n_months: int
                              ) -> dict[str, list[tuple[str, float | None, int]]]:
        """area_key -> [(as_of, risk, triggered)] over the last `n_months` runs before `before`."""
        months = [r[0] for r in self.db.execute(
            "SELECT as_of FROM runs WHERE as_of < ? ORDER BY as_of DESC LIMIT ?",
            (before, n_months))]
        out: dict[str, list[tuple[str, float | None, int]]] = {}
        if not months:
            return out
        q = ("SELECT area_key, as_of, risk, triggered FROM observations WHERE target=? AND "
             f"as_of IN ({','.join('?' * len(months))}) ORDER BY as_of")
        for key, as_of, risk, trig in self.db.execute(q, (target, *months)):
            out.setdefault(key, []).append((as_of, risk, trig))
        return out

    def previous_cells(self, target: str, before: str, n_months: int
                       ) -> list[tuple[str, str, list[int]]]:
        """(as_of, area_key, cells) of cluster observations in the last runs (for matching)."""
        months = [r[0] for r in self.db.execute(
            "SELECT as_of FROM runs WHERE as_of < ? ORDER BY as_of DESC LIMIT ?",
            (before, n_months))]
        if not months:
            return []
        q = ("SELECT as_of, area_key, cells FROM observations WHERE target=? AND "
             f"kind='cluster' AND as_of IN ({','.join('?' * len(months))}) ORDER BY as_of DESC")
        return [(a, k, json.loads(c or "[]")) for a, k, c in self.db.execute(q, (target, *months))]

    # --- alerts -------------------------------------------------------------------------
    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        """One alert row (JSON columns decoded)."""
        return _row(self.db.execute("SELECT * FROM alerts WHERE alert_id=?",
                                    (alert_id,)).fetchone())

    def find_alert(self, ref: str) -> dict[str, Any] | None:
        """The alert `ref` names: an alert id, or the identifier of any CAP message issued
        about it (`<alert_id>.<seq>`, or a partner's withdrawal Cancel). Partners see CAP
        identifiers first, so everything that takes an alert id takes those too."""
        ref = ref.strip()
        if not ref:
            return None
        alert = self.get_alert(ref)
        if alert is not None:
            return alert
        msg = self.get_message(ref)
        if msg is None:  # withdrawal Cancels are only in the outbox, under cap/<identifier>.xml
            row = self.db.execute("SELECT alert_id FROM outbox WHERE filename=? AND "
                                  "alert_id IS NOT NULL LIMIT 1",
                                  (f"cap/{ref}.xml",)).fetchone()
            return self.get_alert(row[0]) if row else None
        return self.get_alert(msg["alert_id"])

    def alerts(self, *, states: tuple[str, ...] | None = None, target: str | None = None,
               closed_as_of: str | None = None) -> list[dict[str, Any]]:
        """Alerts filtered by state and/or target, or those resolved in month `closed_as_of`."""
        q, args = "SELECT * FROM alerts WHERE 1=1", []
        if states:
            q += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        if target:
            q += " AND target=?"
            args.append(target)
        if closed_as_of:
            q += " AND closed_as_of=?"
            args.append(closed_as_of)
        q += " ORDER BY priority DESC, alert_id"
        return [_row(r) for r in self.db.execute(q, args)]  # type: ignore[misc]

    def insert_alert(self, row: dict[str, Any]) -> None:
        """Insert a new alert row (JSON columns encoded here)."""
        enc = {k: (dumps(v) if k in _JSON_COLUMNS else v) for k, v in row.items()}
        cols = ",".join(enc)
        self.db.execute(f"INSERT INTO alerts ({cols}) VALUES ({','.join('?' * len(enc))})",
                        list(enc.values()))

    def update_alert(self, alert_id: str, **fields: Any) -> None:
        """Update columns of one alert."""
        enc = {k: (dumps(v) if k in _JSON_COLUMNS else v) for k, v in fields.items()}
        sets = ",".join(f"{k}=?" for k in enc)
        self.db.execute(f"UPDATE alerts SET {sets} WHERE alert_id=?", [*enc.values(), alert_id])

    def add_history(self, alert_id: str, to_state: str, at: str, *, from_state: str | None,
                    as_of: str | None, run_id: str | None, detail: dict[str, Any]) -> None:
        """Append one state change (never updated or deleted)."""
        self.db.execute("INSERT INTO history (alert_id, as_of, run_id, from_state, to_state, at,"
                        " detail) VALUES (?,?,?,?,?,?,?)",
                        (alert_id, as_of, run_id, from_state, to_state, at, dumps(detail)))

    def history(self, alert_id: str) -> list[dict[str, Any]]:
        """The state changes of one alert, oldest first."""
        return [_row(r) for r in self.db.execute(  # type: ignore[misc]
            "SELECT * FROM history WHERE alert_id=? ORDER BY seq", (alert_id,))]

    # --- messages -----------------------------------------------------------------------
    def add_message(self, identifier: str, alert_id: str, seq: int, msg_type: str, sent: str,
                    as_of: str, run_id: str, xml: str) -> None:
        """Keep the exact CAP message issued for an alert."""
        self.db.execute("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?)",
                        (identifier, alert_id, seq, msg_type, sent, as_of, run_id, xml))

    def messages(self, alert_id: str) -> list[dict[str, Any]]:
        """All CAP messages of an alert, first first."""
        return [dict(r) for r in self.db.execute(
            "SELECT * FROM messages WHERE alert_id=? ORDER BY seq", (alert_id,))]

    def get_message(self, identifier: str) -> dict[str, Any] | None:
        """One CAP message by identifier."""
        r = self.db.execute("SELECT * FROM messages WHERE identifier=?", (identifier,)).fetchone()
        return dict(r) if r else None

    def messages_of_month(self, as_of: str) -> list[dict[str, Any]]:
        """The CAP messages issued by the run of month `as_of`."""
        return [dict(r) for r in self.db.execute(
            "SELECT * FROM messages WHERE as_of=? ORDER BY alert_id, seq", (as_of,))]
