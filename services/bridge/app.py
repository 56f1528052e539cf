"""Wiring of the bridge service: routes, metrics, per-process clients, capacity, drain."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

from fixline_proto import codec, subjects
from services.common.runtime import Runtime
from services.common.tasks import TaskSet

from .call import CallDeps
from .call_control import TwilioRest
from .events_out import EventSink
from .fallback import prompt_frames
from .live_config import LiveOptions, make_client
from .metrics import BridgeMetrics
from .server import MediaServer

log = logging.getLogger(__name__)
INBOUND_RATES = (8000, 16000)
SCHEDULING = ("WHEN_IDLE", "INTERRUPT", "SILENT")


def check_settings(rt: Runtime) -> None:
    s = rt.settings
    if s.bridge_inbound_rate not in INBOUND_RATES:
        raise ValueError(f"BRIDGE_INBOUND_RATE must be one of {INBOUND_RATES}, not {s.bridge_inbound_rate}")
    if s.gemini_tool_scheduling not in SCHEDULING:
        raise ValueError(f"GEMINI_TOOL_SCHEDULING must be one of {SCHEDULING}")
    if s.gemini_non_blocking_tools not in ("auto", "on", "off", "true", "false", "1", "0"):
        raise ValueError("GEMINI_NON_BLOCKING_TOOLS must be auto, on or off")
    if not 0 < s.call_wrap_up_s < s.max_call_s:
        raise ValueError(f"need 0 < CALL_WRAP_UP_S < MAX_CALL_S, got {s.call_wrap_up_s} and {s.max_call_s}")
    if s.max_call_s >= s.drain_timeout_s:
        log.warning("MAX_CALL_S (%.0f) is not below DRAIN_TIMEOUT_S (%.0f): a drain can cut a live call",
                    s.max_call_s, s.drain_timeout_s)
    for missing in ("media_token_secret", "twilio_auth_token"):
        if not getattr(s, missing):
            log.warning("%s is not set: every media stream will be refused", missing.upper())


class BridgeService:
    name = "bridge"
    runtime: Runtime  # set by serve()
    needs_database = False

    def __init__(self) -> None:
        self.server: MediaServer | None = None
        self.metrics: BridgeMetrics | None = None
        self.sink: EventSink | None = None
        self.twilio: TwilioRest | None = None
        self._tasks = TaskSet("bridge")

    def setup(self, rt: Runtime) -> None:
        check_settings(rt)
        prompt_frames("transfer"), prompt_frames("callback")  # fail at start, not mid-call
        self.metrics = BridgeMetrics(rt.registry)
        self.server = MediaServer(rt.settings, self.metrics, rt.instance)
        rt.web.router.add_get("/twilio/media", self.server.handle)
        rt.readiness.add("capacity", lambda: self.server is not None and self.server.active < rt.settings.max_calls)

    async def start(self, rt: Runtime) -> None:
        """Needs NATS only; Gemini and Twilio are reached per call."""
        assert rt.nc is not None and self.server is not None and self.metrics is not None
        self.sink = EventSink(rt.nc)
        self.sink.start()
        self.twilio = TwilioRest(rt.settings)
        self.twilio.start()
        self.server.deps = CallDeps(settings=rt.settings, metrics=self.metrics, nc=rt.nc, sink=self.sink,
                                    gemini=make_client(rt.settings), twilio=self.twilio,
                                    options=LiveOptions.from_settings(rt.settings))
        self._tasks.spawn(self.server.report_capacity(rt.nc), name="capacity-reports")
        self._tasks.spawn(self._probe_loop_lag(), name="loop-lag-probe")
        # Start-up objects (SDK models, pydantic schemas) never die: keep them out of the
        # collector so full collections stay short and do not stall the audio loop.
        gc.collect()
        gc.freeze()

    async def _probe_loop_lag(self, interval: float = 0.01) -> None:
        """Event-loop lag: how long a frame that just arrived waits before the bridge reads it."""
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(interval)
            assert self.metrics is not None
            self.metrics.loop_lag.observe(max(0.0, loop.time() - t0 - interval))

    async def _announce_capacity(self, rt: Runtime) -> None:
        """Tell ingress now, not at the next periodic report."""
        if self.server is not None and rt.nc is not None and rt.nc.is_connected:
            with contextlib.suppress(Exception):
                await rt.nc.publish(subjects.BRIDGE_CAPACITY, codec.encode(self.server.capacity()))

    async def drain(self, rt: Runtime) -> None:
        assert self.server is not None
        try:
            # the drain starts first (it marks the server draining), then ingress hears it at once
            await asyncio.gather(self.server.drain(), self._announce_capacity(rt))
        finally:
            await self._tasks.close()
            if self.sink is not None:
                await self.sink.close()
            if self.twilio is not None:
                await self.twilio.close()
