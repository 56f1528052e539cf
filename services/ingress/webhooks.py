"""aiohttp routes: POST /twilio/voice, /twilio/status, /twilio/stream-status, /twilio/recording-status,
and the warm hand-off's /twilio/handoff/whisper and /twilio/handoff/result (``handoff.py``).

Before a route's handler runs: at most ``WEBHOOK_MAX_UNVERIFIED_PER_SOURCE`` requests per
peer may be sending their body (429 beyond), the body must arrive within
``WEBHOOK_BODY_TIMEOUT_S`` (408), ``X-Twilio-Signature`` must match (403, nothing read from
or written to the database otherwise), and every field must pass ``fields`` (400 naming
the field and the rule). Client faults are logged once, without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web

from . import fields
from .admission import Admission
from .callbacks import on_call_status, on_stream_status
from .fields import BadWebhook
from .handoff import HandoffWebhooks, dial_result, whisper_request
from .guards import ClientFault, SourceLimiter, fault_response, read_form
from .metrics import IngressMetrics
from .recorder import Recorder
from .recording_status import on_recording_status
from .signature import SignatureError, WebhookVerifier
from .voice import VoiceHandler

log = logging.getLogger(__name__)
XML = "text/xml"
Form = fields.Fields
Handler = Callable[[web.Request, Form], Awaitable[tuple[web.Response, str]]]


class Webhooks:
    """Routes are registered in ``setup``; ``attach`` hands over the pool once it exists."""

    def __init__(self, verifier: WebhookVerifier, admission: Admission, metrics: IngressMetrics, *,
                 body_timeout_s: float = 10.0, max_unverified_per_source: int = 32) -> None:
        self.verifier = verifier
        self.admission = admission
        self.metrics = metrics
        self.body_timeout_s = body_timeout_s
        self.sources = SourceLimiter(max_unverified_per_source)
        self.pool: asyncpg.Pool | None = None
        self.voice: VoiceHandler | None = None
        self.recorder: Recorder | None = None
        self.handoff: HandoffWebhooks | None = None

    def attach(self, pool: asyncpg.Pool, voice: VoiceHandler, recorder: Recorder | None = None) -> None:
        self.pool, self.voice, self.recorder = pool, voice, recorder
        self.handoff = HandoffWebhooks(pool, voice)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/twilio/voice", self._guard("voice", self._voice))
        app.router.add_post("/twilio/status", self._guard("status", self._status))
        app.router.add_post("/twilio/stream-status", self._guard("stream_status", self._stream_status))
        app.router.add_post("/twilio/recording-status", self._guard("recording_status", self._recording_status))
        app.router.add_post("/twilio/handoff/whisper", self._guard("handoff_whisper", self._handoff_whisper))
        app.router.add_post("/twilio/handoff/result", self._guard("handoff_result", self._handoff_result))

    def _guard(self, route: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def guarded(request: web.Request) -> web.Response:
            if self.pool is None or self.voice is None:  # attach() comes with start()
                return web.Response(status=503, text="starting")
            try:
                form = await self._verified_form(request, route)
                response, outcome = await handler(request, form)
            except ClientFault as fault:
                self.metrics.webhooks.labels(route, fault.outcome).inc()
                if fault.outcome != "too_many":  # logged once per episode by the limiter
                    log.warning("webhook dropped: client fault", extra={"route": route, "reason": fault.reason})
                return fault_response(fault)
            except SignatureError as exc:
                self.metrics.signature_failures.labels(route).inc()
                self.metrics.webhooks.labels(route, "forbidden").inc()
                log.warning("webhook refused", extra={"route": route, "reason": str(exc)})
                return web.Response(status=403, text="forbidden")
            except BadWebhook as exc:
                self.metrics.webhooks.labels(route, "bad_request").inc()
                log.warning("webhook refused: bad request", extra={"route": route, "reason": str(exc)})
                return web.Response(status=400, text=str(exc))
            self.metrics.webhooks.labels(route, outcome).inc()
            return response
        return guarded

    async def _verified_form(self, request: web.Request, route: str) -> Form:
        source = request.remote or "unknown"
        if not self.sources.acquire(source):
            raise ClientFault(429, "too_many", "too many unverified requests from this address")
        try:
            form = await read_form(request, self.body_timeout_s)
        finally:
            self.sources.release(source)
        self.verifier.verify(request, form)
        return form

    async def _voice(self, request: web.Request, form: Form) -> tuple[web.Response, str]:
        assert self.voice is not None  # _guard answers 503 until attached
        body, outcome = await self.voice.answer(fields.voice_request(form, request.query))
        return web.Response(text=body, content_type=XML), outcome

    async def _status(self, request: web.Request, form: Form) -> tuple[web.Response, str]:
        cb = fields.status_callback(form, request.query)
        return web.Response(status=204), await on_call_status(self.pool, cb, self.admission.now())

    async def _handoff_whisper(self, request: web.Request, form: Form) -> tuple[web.Response, str]:
        assert self.handoff is not None  # _guard answers 503 until attached
        body, outcome = await self.handoff.whisper(whisper_request(form, request.query), self.admission.now())
        return web.Response(text=body, content_type=XML), outcome

    async def _handoff_result(self, request: web.Request, form: Form) -> tuple[web.Response, str]:
        assert self.handoff is not None
        body, outcome = await self.handoff.result(dial_result(form, request.query), self.admission.now())
        return web.Response(text=body, content_type=XML), outcome

    async def _stream_status(self, request: web.Request, form: Form) -> tuple[web.Response, str]:
        cb = fields.stream_callback(form, request.query)
        outcome = await on_stream_status(self.pool, cb, self.admission.now())
        if outcome == "applied" and cb.stream_event == "stream-started" and self.recorder and cb.call_id:
            self.recorder.stream_started(cb.call_id)
        return web.Response(status=204), outcome

    async def _recording_status(self, request: web.Request, form: Form) -> tuple[web.Response, str]:
        cb = fields.recording_callback(form, request.query)
        return web.Response(status=204), await on_recording_status(self.pool, cb)
