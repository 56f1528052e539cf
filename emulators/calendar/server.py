"""``CalendarEmulator``: Calendar v3 events/freeBusy + the OAuth2 token endpoint."""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
from typing import Any

from aiohttp import web

from .._server import AppServer
from .service_account import (InvalidGrant, make_service_account, public_key_of, verify_assertion,
                              write_service_account)
from .store import CalendarError, CalendarStore

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PREFIX = "/calendar/v3"


def google_error(status: int, reason: str, message: str) -> web.Response:
    statuses = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
                500: "INTERNAL", 503: "UNAVAILABLE"}
    body = {"error": {"errors": [{"domain": "global", "reason": reason, "message": message}],
                      "code": status, "message": message, "status": statuses.get(status, "UNKNOWN")}}
    return web.json_response(body, status=status)


class CalendarEmulator(AppServer):
    """Emulated ``www.googleapis.com/calendar/v3`` and ``oauth2.googleapis.com/token``.

    ``require_auth``: API calls need a Bearer token issued by ``/token`` (the real
    service-account flow). Calendars in ``calendars`` exist; others are 404.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 calendars: tuple[str, ...] = ("primary",), require_auth: bool = True):
        super().__init__(host, port)
        self.store = CalendarStore()
        for cal in calendars:
            self.store.add_calendar(cal)
        self.require_auth = require_auth
        self.keys: dict[str, Any] = {}
        self.tokens: dict[str, str] = {}  # access token -> client_email
        self.token_requests: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.failures: list[tuple[int, str, str]] = []
        self.insert_delay_s = 0.0

    @property
    def api_endpoint(self) -> str:
        """For ``client_options={"api_endpoint": ...}`` (service path + trailing slash)."""
        return f"{self.base_url}{PREFIX}/"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    # ------------------------------------------------------------ service accounts

    def create_service_account(self, path: str | None = None) -> dict[str, Any]:
        """A registered throwaway service account whose ``token_uri`` is this emulator;
        written to ``path`` if given (``.service_account_file`` keeps the last path)."""
        info = make_service_account(self.token_uri)
        self.register_service_account(info)
        if path is None:
            path = os.path.join(tempfile.mkdtemp(prefix="calendar-emu-"), "service-account.json")
        self.service_account_file = write_service_account(info, path)
        return info

    def register_service_account(self, info: dict[str, Any]) -> None:
        self.keys[info["private_key_id"]] = public_key_of(info)

    def credentials(self, info: dict[str, Any] | None = None):
        """``google.oauth2.service_account.Credentials`` for the calendar scope."""
        from google.oauth2 import service_account

        info = info or self.create_service_account()
        return service_account.Credentials.from_service_account_info(
            info, scopes=["https://www.googleapis.com/auth/calendar"])

    def service(self, credentials=None):
        """``googleapiclient.discovery.build("calendar", "v3", ...)`` wired to this emulator."""
        from googleapiclient.discovery import build

        return build("calendar", "v3", credentials=credentials or self.credentials(),
                     static_discovery=True, cache_discovery=False,
                     client_options={"api_endpoint": self.api_endpoint})

    def fail_next(self, status: int, reason: str = "backendError", message: str = "Backend Error",
                  times: int = 1) -> None:
        self.failures.extend([(status, reason, message)] * times)

    # ------------------------------------------------------------ app

    def _make_app(self) -> web.Application:
        app = web.Application()
        cal = PREFIX + "/calendars/{calendarId}/events"
        app.add_routes([
            web.post("/token", self._token),
            web.post(cal, self._insert), web.get(cal, self._list),
            web.get(cal + "/{eventId}", self._get), web.patch(cal + "/{eventId}", self._patch),
            web.put(cal + "/{eventId}", self._update), web.delete(cal + "/{eventId}", self._delete),
            web.post(PREFIX + "/freeBusy", self._freebusy),
        ])
        app.middlewares.append(self._middleware)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        if request.path == "/token":
            return await handler(request)
        if self.require_auth and request.headers.get("Authorization", "")[7:] not in self.tokens:
            return google_error(401, "authError", "Request had invalid authentication credentials. "
                                "Expected OAuth 2 access token, login cookie or other valid "
                                "authentication credential.")
        if self.failures:
            return google_error(*self.failures.pop(0))
        try:
            return await handler(request)
        except CalendarError as err:
            return google_error(err.status, err.reason, err.message)
        except (ValueError, KeyError) as err:
            return google_error(400, "badRequest", f"Bad Request: {err}")

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.token_requests.append(dict(form))
        if form.get("grant_type") != JWT_GRANT:
            return web.json_response({"error": "unsupported_grant_type",
                                      "error_description": "Invalid grant_type"}, status=400)
        try:
            assertion = form.get("assertion", "")
            claims = verify_assertion(assertion if isinstance(assertion, str) else "", self.keys, self.token_uri)
        except InvalidGrant as err:
            return web.json_response({"error": "invalid_grant", "error_description": str(err)}, status=400)
        token = "ya29.emu-" + secrets.token_urlsafe(24)
        self.tokens[token] = claims["iss"]
        return web.json_response({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _caller(self, request: web.Request) -> str:
        return self.tokens.get(request.headers.get("Authorization", "")[7:], self.store.owner_email)

    async def _insert(self, request: web.Request) -> web.Response:
        body = await request.json()
        event = self.store.insert(request.match_info["calendarId"], body, self._caller(request))
        if self.insert_delay_s:  # a slow Google: the event is stored, the answer comes late
            await asyncio.sleep(self.insert_delay_s)
        return web.json_response(event)

    async def _get(self, request: web.Request) -> web.Response:
        return web.json_response(self.store.get(request.match_info["calendarId"], request.match_info["eventId"]))

    async def _patch(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(self.store.patch(request.match_info["calendarId"],
                                                  request.match_info["eventId"], body))

    async def _update(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(self.store.patch(request.match_info["calendarId"],
                                                  request.match_info["eventId"], body, replace=True))

    async def _delete(self, request: web.Request) -> web.Response:
        self.store.delete(request.match_info["calendarId"], request.match_info["eventId"])
        return web.Response(status=204)

    async def _list(self, request: web.Request) -> web.Response:
        q: dict[str, Any] = dict(request.query)
        q["privateExtendedProperty"] = request.query.getall("privateExtendedProperty", [])
        items = self.store.list(request.match_info["calendarId"], q)
        size, offset = int(q.get("maxResults", 250)), int(q.get("pageToken", 0) or 0)
        page = items[offset:offset + size]
        body = {"kind": "calendar#events", "etag": '"p32g"', "summary": request.match_info["calendarId"],
                "updated": page[-1]["updated"] if page else "2026-01-01T00:00:00.000Z",
                "timeZone": "UTC", "accessRole": "owner", "defaultReminders": [], "items": page}
        if offset + size < len(items):
            body["nextPageToken"] = str(offset + size)
        else:
            body["nextSyncToken"] = "sync-" + secrets.token_hex(8)
        return web.json_response(body)

    async def _freebusy(self, request: web.Request) -> web.Response:
        return web.json_response(self.store.free_busy(json.loads(await request.text())))
