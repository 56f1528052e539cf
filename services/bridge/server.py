"""Process concerns of the bridge: accept media streams, hold many calls, report capacity, drain.

``GET /twilio/media``: 503 while draining or full; 403 without a valid
``X-Twilio-Signature`` (before upgrading, so nothing is stored); after the upgrade a
``start`` must arrive within ``MEDIA_START_TIMEOUT_S`` with a one-time token that verifies
and names this ``callSid``, for a call that has no stream here or on any other bridge, or
the stream is closed (1008) with nothing started. Only calls with a verified start count
against ``MAX_CALLS`` and readiness; at most ``MEDIA_MAX_PENDING`` upgraded streams wait
for their start (the longest-waiting is closed to make room).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiohttp import web
from nats.aio.client import Client as NATS

from fixline_proto import codec, subjects
from fixline_proto.commands import BridgeCapacity
from services.common.media_token import UsedTokens
from services.common.settings import Settings
from services.common.tasks import TaskSet

from .call import Call, CallDeps
from .codecs import twilio as wire
from .media_stream import StreamRejected, UpgradeVerifier, admit, read_start
from .metrics import BridgeMetrics
from .stream_claims import ClaimRefused, StreamClaims
from .twilio_socket import TwilioSocket

log = logging.getLogger(__name__)
CAPACITY_INTERVAL_S = 2.0
POLICY_VIOLATION = 1008
REFUSED_CLOSE_TIMEOUT_S = 1.0


class MediaServer:
    def __init__(self, settings: Settings, metrics: BridgeMetrics, bridge_id: str) -> None:
        self.settings, self.metrics, self.bridge_id = settings, metrics, bridge_id
        self.verifier = UpgradeVerifier(settings)
        self.used_tokens = UsedTokens()
        self.claims = StreamClaims(bridge_id)
        self.calls: dict[str, Call] = {}
        self.pending: dict[web.WebSocketResponse, None] = {}  # upgraded, no verified start yet; oldest first
        self._evictions = TaskSet("evictions")
        self.draining = False
        self.deps: CallDeps | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        metrics.max_calls.set(settings.max_calls)

    @property
    def active(self) -> int:
        """Calls with a verified start: the only ones capacity and readiness count."""
        return len(self.calls)

    # ------------------------------------------------------------------ HTTP

    async def handle(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        ws = TwilioSocket(max_msg_size=wire.MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        self._add_pending(ws)
        try:
            call = await self._admit(ws)
        finally:
            self.pending.pop(ws, None)
        if call is not None:
            await self._run(call)
        self._check_idle()
        return ws

    def _refusal(self, request: web.Request) -> web.Response | None:
        if self.draining or self.deps is None:
            self.metrics.rejected_upgrades.labels("draining" if self.draining else "starting").inc()
            return web.Response(status=503, text="draining" if self.draining else "starting")
        if self.active >= self.settings.max_calls:
            self.metrics.rejected_upgrades.labels("full").inc()
            return web.Response(status=503, text="at capacity")
        reason = self.verifier.check(request)
        if reason is not None:
            self.metrics.rejected_upgrades.labels("signature").inc()
            log.warning("media stream refused", extra={"reason": reason, "peer": request.remote})
            return web.Response(status=403, text="forbidden")
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=400, text="WebSocket upgrade expected")
        return None

    def _add_pending(self, ws: web.WebSocketResponse) -> None:
        """Twilio sends ``start`` right after the upgrade, so when too many streams wait for
        theirs, the one waiting longest is an idle client: close it to make room."""
        while len(self.pending) >= self.settings.media_max_pending:
            oldest = next(iter(self.pending))
            self.pending.pop(oldest)
            self.metrics.rejected_upgrades.labels("evicted").inc()
            self._evictions.spawn(_close(oldest, b"no start"), name="evict-idle-upgrade")
        self.pending[ws] = None
        self._idle.clear()

    async def _admit(self, ws: web.WebSocketResponse) -> Call | None:
        try:
            start = await read_start(ws, self.settings.media_start_timeout_s)
            ctx = admit(start, self.settings, self.used_tokens)
            await self._hold(ctx.call_id, ctx.stream_key)
        except (StreamRejected, asyncio.TimeoutError) as exc:
            reason = getattr(exc, "reason", "no start message in time")
            self.metrics.rejected_upgrades.labels(_refusal_label(reason)).inc()
            log.warning("media stream closed before admission", extra={"reason": reason})
            await _close(ws, b"stream refused")
            return None
        assert self.deps is not None
        call = Call(ctx, ws, self.deps)
        self.calls[ctx.call_id] = call
        self.metrics.active_calls.set(len(self.calls))
        return call

    async def _hold(self, call_id: str, stream_key: str) -> None:
        """Take a slot for a verified call: capacity, one stream per call here and on every bridge."""
        if call_id in self.calls:
            raise StreamRejected("the call already has a media stream on this bridge")
        if self.active >= self.settings.max_calls:
            raise StreamRejected("at capacity")
        assert self.deps is not None
        try:
            await self.claims.claim(self.deps.nc, stream_key)
        except ClaimRefused as exc:
            raise StreamRejected(str(exc)) from None
        if call_id in self.calls or self.active >= self.settings.max_calls:  # raced while claiming
            raise StreamRejected("at capacity" if call_id not in self.calls else "duplicate stream")

    async def _run(self, call: Call) -> None:
        try:
            reason = await call.run()
            self.metrics.calls_total.labels(reason).inc()
        except Exception:  # noqa: BLE001 - one call's bug never takes the process down
            log.exception("call failed", extra={"call_id": call.ctx.call_id})
            self.metrics.calls_total.labels("bridge_error").inc()
            with contextlib.suppress(Exception):
                await call.close_stream()
        finally:  # also when cancelled: a drain waiting for "idle" must still see it
            self.calls.pop(call.ctx.call_id, None)
            self.metrics.active_calls.set(len(self.calls))
            self._check_idle()

    def _check_idle(self) -> None:
        if not self.calls and not self.pending:
            self._idle.set()

    # ------------------------------------------------------------------ capacity & drain

    def capacity(self) -> BridgeCapacity:
        return BridgeCapacity(bridge_id=self.bridge_id, active_calls=self.active,
                              max_calls=self.settings.max_calls, draining=self.draining, ts=time.time())

    async def report_capacity(self, nc: NATS) -> None:
        while True:
            if nc.is_connected:
                with contextlib.suppress(Exception):
                    await nc.publish(subjects.BRIDGE_CAPACITY, codec.encode(self.capacity()))
            await asyncio.sleep(CAPACITY_INTERVAL_S)

    async def drain(self) -> None:
        """Stop taking streams; wait for the live calls to end (the runtime bounds the wait)."""
        self.draining = True
        self.metrics.draining.set(1)
        log.info("draining: no new media streams", extra={"live_calls": self.active, "pending": len(self.pending)})
        await self._idle.wait()


def _refusal_label(reason: str) -> str:
    for word, label in (("callSid", "call_sid"), ("already has", "duplicate"), ("duplicate", "duplicate"),
                        ("capacity", "full"), ("claim", "claim"), ("token", "token")):
        if word in reason:
            return label
    return "start"


async def _close(ws: web.WebSocketResponse, message: bytes) -> None:
    """Close with 1008 without waiting long for the peer's close frame (idle clients never send one)."""
    with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
        await asyncio.wait_for(ws.close(code=POLICY_VIOLATION, message=message), REFUSED_CLOSE_TIMEOUT_S)
