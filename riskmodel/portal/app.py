"""The partner portal: a Starlette application over the alert store, scoped per token.

Every `/api/` request carries `Authorization: Bearer <token>`; the token decides the
partner, and every read goes through `PartnerView` (only that partner's alerts, messages
and feedback). Writes call the same functions as the CLI (`acknowledge` of
`riskmodel.alerts.ack`, `record_feedback` of `riskmodel.alerts.feedback`), so the portal
and `riskmodel alerts ack|feedback` produce the same store rows, and each write is then
appended to the audit log with the token id and remote address, in the same transaction.
The page at `/` and its static files hold no data; the page asks for a token and calls
the API. Database work runs in worker threads, one SQLite connection per thread: reads in
parallel (WAL readers never wait for the nightly writer), writes one at a time.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskmodel.alerts.ack import acknowledge
from riskmodel.alerts.feedback import OUTCOMES, record_feedback
from riskmodel.alerts.partners import Partner, PartnersConfig
from riskmodel.alerts.store import ACTIVE_STATES, STATES, AlertStore
from riskmodel.errors import InputError, LockHeldError
from riskmodel.kpis.partner import partner_kpis
from riskmodel.portal import atom
from riskmodel.portal.limits import Limits, RateLimiter, retry_after
from riskmodel.portal.scope import PartnerView
from riskmodel.portal.tokens import TokenInfo, add_audit, audit, authenticate

STATIC = Path(__file__).resolve().parent / "static"
# Free text may hold line breaks and tabs, never other control characters (they break CSV
# rows and terminals of whoever reads the store).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
]


class PortalStore(AlertStore):
    """An AlertStore whose `transaction()` joins an enclosing `write()` block.

    `acknowledge` and `record_feedback` each open their own transaction; inside `write()`
    they become part of one transaction with the audit row that records them, so the
    store never holds a partner's write without its audit row (or the reverse), and a
    write costs one commit (one fsync) instead of two.
    """

    _joined = False

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction that nested `transaction()` calls join."""
        with super().transaction() as db:
            self._joined = True
            try:
                yield db
            finally:
                self._joined = False

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self._joined:  # commits or rolls back with the enclosing write()
            yield self.db
            return
        with super().transaction() as db:
            yield db


class ApiError(Exception):
    """An API refusal: status code and a one-line reason for the JSON body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class Ctx:
    """One authenticated API request."""

    request: Request
    store: PortalStore
    view: PartnerView
    token: TokenInfo
    remote: str
    body: bytes

    @property
    def partner(self) -> Partner:
        return self.view.partner

    def json(self) -> dict[str, Any]:
        """The request body as a JSON object (ApiError 400 otherwise)."""
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "request body must be a JSON object")
        return data


def _err(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _text(data: dict[str, Any], key: str, limit: int) -> str | None:
    v = data.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise ApiError(422, f"`{key}` must be a string")
    if len(v) > limit:
        raise ApiError(422, f"`{key}` is longer than {limit} characters")
    if _CONTROL.search(v):
        raise ApiError(422, f"`{key}` contains control characters")
    return v


class Portal:
    """Shared state of one running portal: store path, partners, limits, caches."""

    def __init__(self, store_path: Path | str, partners: PartnersConfig,
                 limits: Limits | None = None) -> None:
        self.store_path = Path(store_path)
        if not self.store_path.exists():
            raise InputError(f"{self.store_path}: no alert store (run `riskmodel run` first)")
        AlertStore(self.store_path).close()  # apply migrations once, before serving
        self.partners_cfg = partners
        self.partners = {p.id: p for p in partners.partner}
        self.limits = limits or Limits()
        self.limiter = RateLimiter(self.limits.rate, self.limits.burst)
        self.caps = atom.CapSummaries()
        self._local = threading.local()
        # Writes run one at a time, queued here in arrival order: SQLite would serialise
        # them anyway, but its busy handler polls with growing sleeps (tens of ms), which
        # under concurrent writers turns into seconds of latency. Queued writes also do not
        # hold the thread pool the reads need.
        self._writes = anyio.CapacityLimiter(1)
        # Outcome rows pass through a one-row CSV file (see `outcome`); writes are serial,
        # so one file per token in one private folder is enough.
        self._tmp = Path(tempfile.mkdtemp(prefix="riskmodel-portal-"))
        weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)

    def store(self) -> PortalStore:
        """This thread's connection to the store."""
        s = getattr(self._local, "store", None)
        if s is None:
            s = self._local.store = PortalStore(self.store_path)
        return s

    # --- request plumbing ----------------------------------------------------------------
    async def _read_body(self, request: Request) -> bytes:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(415, "send the body as application/json")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit()
                                     or int(declared) > self.limits.max_body):
            raise ApiError(413, f"request body larger than {self.limits.max_body} bytes")
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.limits.max_body:
                    raise ApiError(413, f"request body larger than {self.limits.max_body} bytes")
                chunks.append(chunk)
        except ClientDisconnect:
            raise ApiError(400, "client disconnected") from None
        return b"".join(chunks)

    def api(self, fn: Callable[[Ctx], Response], *, write: bool = False
            ) -> Callable[[Request], Any]:
        """Wrap `fn` as an endpoint: body limits, token, rate limit, partner scope."""
        async def endpoint(request: Request) -> Response:
            remote = request.client.host if request.client else "unknown"
            try:
                if not write:  # reads: any worker thread of the default pool
                    return await anyio.to_thread.run_sync(self._serve, request, fn, b"",
                                                          remote)
                body = await self._read_body(request)
                return await anyio.to_thread.run_sync(self._serve, request, fn, body, remote,
                                                      limiter=self._writes)
            except ApiError as e:
                return _err(e.status, e.message, e.headers)
        return endpoint

    def _serve(self, request: Request, fn: Callable[[Ctx], Response], body: bytes,
               remote: str) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        store = self.store()
        info = authenticate(store, token.strip()) if scheme.lower() == "bearer" else None
        if info is None:
            wait = self.limiter.take("remote:" + remote)
            if wait:
                raise ApiError(429, "too many requests", {"Retry-After": retry_after(wait)})
            raise ApiError(401, "missing or invalid token (Authorization: Bearer <token>)",
                           {"WWW-Authenticate": 'Bearer realm="riskmodel"'})
        wait = self.limiter.take("token:" + info.token_id)
        if wait:
            raise ApiError(429, "too many requests", {"Retry-After": retry_after(wait)})
        partner = self.partners.get(info.partner)
        if partner is None:
            raise ApiError(403, f"partner {info.partner!r} of this token is not in the "
                                f"partners file")
        try:
            return fn(Ctx(request, store, PartnerView(store, partner), info, remote, body))
        except LockHeldError:
            raise ApiError(503, "the alert store is busy; retry", {"Retry-After": "5"}) from None

    # --- endpoints ---------------------------------------------------------------------------
    def me(self, c: Ctx) -> Response:
        p = c.partner
        return JSONResponse({"partner": p.id, "name": p.name, "countries": list(p.countries),
                             "admin1": list(p.admin1), "targets": list(p.targets),
                             "token_id": c.token.token_id})

    def alerts(self, c: Ctx) -> Response:
        state = c.request.query_params.get("state", "open")
        states = {"open": ACTIVE_STATES, "all": None}.get(
            state, (state,) if state in STATES else ())
        if states == ():
            raise ApiError(422, f"state must be open, all or one of {', '.join(STATES)}")
        return JSONResponse(c.view.alerts(states))

    def alert(self, c: Ctx) -> Response:
        info = c.view.detail(c.request.path_params["alert_id"])
        if info is None:
            raise ApiError(404, "no such alert")
        return JSONResponse(info)

    def geojson(self, c: Ctx) -> Response:
        return JSONResponse(c.view.feature_collection(), media_type="application/geo+json")

    def feed(self, c: Ctx) -> Response:
        rows = c.view.feed_messages(self.limits.feed_entries)
        entries = []
        for r in rows:
            ident = r["identifier"]
            summary = self.caps.get(ident, lambda i=ident: c.view.cap_xml(i))
            entries.append((str(c.request.url_for("cap", identifier=ident)), summary))
        body = atom.render_feed(feed_url=str(c.request.url_for("feed")),
                                title=f"riskmodel alerts for {c.partner.name}",
                                entries=entries, author="riskmodel")
        return Response(body, media_type=atom.CONTENT_TYPE)

    def cap(self, c: Ctx) -> Response:
        xml = c.view.cap_xml(c.request.path_params["identifier"])
        if xml is None:
            raise ApiError(404, "no such CAP message")
        return Response(xml.encode(), media_type="application/cap+xml; charset=utf-8")

    def _owned(self, c: Ctx, action: str) -> str:
        aid = c.request.path_params["alert_id"]
        if not c.view.owns(aid):
            # A write to an alert that is not the partner's: refused like an unknown id,
            # and logged (a partner probing other partners' ids is worth knowing about).
            audit(c.store, c.partner.id, "denied", token_id=c.token.token_id,
                  remote=c.remote, detail={"action": action, "alert_id": aid[:160]})
            raise ApiError(404, "no such alert")
        return aid

    def ack(self, c: Ctx) -> Response:
        data = c.json()
        note = _text(data, "note", self.limits.max_note)
        aid = self._owned(c, "acknowledge")
        with c.store.write():
            done = acknowledge(c.store, aid, c.partner.id, partners=self.partners_cfg,
                               note=note)
            add_audit(c.store, c.partner.id, "acknowledge", token_id=c.token.token_id,
                      remote=c.remote, alert_id=aid,
                      detail={"note": note, "result": "acknowledged" if done else "already"})
        return JSONResponse({"alert_id": aid, "acknowledged": True, "changed": done})

    def outcome(self, c: Ctx) -> Response:
        data = c.json()
        outcome = _text(data, "outcome", 32)
        if outcome not in OUTCOMES:
            raise ApiError(422, f"`outcome` must be one of {', '.join(OUTCOMES)}")
        observed = _text(data, "observed_on", 10)
        if observed is not None:
            try:
                date.fromisoformat(observed)
            except ValueError:
                raise ApiError(422, "`observed_on` must be YYYY-MM-DD") from None
        note = _text(data, "note", self.limits.max_note)
        aid = self._owned(c, "outcome")
        # The CLI's own path: one CSV row through record_feedback, so validation, partner
        # scoping and the stored row are exactly those of `riskmodel alerts feedback`. The
        # file name becomes the row's `source`: "portal-<token id>.csv:<line>".
        path = self._tmp / f"portal-{c.token.token_id}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["alert_id", "partner", "outcome", "observed_on", "note"])
            w.writerow([aid, c.partner.id, outcome, observed or "", note or ""])
        try:
            with c.store.write():
                res = record_feedback(c.store, path, partners=self.partners_cfg,
                                      default_partner=c.partner.id)
                if res.errors or res.recorded != 1:
                    raise ApiError(422, "; ".join(m for _, m in res.errors) or "not recorded")
                add_audit(c.store, c.partner.id, "outcome", token_id=c.token.token_id,
                          remote=c.remote, alert_id=aid,
                          detail={"outcome": outcome, "observed_on": observed, "note": note})
        finally:
            path.unlink(missing_ok=True)
        return JSONResponse({"alert_id": aid, "outcome": outcome, "observed_on": observed,
                             "recorded": True})

    def kpis(self, c: Ctx) -> Response:
        # This partner's KPIs and results only (riskmodel.kpis.partner; docs/kpis.md).
        q = c.request.query_params
        try:
            data = partner_kpis(c.store.db, self.partners.values(), c.partner.id,
                                self.store_path, start=q.get("from"), end=q.get("to"),
                                period=q.get("period", "month"))
        except InputError as exc:
            raise ApiError(422, str(exc)) from None
        return JSONResponse(data)


async def _index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


async def _health(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _err(exc.status_code, exc.detail, getattr(exc, "headers", None))


class SecurityHeaders:
    """ASGI middleware: fixed security headers on every response, no caching of /api/."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if api:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(store_path: Path | str, partners: PartnersConfig,
               limits: Limits | None = None) -> Starlette:
    """The portal application for the store at `store_path` and these partners."""
    p = Portal(store_path, partners, limits)
    routes = [
        Route("/", _index),
        Route("/healthz", _health),
        Route("/api/v1/me", p.api(p.me)),
        Route("/api/v1/alerts", p.api(p.alerts)),
        Route("/api/v1/alerts.geojson", p.api(p.geojson), name="geojson"),
        Route("/api/v1/feed.atom", p.api(p.feed), name="feed"),
        Route("/api/v1/cap/{identifier}.xml", p.api(p.cap), name="cap"),
        Route("/api/v1/alerts/{alert_id}", p.api(p.alert)),
        Route("/api/v1/kpis", p.api(p.kpis)),
        Route("/api/v1/alerts/{alert_id}/ack", p.api(p.ack, write=True), methods=["POST"]),
        Route("/api/v1/alerts/{alert_id}/outcome", p.api(p.outcome, write=True),
              methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.portal = p
    app.add_middleware(SecurityHeaders)
    return app
