"""aiohttp routes: POST /twilio/voice, /twilio/status, /twilio/stream-status.

Every route checks ``X-Twilio-Signature`` first (403, nothing read from or written to the
database otherwise), then the fields it needs (400 with the missing field named).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web
from multidict import MultiDictProxy

from . import call_status
from .admission import Admission
from .callbacks import STREAM_EVENTS, StatusCallback, StreamCallback, on_call_status, on_stream_status
from .metrics import IngressMetrics
from .signature import SignatureError, WebhookVerifier
from .voice import VoiceHandler, VoiceRequest

log = logging.getLogger("fixline.ingress.webhooks")
XML = "text/xml"
Form = MultiDictProxy[str]


class BadWebhook(ValueError):
    """A signed request without the fields Twilio always sends."""


def _required(form: Form, *names: str) -> list[str]:
    values = []
    for name in names:
        value = form.get(name)
        if not isinstance(value, str) or not value:
            raise BadWebhook(f"missing {name}")
        values.append(value)
    return values


def _optional(form: Form, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value else None


class Webhooks:
    """Routes are registered in ``setup``; ``attach`` hands over the pool once it exists."""

    def __init__(self, verifier: WebhookVerifier, admission: Admission, metrics: IngressMetrics) -> None:
        self.verifier = verifier
        self.admission = admission
        self.metrics = metrics
        self.pool: asyncpg.Pool | None = None
        self.voice: VoiceHandler | None = None

    def attach(self, pool: asyncpg.Pool, voice: VoiceHandler) -> None:
        self.pool, self.voice = pool, voice

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/twilio/voice", self._guard("voice", self._voice))
        app.router.add_post("/twilio/status", self._guard("status", self._status))
        app.router.add_post("/twilio/stream-status", self._guard("stream_status", self._stream_status))

    def _guard(self, route: str, handler: Callable[[web.Request, Form], Awaitable[tuple[web.Response, str]]]):
        async def guarded(request: web.Request) -> web.Response:
            if self.pool is None:
                return web.Response(status=503, text="starting")
            try:
                form = await self.verifier.verified_form(request)
            except SignatureError as exc:
                self.metrics.signature_failures.labels(route).inc()
                self.metrics.webhooks.labels(route, "forbidden").inc()
                log.warning("webhook refused", extra={"route": route, "reason": str(exc)})
                return web.Response(status=403, text="forbidden")
            try:
                response, outcome = await handler(request, form)
            except BadWebhook as exc:
                self.metrics.webhooks.labels(route, "bad_request").inc()
                return web.Response(status=400, text=str(exc))
            self.metrics.webhooks.labels(route, outcome).inc()
            return response
        return guarded

    async def _voice(self, request: web.Request, form: Form) -> tuple[web.Response, str]:
        sid, from_number, to_number = _required(form, "CallSid", "From", "To")
        req = VoiceRequest(sid=sid, from_number=from_number, to_number=to_number,
                           status=_optional(form, "CallStatus") or "", answered_by=_optional(form, "AnsweredBy"),
                           call_id=request.query.get("call_id") or None)
        body, outcome = await self.voice.answer(req)
        return web.Response(text=body, content_type=XML), outcome

    async def _status(self, request: web.Request, form: Form) -> tuple[web.Response, str]:
        sid, status = _required(form, "CallSid", "CallStatus")
        try:
            sequence = call_status.parse_sequence(_optional(form, "SequenceNumber"))
            duration = float(_optional(form, "CallDuration") or 0)
        except ValueError as exc:
            raise BadWebhook(f"bad SequenceNumber or CallDuration: {exc}") from None
        cb = StatusCallback(sid=sid, status=status, sequence=sequence, answered_by=_optional(form, "AnsweredBy"),
                            duration_s=duration, call_id=request.query.get("call_id") or None)
        outcome = await on_call_status(self.pool, cb, self.admission.now())
        return web.Response(status=204), outcome

    async def _stream_status(self, request: web.Request, form: Form) -> tuple[web.Response, str]:
        sid, stream_event = _required(form, "CallSid", "StreamEvent")
        if stream_event not in STREAM_EVENTS:
            raise BadWebhook(f"unknown StreamEvent {stream_event!r}")
        cb = StreamCallback(sid=sid, stream_event=stream_event, stream_sid=_optional(form, "StreamSid") or "",
                            error=_optional(form, "StreamError") or "", call_id=request.query.get("call_id") or None)
        outcome = await on_stream_status(self.pool, cb, self.admission.now())
        return web.Response(status=204), outcome
