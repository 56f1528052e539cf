"""``GET /api/history/calls/{call_id}/recording``: a call's recording, played through the notifier.

Twilio keeps the media; its URL needs the account credentials, which never leave the server.
Same credentials and scope as the history API: a call outside the viewer's properties, a call
without a completed recording, or one already deleted by retention all answer 404 with the
same body. The WAV is streamed through as it arrives (never buffered whole, never cached)."""

from __future__ import annotations

import logging

import aiohttp
import asyncpg
from aiohttp import web

from .auth import TokenTable, authenticate
from .history_query import MAX_ID

log = logging.getLogger(__name__)
NOT_FOUND = '{"error": "no such recording"}'
CHUNK = 64 * 1024
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)
DEFAULT_API_BASE = "https://api.twilio.com"


def _json_error(cls: type[web.HTTPException], text: str) -> web.HTTPException:
    return cls(text=text, content_type="application/json", headers={"Cache-Control": "no-store"})


class RecordingProxy:
    def __init__(self, tokens: TokenTable, account_sid: str, auth_token: str, api_base_url: str) -> None:
        self.tokens = tokens
        self.account_sid = account_sid
        self._auth_header = aiohttp.encode_basic_auth(account_sid, auth_token) if account_sid else ""
        self.api_base = (api_base_url or DEFAULT_API_BASE).rstrip("/").removesuffix("/2010-04-01")
        self.pool: asyncpg.Pool | None = None               # set at start
        self.http: aiohttp.ClientSession | None = None      # set at start, closed at drain

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/history/calls/{call_id}/recording", self.play)

    async def start(self, pool: asyncpg.Pool | None) -> None:
        self.pool = pool
        self.http = aiohttp.ClientSession(timeout=FETCH_TIMEOUT)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def _recording_sid(self, properties: frozenset[str] | None, call_id: str) -> str | None:
        if self.pool is None:
            raise _json_error(web.HTTPServiceUnavailable, '{"error": "history is not available yet"}')
        scope = None if properties is None else sorted(properties)
        sid: str | None = await self.pool.fetchval(
            "SELECT r.sid FROM call_recordings r JOIN calls c ON c.id = r.call_id"
            " WHERE r.call_id = $2 AND r.status = 'completed' AND r.deleted_at IS NULL"
            " AND ($1::text[] IS NULL OR c.property_id = ANY($1::text[])) ORDER BY r.created_at DESC LIMIT 1",
            scope, call_id)
        return sid

    async def play(self, request: web.Request) -> web.StreamResponse:
        viewer = authenticate(request, self.tokens)
        if viewer is None:
            raise _json_error(web.HTTPUnauthorized, '{"error": "a dashboard session or bearer token is required"}')
        call_id = request.match_info["call_id"]
        sid = None if len(call_id) > MAX_ID else await self._recording_sid(viewer.properties, call_id)
        if sid is None:
            raise _json_error(web.HTTPNotFound, NOT_FOUND)
        if not self._auth_header or self.http is None:
            raise _json_error(web.HTTPServiceUnavailable, '{"error": "Twilio credentials are not configured"}')
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}.wav"
        try:
            async with self.http.get(url, headers={"Authorization": self._auth_header}) as upstream:
                if upstream.status != 200:
                    log.warning("recording fetch refused by Twilio", extra={"call_id": call_id,
                                                                            "status": upstream.status})
                    raise _json_error(web.HTTPBadGateway, '{"error": "the recording could not be fetched"}')
                return await self._stream(request, upstream)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("recording fetch failed", extra={"call_id": call_id, "error": type(exc).__name__})
            raise _json_error(web.HTTPBadGateway, '{"error": "the recording could not be fetched"}') from exc

    async def _stream(self, request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/wav", "Cache-Control": "no-store",
                                               "Content-Disposition": "inline"})
        if upstream.content_length is not None:
            response.content_length = upstream.content_length
        await response.prepare(request)
        async for chunk in upstream.content.iter_chunked(CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
