"""``/api/history/…``: the manager's history from PostgreSQL (survives a notifier restart).

Same credentials as ``/events`` (session cookie or bearer token), same scope: a token sees
only its properties. An id outside the scope answers exactly like an id that does not exist
(404, same body), and a ``property`` filter outside it like a property without rows."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from aiohttp import web

from .auth import TokenTable, Viewer, authenticate
from .history_query import MAX_ID, BadQuery, SearchQuery, parse
from .history_repo import Row, Scope, call_detail, costs, incident_detail, search

log = logging.getLogger(__name__)
NO_STORE = {"Cache-Control": "no-store"}
STATIC_DIR = Path(__file__).with_name("static")
_ENCODER = msgspec.json.Encoder()
DetailQuery = Callable[[asyncpg.Connection, Scope, str], Awaitable[Row | None]]


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=_ENCODER.encode(body), status=status, content_type="application/json",
                        headers=NO_STORE)


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def _scope(viewer: Viewer) -> Scope:
    """The viewer's properties (a ``property`` filter outside them then matches nothing)."""
    if viewer.properties is None:
        return None
    return sorted(viewer.properties)


class HistoryApi:
    def __init__(self, tokens: TokenTable) -> None:
        self.tokens = tokens
        self.pool: asyncpg.Pool | None = None     # set at start

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/history", self.page)
        app.router.add_get("/api/history/search", self.search)
        app.router.add_get("/api/history/costs", self.costs)
        app.router.add_get("/api/history/calls/{call_id}", self.call)
        app.router.add_get("/api/history/incidents/{incident_id}", self.incident)

    async def page(self, request: web.Request) -> web.StreamResponse:
        if authenticate(request, self.tokens) is None:
            return web.Response(status=303, headers={**NO_STORE, "Location": "/"})  # the sign-in page
        return web.FileResponse(STATIC_DIR / "history.html", headers=NO_STORE)

    def _viewer(self, request: web.Request) -> Viewer:
        viewer = authenticate(request, self.tokens)
        if viewer is None:
            raise web.HTTPUnauthorized(text='{"error": "a dashboard session or bearer token is required"}',
                                       content_type="application/json")
        return viewer

    def _pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise web.HTTPServiceUnavailable(text='{"error": "history is not available yet"}',
                                             content_type="application/json")
        return self.pool

    async def search(self, request: web.Request) -> web.Response:
        scope, q = self._scoped_query(request)
        async with self._pool().acquire() as conn:
            total, rows = await search(conn, scope, q)
        return _json({"kind": q.kind, "total": total, "limit": q.limit, "offset": q.offset, "results": rows})

    async def costs(self, request: web.Request) -> web.Response:
        scope, q = self._scoped_query(request)
        async with self._pool().acquire() as conn:
            rows = await costs(conn, scope, q)
        return _json({"properties": rows})

    def _scoped_query(self, request: web.Request) -> tuple[Scope, SearchQuery]:
        """The viewer's scope and the parsed query string; a bad query is a 400 that reads nothing."""
        viewer = self._viewer(request)
        try:
            return _scope(viewer), parse(request.query)
        except BadQuery as bad:
            raise web.HTTPBadRequest(body=_ENCODER.encode({"error": str(bad)}), content_type="application/json",
                                     headers=NO_STORE) from None

    async def call(self, request: web.Request) -> web.Response:
        detail = await self._detail(request, "call_id", call_detail)
        if detail is None:
            return _error(404, "no such call")
        raw = detail.pop("report_json")
        return _json({**detail, "report": json.loads(raw) if raw else None})

    async def incident(self, request: web.Request) -> web.Response:
        detail = await self._detail(request, "incident_id", incident_detail)
        return _json(detail) if detail is not None else _error(404, "no such incident")

    async def _detail(self, request: web.Request, key: str, fetch: DetailQuery) -> Row | None:
        """One row by the id in the path, within the viewer's scope; None: no such id for them."""
        viewer = self._viewer(request)
        row_id = request.match_info[key]
        if len(row_id) > MAX_ID:
            return None
        async with self._pool().acquire() as conn:
            return await fetch(conn, _scope(viewer), row_id)
