"""Webhook signatures (Standard Webhooks): how deliveries are signed, and the reference verifier.

Every POST carries three headers: `webhook-id` (the message id, stable across retries: the
receiver processes each id once), `webhook-timestamp` (Unix seconds) and
`webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` signatures over
`id + "." + timestamp + "." + body`, one per active secret, so a partner can rotate keys
without a gap. Signing the id and the timestamp with the body means a captured request can
neither be replayed under a new id (the receiver drops the known id) nor later (outside
`tolerance_s`). Secrets are `whsec_` + base64 key bytes or plain text, at least
`MIN_SECRET_BYTES` bytes of key; an empty or short secret is refused on both ends.

This module uses the standard library only, so a partner can copy it as it is; the CLI
`riskmodel alerts verify` calls `verify_webhook`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
FILENAME_HEADER = "riskmodel-filename"  # informational, not signed: check it with safe_filename
PARTNER_HEADER = "riskmodel-partner"  # informational, not signed

MIN_SECRET_BYTES = 24
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
# Relative file names: segments of safe characters, never "." or ".." and never absolute.
_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$")


class SignatureError(ValueError):
    """A delivery's id, timestamp or signature does not verify."""


def secret_key(secret: str | bytes) -> bytes:
    """Key bytes of one secret: `whsec_<base64>` is decoded, anything else is used as is.

    Raises `SignatureError` for an empty secret, bad base64 or fewer than
    `MIN_SECRET_BYTES` bytes of key (a short key makes the HMAC guessable).
    """
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    raw = raw.strip()
    if not raw:
        raise SignatureError("empty secret: refusing to sign or verify with it")
    if raw.startswith(b"whsec_"):
        try:
            key = base64.b64decode(raw[6:], validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("secret starts with whsec_ but the rest is not base64") from None
    else:
        key = raw
    if len(key) < MIN_SECRET_BYTES:
        raise SignatureError(f"secret has {len(key)} byte(s) of key; at least "
                             f"{MIN_SECRET_BYTES} are needed")
    return key


def secret_keys(secrets: str | bytes | Iterable[str | bytes]) -> list[bytes]:
    """Key bytes of every secret; a single str/bytes may hold several, space-separated."""
    if isinstance(secrets, (str, bytes)):
        text = secrets.decode() if isinstance(secrets, bytes) else secrets
        items: list[str | bytes] = list(text.split())
    else:
        items = list(secrets)
    if not items:
        raise SignatureError("empty secret: refusing to sign or verify with it")
    return [secret_key(s) for s in items]


def sign(secret: str | bytes, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """One `v1,<base64>` signature of `body` sent as `msg_id` at `timestamp`."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signature_header(secrets: str | bytes | Iterable[str | bytes], msg_id: str,
                     timestamp: int | str, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret, space-separated."""
    keys = secret_keys(secrets)
    content = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join("v1," + base64.b64encode(hmac.new(k, content, hashlib.sha256).digest())
                    .decode("ascii") for k in keys)


def safe_filename(name: str) -> str:
    """`name` if it is a relative path of safe segments (no `..`, no absolute path)."""
    parts = name.split("/")
    if not name or not all(_SEGMENT.match(p) for p in parts):
        raise SignatureError(f"file name {name[:80]!r} is not a safe relative path")
    return name


def _header(headers: Mapping[str, str], name: str) -> str:
    for k, v in headers.items():
        if k.lower() == name:
            return v
    raise SignatureError(f"missing header {name}")


def verify_webhook(secrets: str | bytes | Iterable[str | bytes], headers: Mapping[str, str],
                   body: bytes, *, tolerance_s: int = 300, now: float | None = None) -> str:
    """Check a received webhook; return its `webhook-id` (process each id once).

    `headers` maps header names (any case) to values; `secrets` are the partner's active
    secrets. Raises `SignatureError` if the id is missing or malformed, the timestamp is
    not Unix seconds or outside `tolerance_s` of `now`, no `v1` signature matches any
    secret, a secret is empty or short, or a `riskmodel-filename` header is unsafe.
    """
    keys = secret_keys(secrets)
    msg_id = _header(headers, ID_HEADER).strip()
    if not _ID.match(msg_id):
        raise SignatureError(f"webhook-id {msg_id[:80]!r} is not 1-128 of [A-Za-z0-9_.-]")
    raw_ts = _header(headers, TIMESTAMP_HEADER).strip()
    if not re.fullmatch(r"\d{1,12}", raw_ts):
        raise SignatureError(f"timestamp {raw_ts[:40]!r} is not Unix seconds")
    ts = int(raw_ts)
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance_s:
        age = now - ts
        when = (f"{age:.0f} s in the past" if age > 0 else f"{-age:.0f} s in the future")
        raise SignatureError(f"timestamp {ts} is {when} (tolerance {tolerance_s} s): "
                             f"{'stale or replayed' if age > 0 else 'clock skew or forged'}")
    content = f"{msg_id}.{ts}.".encode() + body
    expected = [hmac.new(k, content, hashlib.sha256).digest() for k in keys]
    ok = False
    for item in _header(headers, SIGNATURE_HEADER).split():
        version, _, b64 = item.partition(",")
        if version != "v1":
            continue
        try:
            got = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Compare with every key, without stopping early, so timing says nothing.
        for e in expected:
            ok |= hmac.compare_digest(e, got)
    if not ok:
        raise SignatureError("signature does not match the id, timestamp and body")
    for k, v in headers.items():
        if k.lower() == FILENAME_HEADER:
            safe_filename(v)
    return msg_id
