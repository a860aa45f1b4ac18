"""Partner API tokens and the portal's audit log, both kept in the alert store.

A token is `rmp_<token id: 16 hex>_<secret: 64 hex>` (256 random bits of secret). Only its
SHA-256 is stored: a token with 256 bits of entropy needs no slow password hash, and a
leaked store gives no usable token. The token id is public (listings, the audit log) and
only selects the row; the hash is then compared in constant time, and a token that does
not exist costs the same comparison, so response times say nothing about which ids exist.
Every token belongs to exactly one partner; revoking sets `revoked_at` (the row stays for
the audit trail). The audit log (`portal_audit`) is append-only: token creation and
revocation, acknowledgements, outcomes and refused writes, with the partner, token id,
remote address and a JSON detail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from riskmodel.alerts.partners import PARTNER_ID
from riskmodel.alerts.store import AlertStore, dumps
from riskmodel.errors import InputError

TOKEN_RE = re.compile(r"^rmp_([0-9a-f]{16})_([0-9a-f]{64})$")
TOKEN_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_PARTNER_RE = re.compile(PARTNER_ID)
# Compared against when the token id is unknown, so both paths do the same work.
_DUMMY_HASH = hashlib.sha256(b"riskmodel-portal-no-such-token").hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """The authenticated side of a request: which token, which partner."""

    token_id: str
    partner: str


def _now(at: datetime | None) -> str:
    return (at or datetime.now(timezone.utc)).isoformat(timespec="seconds")


def token_hash(token: str) -> str:
    """Hex SHA-256 of the whole token text (what the store keeps)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def create_token(store: AlertStore, partner: str, *, label: str | None = None,
                 at: datetime | None = None) -> tuple[str, str]:
    """Create a token for `partner`; returns (token_id, token). The token is not stored and
    cannot be shown again."""
    if not _PARTNER_RE.match(partner):
        raise InputError(f"partner {partner!r} is not a partner id")
    token_id = secrets.token_hex(8)
    token = f"rmp_{token_id}_{secrets.token_hex(32)}"
    when = _now(at)
    with store.transaction():
        store.db.execute("INSERT INTO portal_tokens VALUES (?,?,?,?,?,NULL)",
                         (token_id, partner, token_hash(token), label, when))
        _audit(store, partner, "token_created", token_id=token_id, remote="cli", at=when,
               detail={"label": label})
    return token_id, token


def revoke_token(store: AlertStore, token_id: str, *, at: datetime | None = None) -> bool:
    """Revoke one token; False if it was already revoked. InputError if unknown."""
    if not TOKEN_ID_RE.match(token_id):
        raise InputError(f"token id {token_id!r} is not 16 hex digits "
                         f"(see `riskmodel partners token list`)")
    when = _now(at)
    with store.transaction():
        row = store.db.execute("SELECT partner, revoked_at FROM portal_tokens WHERE token_id=?",
                               (token_id,)).fetchone()
        if row is None:
            raise InputError(f"unknown token id {token_id!r}")
        if row["revoked_at"]:
            return False
        store.db.execute("UPDATE portal_tokens SET revoked_at=? WHERE token_id=?",
                         (when, token_id))
        _audit(store, row["partner"], "token_revoked", token_id=token_id, remote="cli",
               at=when, detail={})
    return True


def revoke_partner(store: AlertStore, partner: str, *, at: datetime | None = None) -> list[str]:
    """Revoke every live token of `partner`; returns the token ids revoked."""
    ids = [r["token_id"] for r in store.db.execute(
        "SELECT token_id FROM portal_tokens WHERE partner=? AND revoked_at IS NULL "
        "ORDER BY created_at, token_id", (partner,))]
    return [t for t in ids if revoke_token(store, t, at=at)]


def list_tokens(store: AlertStore, partner: str | None = None) -> list[dict[str, Any]]:
    """Token rows without their hashes, oldest first."""
    q = "SELECT token_id, partner, label, created_at, revoked_at FROM portal_tokens"
    args: tuple[str, ...] = ()
    if partner:
        q, args = q + " WHERE partner=?", (partner,)
    return [dict(r) for r in store.db.execute(q + " ORDER BY created_at, token_id", args)]


def authenticate(store: AlertStore, token: str) -> TokenInfo | None:
    """The live token matching `token`, or None (malformed, unknown, wrong or revoked)."""
    m = TOKEN_RE.match(token)
    if m is None:
        return None
    row = store.db.execute("SELECT partner, token_sha256, revoked_at FROM portal_tokens "
                           "WHERE token_id=?", (m.group(1),)).fetchone()
    expected = row["token_sha256"] if row is not None else _DUMMY_HASH
    ok = hmac.compare_digest(token_hash(token), expected)
    if row is None or not ok or row["revoked_at"]:
        return None
    return TokenInfo(token_id=m.group(1), partner=row["partner"])


def _audit(store: AlertStore, partner: str, action: str, *, token_id: str | None,
           remote: str | None, at: str, detail: dict[str, Any],
           alert_id: str | None = None) -> None:
    store.db.execute("INSERT INTO portal_audit (at, partner, token_id, action, alert_id, "
                     "remote, detail) VALUES (?,?,?,?,?,?,?)",
                     (at, partner, token_id, action, alert_id, remote, dumps(detail)))


def add_audit(store: AlertStore, partner: str, action: str, *, token_id: str | None,
              remote: str | None, alert_id: str | None = None,
              detail: dict[str, Any] | None = None, at: datetime | None = None) -> None:
    """Append one audit row inside the caller's transaction (so it commits, or not, with
    the write it records)."""
    _audit(store, partner, action, token_id=token_id, remote=remote, at=_now(at),
           detail=detail or {}, alert_id=alert_id)


def audit(store: AlertStore, partner: str, action: str, *, token_id: str | None,
          remote: str | None, alert_id: str | None = None,
          detail: dict[str, Any] | None = None, at: datetime | None = None) -> None:
    """Append one audit row in its own transaction."""
    with store.transaction():
        add_audit(store, partner, action, token_id=token_id, remote=remote, at=at,
                  detail=detail, alert_id=alert_id)


def audit_rows(store: AlertStore, partner: str | None = None, limit: int = 1000
               ) -> list[dict[str, Any]]:
    """The newest `limit` audit rows (of `partner` when given), oldest first."""
    q = "SELECT * FROM portal_audit"
    args: list[Any] = []
    if partner:
        q += " WHERE partner=?"
        args.append(partner)
    rows = store.db.execute(q + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
    out = []
    for r in reversed(rows):
        d = dict(r)
        d["detail"] = json.loads(d["detail"])
        out.append(d)
    return out
