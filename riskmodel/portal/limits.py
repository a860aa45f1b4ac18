"""Request limits of the portal: a per-key token bucket and the request-size limits.

Each authenticated token gets a bucket of `burst` requests that refills at `rate` requests
per second; requests without a valid token share a bucket per remote address, so guessing
tokens is throttled too. A refused request gets 429 with `Retry-After` (whole seconds).
Buckets live in memory in the serving process (one uvicorn worker), which is what makes
the limit exact; they are dropped after an idle period so the table cannot grow without
bound.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Portal limits: requests per second and burst per key, body and field sizes."""

    rate: float = 10.0  # requests per second per token, sustained
    burst: int = 60  # requests a token may make at once
    max_body: int = 16 * 1024  # bytes of a POST body
    max_note: int = 2000  # characters of a free-text note
    feed_entries: int = 500  # newest CAP messages in the Atom feed


class RateLimiter:
    """Token buckets by key (thread-safe)."""

    def __init__(self, rate: float, burst: int, *, idle_s: float = 600.0,
                 clock: Callable[[], float] | None = None) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.idle_s = rate, float(burst), idle_s
        self._clock = clock or time.monotonic
        self._b: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()
        self._last_sweep = self._clock()

    def take(self, key: str) -> float:
        """0 if a request for `key` may proceed now, else the seconds until it may."""
        now = self._clock()
        with self._lock:
            tokens, last = self._b.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._b[key] = (tokens - 1, now)
                wait = 0.0
            else:
                self._b[key] = (tokens, now)
                wait = (1 - tokens) / self.rate
            if now - self._last_sweep > self.idle_s:
                self._b = {k: v for k, v in self._b.items() if now - v[1] < self.idle_s}
                self._last_sweep = now
        return wait


def retry_after(wait: float) -> str:
    """`Retry-After` header value (at least one second)."""
    return str(max(1, math.ceil(wait)))
