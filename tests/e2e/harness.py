"""End-to-end: the Twilio emulator (carrier) calls the real ingress, which hands the media
stream to the real bridge; the bridge talks to the Gemini emulator through the real
google-genai SDK; tool calls go over real NATS to the real tools service and land in real
PostgreSQL; call control goes to the Twilio emulator's REST API through the twilio SDK.

One world per module (emulators + tools + ingress + bridge on fixed ports); each test
queues the Gemini scenario for its call and gives the callee its script.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import nats

from emulators.gemini import GeminiEmulator
from emulators.twilio import Call as TwilioCall
from emulators.twilio import TwilioEmulator
from fixline.devstack import free_port
from fixline_proto import subjects
from services.bridge.app import BridgeService
from services.common import db
from services.ingress.app import IngressService
from services.tools.app import ToolsService
from tests.support.bus import connect_as
from tests.support.events import stream_events
from tests.support.services import RunningService, running, settings_for

AUTH_TOKEN = "e2e-auth-token"
MEDIA_SECRET = "e2e-media-secret"
API_KEY = "test-key"
P1_NUMBER = "+15550100001"
GUEST_NUMBER = "+15557654321"
PACE = {"response_delay_ms": 150, "chunk_ms": 40, "burst_ms": 200, "pace": 1.0}
KICKOFF = {"listen": {"transcript": "", "timeout_s": 3}}


def scenario(*steps: dict, timing: dict | None = None, **extra: Any) -> dict:
    """A Gemini scenario that first consumes the bridge's kickoff text."""
    return {"name": f"e2e-{uuid.uuid4().hex[:6]}", "timing": timing or PACE, "steps": [KICKOFF, *steps], **extra}


@dataclasses.dataclass
class World:
    gemini: GeminiEmulator
    twilio: TwilioEmulator
    bridge: RunningService
    ingress: RunningService
    tools: RunningService
    pool: asyncpg.Pool
    nc: nats.aio.client.Client
    bridge_port: int

    @property
    def metrics(self):
        return self.bridge.service.metrics

    async def call(self, gemini_scenario: dict, callee: dict | list, timeout: float = 30.0,
                   wait: bool = True) -> TwilioCall:
        self.gemini.queue_scenario(gemini_scenario)
        call = await self.twilio.place_inbound_call(to=P1_NUMBER, from_=GUEST_NUMBER,
                                                    voice_url=f"{self.ingress.url}/twilio/voice",
                                                    callee_script=callee)
        if wait:
            await call.wait(timeout)
            await self.idle()
        return call

    async def idle(self, timeout: float = 10.0) -> None:
        """Until the bridge holds no call (its CallOutcome is published)."""
        server = self.bridge.service.server
        deadline = asyncio.get_running_loop().time() + timeout
        while server.active:
            assert asyncio.get_running_loop().time() < deadline, "bridge still holds calls"
            await asyncio.sleep(0.05)
        await self.bridge.service.sink.flush()

    async def events(self, call_id: str, kind: str | None = None) -> list:
        """This call's events on JetStream, in stream order."""
        events = await stream_events(self.nc, subjects.event("p1", ">"))
        return [e for e in events if getattr(e, "call_id", None) == call_id
                and (kind is None or e.__struct_config__.tag == kind)]


def call_id_of(call: TwilioCall) -> str:
    return call.streams[0].custom_parameters["call_id"]


def agent_frames(played_ulaw: bytes) -> list[bool]:
    """Per 20 ms frame: did the caller hear agent audio (not μ-law silence)?"""
    return [any(b not in (0xFF, 0x7F) for b in played_ulaw[i:i + 160]) for i in range(0, len(played_ulaw), 160)]


@contextlib.asynccontextmanager
async def world_running(database_url: str, nats_url: str, ingress_overrides: dict[str, Any] | None = None,
                        **bridge_overrides: Any) -> AsyncIterator[World]:
    ingress_port, bridge_port = free_port(), free_port()
    async with contextlib.AsyncExitStack() as stack:
        gem = await stack.enter_async_context(GeminiEmulator(scenario(), api_key=API_KEY))
        tw = await stack.enter_async_context(TwilioEmulator(auth_token=AUTH_TOKEN, verb_time_scale=0.05))
        common = dict(nats_url=nats_url, database_url=database_url, twilio_auth_token=AUTH_TOKEN,
                      twilio_account_sid=tw.account_sid, twilio_api_base_url=tw.base_url,
                      media_token_secret=MEDIA_SECRET, public_base_url=f"http://127.0.0.1:{ingress_port}",
                      media_stream_url=f"ws://127.0.0.1:{bridge_port}/twilio/media", outbox_poll_interval_s=0.2)
        tools = await stack.enter_async_context(
            running(ToolsService(), settings_for("tools", **common, kb_embed_on_start=False)))
        bridge_settings = settings_for("bridge", **common, gemini_api_key=API_KEY, gemini_base_url=gem.base_url,
                                       gemini_ca_file=gem.ca_file, **{"bridge_tool_timeout_s": 2.0,
                                                                      **bridge_overrides})
        bridge = await stack.enter_async_context(
            running(BridgeService(), dataclasses.replace(bridge_settings, http_port=bridge_port)))
        ingress = await stack.enter_async_context(
            running(IngressService(), dataclasses.replace(
                settings_for("ingress", **common, **(ingress_overrides or {})), http_port=ingress_port)))
        pool = await db.create_pool(database_url, max_size=3)
        stack.push_async_callback(pool.close)
        nc = await connect_as("harness", nats_url)
        stack.push_async_callback(nc.close)
        await _until(lambda: ingress.service.capacity.snapshot().live_bridges > 0, "ingress sees the bridge")
        yield World(gem, tw, bridge, ingress, tools, pool, nc, bridge_port)
        assert gem.errors == [] and tw.errors == [], (gem.errors, tw.errors)


async def _until(predicate, what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)
