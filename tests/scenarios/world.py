"""The whole product on the emulators, in one process: the real ingress, bridge, tools and
outreach services on the session's NATS and PostgreSQL, the Twilio emulator as the phone
network, the Gemini emulator playing each call's agent (picked by the persona the bridge set
up, so a wrong persona plays the wrong script), the Calendar emulator for bookings."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import nats

from emulators.calendar import CalendarEmulator
from emulators.gemini import GeminiEmulator
from emulators.twilio import TwilioEmulator
from fixline.devstack import free_port
from services.bridge.app import BridgeService
from services.common import db
from services.ingress.app import IngressService
from services.outreach.app import OutreachService
from services.tools.app import ToolsService
from tests.support.bus import connect_as
from tests.support.services import RunningService, running, settings_for

AUTH_TOKEN = "scenario-auth-token"
MEDIA_SECRET = "scenario-media-secret"
PACE = {"response_delay_ms": 100, "chunk_ms": 40, "burst_ms": 200, "pace": 1.0}
KICKOFF = {"listen": {"transcript": "", "timeout_s": 3}}
PERSON_ON_DUTY = "+15550199000"  # transfer_to_human and the fallback reach this number
SILENT_HANG_UP = {"steps": [], "max_duration_s": 3}


def agent(*steps: dict) -> dict:
    """A scripted agent (Gemini) conversation; it first takes the bridge's kickoff text."""
    return {"name": f"scn-{uuid.uuid4().hex[:6]}", "timing": PACE, "steps": [KICKOFF, *steps]}


def role_of(setup) -> str:
    """The persona key of a Live session from what the bridge sent: guest, guest_callback,
    vendor:<id>, landlord, or voicemail (an answering machine answered)."""
    text = setup.system_instruction
    if "an answering machine picked up" in text:
        return "voicemail"
    found = re.search(r"- Who you are talking with: the (\w+)", text)
    role = found.group(1) if found else "unknown"
    if role == "vendor":
        vendor = re.search(r"- Vendor on this call: (\S+)", text)
        return f"vendor:{vendor.group(1) if vendor else ''}"
    if role == "guest" and "we are calling the guest back" in text:
        return "guest_callback"
    return role


@dataclasses.dataclass
class StoryWorld:
    gemini: GeminiEmulator
    twilio: TwilioEmulator
    calendar: CalendarEmulator
    services: dict[str, RunningService]
    pool: asyncpg.Pool
    nc: nats.aio.client.Client
    agents: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    sessions: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    restarted: list = dataclasses.field(default_factory=list)  # running() contexts of restarted services

    def select(self, setup) -> dict:
        """Gemini emulator selector: the next script queued for this persona."""
        role = role_of(setup)
        self.sessions.append((role, setup))
        queue = self.agents.get(role) or self.agents.get(role.split(":")[0]) or []
        if len(queue) > 1:
            return queue.pop(0)
        return queue[0] if queue else agent({"say": "Sorry, wrong number. Goodbye."},
                                            {"tool_call": {"name": "end_call", "args": {}}, "wait": True})

    @property
    def ingress_url(self) -> str:
        return self.services["ingress"].url


@contextlib.asynccontextmanager
async def story_world(database_url: str, nats_url: str) -> AsyncIterator[StoryWorld]:
    tag = uuid.uuid4().hex[:8]
    ingress_port, bridge_port = free_port(), free_port()
    world: StoryWorld | None = None
    async with contextlib.AsyncExitStack() as stack:
        gem = await stack.enter_async_context(GeminiEmulator(agent(), selector=lambda s: world.select(s)))
        tw = await stack.enter_async_context(TwilioEmulator(auth_token=AUTH_TOKEN, verb_time_scale=0.05))
        cal = await stack.enter_async_context(CalendarEmulator())
        cal.create_service_account(str(stack_dir(tag) / "service-account.json"))
        common = dict(nats_url=nats_url, database_url=database_url, twilio_auth_token=AUTH_TOKEN,
                      twilio_account_sid=tw.account_sid, twilio_api_base_url=tw.base_url,
                      media_token_secret=MEDIA_SECRET, public_base_url=f"http://127.0.0.1:{ingress_port}",
                      media_stream_url=f"ws://127.0.0.1:{bridge_port}/twilio/media", outbox_poll_interval_s=0.1,
                      gemini_api_key=gem.api_key, gemini_base_url=gem.base_url, gemini_ca_file=gem.ca_file)
        services: dict[str, RunningService] = {}
        services["tools"] = await stack.enter_async_context(running(ToolsService(), settings_for(
            "tools", **common, kb_embed_on_start=False, embedding_provider="local",
            google_application_credentials=cal.service_account_file,
            google_calendar_api_endpoint=cal.api_endpoint)))
        services["bridge"] = await stack.enter_async_context(running(BridgeService(), dataclasses.replace(
            settings_for("bridge", **common, bridge_tool_timeout_s=5.0,
                         fallback_transfer_number=PERSON_ON_DUTY), http_port=bridge_port)))
        services["ingress"] = await stack.enter_async_context(running(IngressService(), dataclasses.replace(
            settings_for("ingress", **common, stream_end_grace_s=1.0, stream_end_consumer=f"scn-se-{tag}"),
            http_port=ingress_port)))
        services["outreach"] = await stack.enter_async_context(running(OutreachService(), settings_for(
            "outreach", **common, gemini_api_version="v1beta", outreach_executor_id=f"scn-{tag}",
            outreach_trigger_consumer=f"scn-trig-{tag}", outreach_results_consumer=f"scn-res-{tag}",
            outreach_call_timeout_s=25.0, outreach_result_grace_s=1.5,
            outreach_retry_delay_s=2.0, outreach_callback_delay_s=2.0, outreach_callback_retry_delay_s=2.0)))
        pool = await db.create_pool(database_url, max_size=4)
        stack.push_async_callback(pool.close)
        nc = await connect_as("harness", nats_url)
        stack.push_async_callback(nc.close)
        world = StoryWorld(gem, tw, cal, services, pool, nc)
        stack.push_async_callback(_stop_restarted, world)
        for _ in range(200):
            if services["ingress"].service.capacity.snapshot().live_bridges > 0:
                break
            await asyncio.sleep(0.05)
        yield world


async def _stop_restarted(world: StoryWorld) -> None:
    for context in reversed(world.restarted):
        await context.__aexit__(None, None, None)


def stack_dir(tag: str):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.gettempdir()) / f"fixline-scenarios-{tag}"
    path.mkdir(parents=True, exist_ok=True)
    return path
