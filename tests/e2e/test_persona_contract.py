"""What the model receives, per call type, through the real ingress and bridge: asserted from
the Gemini emulator's recorded setup (system instruction, voice, language, tool set). Forcing
another voice, dropping the property lines from the context or giving every call type the
guest persona each fails a test here."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from fixline_proto import encode, subjects
from fixline_proto.commands import DialCall
from tests.tools.call_rows import insert_call

from .harness import World, scenario, world_running

VOICE = "Charon"          # README: GEMINI_VOICE default (calm, professional)
LANGUAGE = "en-GB"        # set for this world, to prove GEMINI_LANGUAGE_CODE reaches the model
PLACE = ("Seaside Cottage", "12 Gull Lane", "America/Los_Angeles")
HANG_UP = scenario({"say": "Hello from Fixline. Goodbye."},
                   {"tool_call": {"name": "end_call", "args": {"reason": "contract test"}}, "wait": True})
PERSONA_OPENINGS = {
    "guest": "You are talking with a guest staying at the property.",
    "vendor": "You are calling a maintenance vendor",
    "landlord": "You are calling the owner (landlord) of the property",
}
TOOLS = {
    "guest": {"search_maintenance", "create_incident", "end_call", "transfer_to_human", "schedule_callback"},
    "vendor": {"record_quote", "search_maintenance", "get_vendor_code", "end_call", "transfer_to_human"},
    "landlord": {"record_decision", "end_call", "transfer_to_human"},
}


@pytest.fixture(scope="module")
async def world(e2e_database, nats_url) -> AsyncIterator[World]:
    async with world_running(e2e_database, nats_url, gemini_language_code=LANGUAGE,
                             ingress_overrides={"stream_end_consumer": f"se-{uuid.uuid4().hex[:8]}"}) as w:
        yield w


async def _incident(world: World) -> str:
    """Reported on a guest call (its row, as ingress writes it): call tools act for a call."""
    call_id = await insert_call(world.pool, property_id="p1")
    request = {"tool": "create_incident", "property_id": "p1", "category": "plumbing", "severity": "medium",
               "description": f"Kitchen sink leaking {uuid.uuid4().hex[:6]}", "needs_professional": False,
               "call_id": call_id}
    reply = await world.nc.request(subjects.tool("create_incident"), msgspec.json.encode(request), timeout=10)
    return msgspec.json.decode(reply.data)["incident_id"]


async def _outbound(world: World, call_type: str, to: str, briefing: str, vendor_id: str | None = None,
                    answered_by: str = "human"):
    """Dial as outreach does (DialCall on calls.dial); returns the Gemini session of the call."""
    world.twilio.set_callee(to, {"answered_by": answered_by, "steps": [], "max_duration_s": 15})
    world.gemini.queue_scenario(HANG_UP)
    before = len(world.gemini.sessions)
    dial = DialCall(call_id=f"pc-{uuid.uuid4().hex[:12]}", call_type=call_type, property_id="p1", to_number=to,
                    incident_id=await _incident(world), vendor_id=vendor_id, briefing=briefing)
    await world.nc.jetstream().publish(subjects.CALLS_DIAL, encode(dial), headers={"Nats-Msg-Id": dial.call_id})
    session = await world.gemini.wait_for_session(before + 1, timeout=20)
    await world.idle(20)
    return session.cfg, dial


def _assert_common(cfg, call_type: str) -> None:
    text = cfg.system_instruction
    assert text.startswith(PERSONA_OPENINGS[call_type]), text[:120]
    for other, opening in PERSONA_OPENINGS.items():
        assert other == call_type or opening not in text
    for fact in PLACE:
        assert fact in text, f"{fact!r} missing from the {call_type} instruction"
    assert f"- Who you are talking with: the {call_type}" in text
    assert (cfg.voice, cfg.language_code) == (VOICE, LANGUAGE)
    assert set(cfg.tools) == TOOLS[call_type]


async def test_inbound_guest_call(world: World):
    before = len(world.gemini.sessions)
    await world.call(HANG_UP, {"steps": [], "max_duration_s": 15}, timeout=20)
    cfg = world.gemini.sessions[before].cfg
    _assert_common(cfg, "guest")
    assert "- This call: the guest phoned the maintenance line" in cfg.system_instruction
    assert "Briefing:" not in cfg.system_instruction
    required = set(cfg.tools["create_incident"]["parameters"]["required"])
    assert {"needs_professional", "urgency"} <= required


async def test_vendor_quote_call(world: World):
    briefing = "You are calling Tideline Plumbing for a plumbing repair quote (urgent: someone is needed today)."
    cfg, _ = await _outbound(world, "vendor", "+15550201001", briefing, vendor_id="v-plumb-1")
    _assert_common(cfg, "vendor")
    assert f"- Briefing: {briefing}" in cfg.system_instruction
    assert "- This call: we are calling the vendor for a quote" in cfg.system_instruction
    assert "- Vendor on this call: v-plumb-1" in cfg.system_instruction
    # the vendor and incident are the system's: the model cannot choose them
    assert "vendor_id" not in cfg.tools["record_quote"]["parameters"]["properties"]
    assert "incident_id" not in cfg.tools["record_quote"]["parameters"]["properties"]


async def test_landlord_decision_call(world: World):
    briefing = "Quotes: Tideline Plumbing 240.00 USD. Recommendation: Tideline Plumbing (vendor_id v-plumb-1)."
    cfg, _ = await _outbound(world, "landlord", "+15550109001", briefing, vendor_id="v-plumb-1")
    _assert_common(cfg, "landlord")
    assert f"- Briefing: {briefing}" in cfg.system_instruction
    assert "- This call: we are calling the owner for a decision" in cfg.system_instruction
    assert "- Recommended vendor: v-plumb-1" in cfg.system_instruction


async def test_guest_call_back_carries_the_briefing(world: World):
    briefing = "The repair is booked: Tideline Plumbing will come on Monday 7 December 2026, 10:00."
    cfg, _ = await _outbound(world, "guest", "+15557654321", briefing)
    _assert_common(cfg, "guest")
    assert f"- Briefing: {briefing}" in cfg.system_instruction
    assert "- This call: we are calling the guest back; the briefing says why" in cfg.system_instruction


async def test_an_answering_machine_gets_a_voicemail_instruction(world: World):
    cfg, _ = await _outbound(world, "vendor", "+15550201002", "A plumbing quote.", vendor_id="v-plumb-2",
                             answered_by="machine_end_beep")
    _assert_common(cfg, "vendor")
    line = next(li for li in cfg.system_instruction.splitlines() if li.startswith("- This call:"))
    assert "answering machine" in line and "voicemail" in line and "+15550100001" in line  # the number to call back
