"""Warm hand-off through the real ingress, bridge and the Twilio emulator (the bridge's TwiML is
the twilio SDK's ``<Dial action><Number url>``): the person picking up hears a one-line whisper
before the caller is bridged; when nobody answers, the caller is back with the agent on a fresh
stream, told the manager did not answer, and the agent's call-back is promised. The incident's
events show each stage."""

from __future__ import annotations

import re

import pytest

from .harness import World, call_id_of, scenario, world_running

MANAGER = "+15550008888"
CALLER = {"steps": [], "max_duration_s": 30}


@pytest.fixture(scope="module")
async def handoff_world(e2e_database, nats_url):
    async with world_running(e2e_database, nats_url, fallback_transfer_number=MANAGER) as w:
        yield w


def transfer(reason: str) -> dict:
    return scenario({"say": "Let me get you the manager."},
                    {"tool_call": {"name": "transfer_to_human", "args": {"reason": reason}}, "wait": True})


async def stages(world: World, call_id: str) -> list[str]:
    return [e.stage for e in await world.events(call_id, "call.handoff")]


async def test_answered_handoff_whispers_the_summary_then_bridges(handoff_world: World):
    world = handoff_world
    world.twilio.set_callee(MANAGER, {"dialled": "answer"})
    call = await world.call(transfer("boiler is out, door code 4471, call me on 555 123 4567"), CALLER,
                            timeout=30)
    call_id = call_id_of(call)
    whisper = [e.detail["text"] for e in call.events("dial_whisper")]
    assert len(whisper) == 1 and whisper[0].startswith("Fixline transfer: a guest at ")
    assert "boiler is out" in whisper[0]
    assert not re.search(r"\d{3}", whisper[0]) and "4471" not in whisper[0], whisper[0]
    kinds = [e.kind for e in call.timeline]
    assert kinds.index("dial_whisper") < kinds.index("dial_bridged"), "the whisper plays before the bridge"
    assert [e.detail["status"] for e in call.events("dial_result")] == ["completed"]
    assert len(call.streams) == 1, "an answered hand-off never comes back to the agent"
    await world.ingress.service._relay.publish_pending()
    assert await stages(world, call_id) == ["requested", "answered", "completed"]
    requested = (await world.events(call_id, "call.handoff"))[0]
    assert requested.to_number == MANAGER and requested.summary == whisper[0]
    assert (await world.events(call_id, "call.outcome"))[0].outcome == "transferred"


async def test_unanswered_handoff_returns_to_the_agent_which_promises_a_call_back(handoff_world: World):
    world = handoff_world
    world.twilio.set_callee(MANAGER, {"dialled": "no-answer"})
    sessions = len(world.gemini.sessions)
    world.gemini.queue_scenario(transfer("wants a person"))
    back = scenario({"say": "Sorry, the manager did not pick up. I will have the team call you back."},
                    {"tool_call": {"name": "schedule_callback", "args": {"reason": "manager did not answer"}},
                     "wait": True},
                    {"say": "Done. Goodbye."}, {"tool_call": {"name": "end_call", "args": {}}, "wait": True})
    call = await world.call(back, CALLER, timeout=40)
    call_id = call_id_of(call)
    assert [e.detail["status"] for e in call.events("dial_result")] == ["no-answer"]
    assert not call.events("dial_whisper") and not call.events("dial_bridged")
    assert len(call.streams) == 2, "the caller went back to the agent on a second stream"
    returned = world.gemini.sessions[sessions + 1].cfg.system_instruction
    assert "did not answer (no-answer)" in returned and "schedule_callback" in returned
    await world.ingress.service._relay.publish_pending()
    assert await stages(world, call_id) == ["requested", "unanswered"]
    unanswered = (await world.events(call_id, "call.handoff"))[1]
    assert unanswered.dial_status == "no-answer" and unanswered.to_number == MANAGER
    promised = await world.events(call_id, "callback.promised")
    assert [p.reason for p in promised] == ["agent_request"]
    outcomes = [o.outcome for o in await world.events(call_id, "call.outcome")]
    assert outcomes == ["transferred", "agent_hangup"], "each stream reports its own outcome"
    turns = [t.turn for t in await world.events(call_id, "transcript.turn")]
    assert len(turns) == len(set(turns)) and max(turns) > 1000, "the second stream's turns are its own"
