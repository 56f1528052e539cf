"""Google Calendar v3 through google-api-python-client (static discovery, no network at
build time). The library is sync and httplib2 is not thread-safe: one AuthorizedHttp
per call, run in a worker thread."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httplib2
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from services.common.settings import Settings

log = logging.getLogger(__name__)
SCOPES = ["https://www.googleapis.com/auth/calendar"]
HTTP_TIMEOUT_S = 10
# googleapiclient retries 5xx/429/connection errors with a random 0..2^n s backoff. The agent is
# on a live call and gets a retryable error anyway, so one quick retry (at most ~2 s) only.
NUM_RETRIES = 1


class CalendarError(Exception):
    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class CalendarEvent:
    event_id: str
    created: bool  # False: the id already existed (an earlier attempt booked it)
    status: str


def event_id_for(incident_id: str, vendor_id: str, start: datetime) -> str:
    """Deterministic Calendar id (hex is a subset of base32hex a-v0-9): a retry never books twice."""
    key = f"repair|{incident_id}|{vendor_id}|{start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def load_credentials(settings: Settings) -> Credentials:
    """Service-account credentials from GOOGLE_APPLICATION_CREDENTIALS; their token_uri (from
    the file) is where the signed JWT is exchanged for an access token."""
    path = settings.google_application_credentials
    if path:
        from google.oauth2 import service_account

        try:
            credentials: Credentials = service_account.Credentials.from_service_account_file(path, scopes=SCOPES)
            return credentials
        except (OSError, ValueError, KeyError) as exc:  # missing, not JSON, missing fields, bad key
            raise CalendarError(f"calendar credentials unusable ({path}): {exc}", retryable=False) from exc
    # No account: only for an emulator with require_auth=False; real Google answers 401.
    return AnonymousCredentials()


class RepairCalendar:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.calendar_id = settings.google_calendar_id
        self._credentials: Credentials | None = None
        self._service: Any = None  # googleapiclient's Resource: built from discovery JSON, untyped
        self._lock = threading.Lock()

    def _client(self) -> Any:
        with self._lock:
            if self._service is None:
                self._credentials = load_credentials(self.settings)
                options = {"api_endpoint": _endpoint(self.settings.google_calendar_api_endpoint)} \
                    if self.settings.google_calendar_api_endpoint else None
                self._service = build("calendar", "v3", credentials=self._credentials, static_discovery=True,
                                      cache_discovery=False, client_options=options)
            return self._service

    def _insert_sync(self, body: dict[str, Any]) -> CalendarEvent:
        service = self._client()
        http = AuthorizedHttp(self._credentials, http=httplib2.Http(timeout=HTTP_TIMEOUT_S))
        events = service.events()
        try:
            created = events.insert(calendarId=self.calendar_id, body=body, sendUpdates="none").execute(
                http=http, num_retries=NUM_RETRIES)
            return CalendarEvent(created["id"], True, created.get("status", "confirmed"))
        except HttpError as exc:
            if exc.resp.status != 409:
                raise
        existing = events.get(calendarId=self.calendar_id, eventId=body["id"]).execute(
            http=http, num_retries=NUM_RETRIES)
        return CalendarEvent(existing["id"], False, existing.get("status", "confirmed"))

    async def insert_event(self, body: dict[str, Any]) -> CalendarEvent:
        try:
            return await asyncio.to_thread(self._insert_sync, body)
        except HttpError as exc:
            status = exc.resp.status
            raise CalendarError(f"calendar refused the booking ({status}): {_reason(exc)}",
                                retryable=status in (408, 429) or status >= 500) from exc
        except auth_exceptions.RefreshError as exc:
            # The token endpoint refused the service account (unknown/revoked key, wrong
            # audience, clock skew): retrying will not help, an operator has to.
            raise CalendarError(f"calendar credentials rejected: {_auth_reason(exc)}",
                                retryable=bool(getattr(exc, "retryable", False))) from exc
        except auth_exceptions.TransportError as exc:
            raise CalendarError(f"calendar token endpoint unreachable: {exc}", retryable=True) from exc
        except (OSError, httplib2.HttpLib2Error) as exc:
            raise CalendarError(f"calendar unreachable: {exc}", retryable=True) from exc


def _endpoint(url: str) -> str:
    """The SDK joins paths with urljoin: the endpoint needs the service path and a trailing slash."""
    url = url.rstrip("/")
    if not url.endswith("/calendar/v3"):
        url += "/calendar/v3"
    return url + "/"


def _auth_reason(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _reason(exc: HttpError) -> str:
    try:
        return str(json.loads(exc.content)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return exc.resp.reason or "error"
