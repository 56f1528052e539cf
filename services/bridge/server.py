"""Process concerns of the bridge: accept media streams, hold many calls, report capacity, drain.

``GET /twilio/media``: 503 while draining or full; 403 without a valid
``X-Twilio-Signature`` (before upgrading, so nothing is stored); after the upgrade the
``start`` message's one-time token must verify, or the stream is closed (1008).
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

from .call import Call, CallDeps
from .codecs import twilio as wire
from .media_stream import StreamRejected, UpgradeVerifier, admit, read_start
from .metrics import BridgeMetrics

log = logging.getLogger("fixline.bridge.server")
CAPACITY_INTERVAL_S = 2.0
POLICY_VIOLATION = 1008


class MediaServer:
    def __init__(self, settings: Settings, metrics: BridgeMetrics, bridge_id: str) -> None:
        self.settings, self.metrics, self.bridge_id = settings, metrics, bridge_id
        self.verifier = UpgradeVerifier(settings)
        self.used_tokens = UsedTokens()
        self.calls: dict[str, Call] = {}
        self.pending = 0            # upgraded, not yet admitted (counts against MAX_CALLS)
        self.draining = False
        self.deps: CallDeps | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        metrics.max_calls.set(settings.max_calls)

    @property
    def active(self) -> int:
        return len(self.calls) + self.pending

    # ------------------------------------------------------------------ HTTP

    async def handle(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        ws = web.WebSocketResponse(max_msg_size=wire.MAX_MESSAGE_BYTES, autoping=True)
        await ws.prepare(request)
        self.pending += 1
        self._idle.clear()
        try:
            call = await self._admit(ws)
        finally:
            self.pending -= 1
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

    async def _admit(self, ws: web.WebSocketResponse) -> Call | None:
        try:
            start = await read_start(ws)
            ctx = admit(start, self.settings, self.used_tokens)
        except (StreamRejected, asyncio.TimeoutError) as exc:
            reason = getattr(exc, "reason", "no start message in time")
            self.metrics.rejected_upgrades.labels("token" if "token" in reason else "start").inc()
            log.warning("media stream closed before admission", extra={"reason": reason})
            await ws.close(code=POLICY_VIOLATION, message=b"stream refused")
            return None
        assert self.deps is not None
        return Call(ctx, ws, self.deps)

    async def _run(self, call: Call) -> None:
        self.calls[call.ctx.call_id] = call
        self.metrics.active_calls.set(len(self.calls))
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
        if self.active == 0:
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
        log.info("draining: no new media streams", extra={"live_calls": self.active})
        await self._idle.wait()
