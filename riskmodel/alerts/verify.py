"""Webhook signatures: how deliveries are signed, and the reference verifier for partners.

Each POST carries `X-Riskmodel-Timestamp` (Unix seconds) and `X-Riskmodel-Signature`
("v1=" + hex HMAC-SHA256 over `timestamp + "." + body` with the partner's secret). Signing
the timestamp with the body lets a receiver reject replays of old captured requests
(outside `tolerance_s`) as well as tampered bodies; comparison is constant-time. A
partner can call `verify_signature` from Python or `riskmodel alerts verify` from a shell.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from riskmodel.errors import RiskmodelError

TIMESTAMP_HEADER = "X-Riskmodel-Timestamp"
SIGNATURE_HEADER = "X-Riskmodel-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class SignatureError(RiskmodelError):
    """A delivery's signature or timestamp does not verify."""


def sign(secret: bytes, timestamp: int | str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(secret: bytes, timestamp: str, signature: str, body: bytes, *,
                     tolerance_s: int = 300, now: float | None = None) -> None:
    """Raise `SignatureError` unless `signature` is valid for `body` and `timestamp` is fresh."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        raise SignatureError(f"timestamp {timestamp!r} is not Unix seconds") from None
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance_s:
        raise SignatureError(f"timestamp {ts} is {now - ts:+.0f} s from now "
                             f"(tolerance {tolerance_s} s): stale or replayed")
    expected = sign(secret, ts, body)
    if not hmac.compare_digest(expected.encode(), (signature or "").strip().encode()):
        raise SignatureError("signature does not match the body and timestamp")
