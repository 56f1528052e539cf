"""Wiring of the ingress service: webhooks, bridge capacity, outbox relay, outbound dialer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit, urlunsplit

from twilio.http.async_http_client import AsyncTwilioHttpClient

from services.common.outbox import OutboxRelay
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.tasks import TaskSet

from .admission import Admission
from .capacity import BridgeCapacityTable
from .dial_policy import DialPolicy
from .dialer import Dialer, stop_and_wait
from .metrics import IngressMetrics
from .reconcile import end_calls_twilio_ended
from .recorder import Recorder
from .recording_retention import sweep_forever
from .signature import WebhookVerifier
from .stream_end import StreamEndWatcher
from .twilio_rest import create_client
from .voice import VoiceConfig, VoiceHandler
from .webhooks import Webhooks

log = logging.getLogger(__name__)
OVERFLOW_MODES = ("say", "dial")


def media_stream_url(settings: Settings) -> str:
    """``MEDIA_STREAM_URL``, else PUBLIC_BASE_URL with a ws(s) scheme + /twilio/media."""
    if settings.media_stream_url:
        return settings.media_stream_url
    parts = urlsplit(settings.public_base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/twilio/media", "", ""))


def check_settings(settings: Settings) -> None:
    """Refuse to start on contradictory configuration (a clear error, not a bad call later)."""
    if settings.overflow_mode not in OVERFLOW_MODES:
        raise ValueError(f"OVERFLOW_MODE must be one of {OVERFLOW_MODES}, not {settings.overflow_mode!r}")
    if settings.overflow_mode == "dial" and not settings.overflow_dial_number:
        raise ValueError("OVERFLOW_MODE=dial needs OVERFLOW_DIAL_NUMBER")
    policy = DialPolicy.from_settings(settings.dial_allowed_prefixes, settings.dial_blocked_prefixes)
    if settings.overflow_dial_number and (refusal := policy.refusal(settings.overflow_dial_number)):
        raise ValueError(f"OVERFLOW_DIAL_NUMBER fails the dial policy: {refusal}")
    if "?" in media_stream_url(settings):
        raise ValueError("MEDIA_STREAM_URL must not have a query string (Twilio drops it; use <Parameter>s)")


class IngressService:
    name = "ingress"
    needs_database = True
    runtime: Runtime  # set by serve()

    def __init__(self) -> None:
        self.dialer: Dialer | None = None
        self._tasks = TaskSet("ingress")
        self._twilio_http: AsyncTwilioHttpClient | None = None
        self._relay: OutboxRelay | None = None
        self._dialer_task: asyncio.Task[None] | None = None
        self.stream_end: StreamEndWatcher | None = None

    def setup(self, rt: Runtime) -> None:
        s = rt.settings
        check_settings(s)
        self.metrics = IngressMetrics(rt.registry)
        self.capacity = BridgeCapacityTable(s.bridge_capacity_ttl_s)
        self.admission = Admission(self.capacity, s.admission_reservation_ttl_s)
        self.webhooks = Webhooks(WebhookVerifier(s.twilio_auth_token, s.public_base_url), self.admission,
                                 self.metrics, body_timeout_s=s.webhook_body_timeout_s,
                                 max_unverified_per_source=s.webhook_max_unverified_per_source)
        self.webhooks.routes(rt.web)
        if not s.twilio_auth_token:
            log.warning("TWILIO_AUTH_TOKEN is not set: every webhook will be refused (403)")

    async def start(self, rt: Runtime) -> None:
        assert rt.nc is not None and rt.pool is not None  # serve() connects before start()
        s = rt.settings
        voice = VoiceHandler(rt.pool, self.admission, VoiceConfig(
            media_url=media_stream_url(s), stream_status_url=f"{s.public_base_url}/twilio/stream-status",
            token_secret=s.media_token_secret, token_ttl_s=s.media_token_ttl_s, overflow_mode=s.overflow_mode,
            overflow_message=s.overflow_message, overflow_dial_number=s.overflow_dial_number,
            vendor_code_early_s=s.vendor_code_early_s), self.metrics)
        await self.capacity.subscribe(rt.nc)
        self._relay = OutboxRelay(rt.pool, rt.nc, rt.registry, poll_interval_s=s.outbox_poll_interval_s,
                                  role=self.name)
        self._tasks.spawn(self._relay.run(), name="outbox-relay")
        self.stream_end = StreamEndWatcher(rt.pool, rt.nc.jetstream(), s.stream_end_consumer, s.stream_end_grace_s)
        self._tasks.spawn(self.stream_end.run(), name="stream-end")
        recorder = None
        if s.twilio_account_sid and s.twilio_auth_token:
            client, self._twilio_http = create_client(s)
            self.dialer = Dialer(rt.pool, client, s, self.admission, self.metrics)
            self._dialer_task = self._tasks.spawn(self.dialer.run(rt.nc), name="dialer")
            self._tasks.spawn(end_calls_twilio_ended(rt.pool, client), name="reconcile-calls")
            recorder = Recorder(rt.pool, client, s.public_base_url, self.metrics, self._tasks)
            if s.recording_retention_days > 0:
                self._tasks.spawn(sweep_forever(rt.pool, client, s.recording_retention_days,
                                                s.recording_sweep_interval_s), name="recording-retention")
        else:
            log.warning("Twilio credentials not set: outbound dialing and call recording are off")
        self.webhooks.attach(rt.pool, voice, recorder)

    async def drain(self, rt: Runtime) -> None:
        """Webhooks keep being served until the HTTP server stops; the dialer stops taking commands."""
        if self.stream_end is not None:
            self.stream_end.stop()
        if self.dialer is not None and self._dialer_task is not None:
            await stop_and_wait(self.dialer, self._dialer_task)
        if self._twilio_http is not None:
            await self._twilio_http.close()
        if self._relay is not None:
            with contextlib.suppress(Exception):
                await self._relay.publish_pending()  # flush what the last webhooks wrote
        await self._tasks.close()
