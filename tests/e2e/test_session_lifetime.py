"""Gemini session lifetime mid-call: goAway handover, 1011 recovery, and the apology when
Gemini cannot be recovered. The caller never loses a word and is never greeted twice."""

from __future__ import annotations

import asyncio

from services.bridge.fallback import prompt_frames

from .harness import GUEST_NUMBER, World, agent_frames, call_id_of, scenario

GREETING = "Hello, Fixline here."


def sessions_of(world: World, sc: dict) -> list:
    return [s for s in world.gemini.sessions if s.state.scenario.name == sc["name"]]


async def agent_turns(world: World, call_id: str) -> list[str]:
    return [t.text for t in await world.events(call_id, "transcript.turn") if t.role == "agent"]


async def test_go_away_hands_over_mid_utterance_without_losing_caller_audio(world: World):
    # goAway lands while the caller is talking; the deadline forces the handover mid-utterance
    sc = scenario({"say": GREETING}, {"listen": "There is water all over the bathroom floor."},
                  {"say": "Please turn off the main water valve."}, go_away_after_s=3.0, go_away_time_left_s=1.0)
    callee = {"steps": [{"say": "There is water all over the bathroom floor.", "duration_s": 2.5}],
              "max_duration_s": 10}
    handovers = world.metrics.handovers.labels("ok")._value.get()
    frames_in = world.metrics.frames_in.value
    call = await world.call(sc, callee, timeout=20)

    first, second = sessions_of(world, sc)[:2]
    assert second.state is first.state, "the new session resumed the same conversation"
    assert world.metrics.handovers.labels("ok")._value.get() >= handovers + 1  # each connection ages
    assert first.close_code is None, "handed over before Gemini's deadline close"
    # every caller frame reached the bridge, none dropped, and the resumed session heard the
    # whole utterance (replayed from the last resumable handle) followed by the VAD silence
    assert world.metrics.frames_in.value - frames_in == call.stream.seq.chunk
    assert world.metrics.frames_dropped.labels("in", "gemini_unavailable")._value.get() == 0
    assert second.user_turns and abs(second.user_turns[0].audio_s - (2.5 + 0.5)) < 0.2
    said = await agent_turns(world, call_id_of(call))
    assert said == [GREETING, "Please turn off the main water valve."]  # answered, never re-greeted


async def test_1011_mid_call_reconnects_with_the_handle_and_carries_on(world: World):
    sc = scenario({"say": GREETING}, {"listen": "My heater is broken."}, {"say": "Let me help with the heater."})
    callee = {"steps": [{"say": "My heater is broken.", "at": 3.0}], "max_duration_s": 8}
    before = world.metrics.reconnects.labels("1011")._value.get()
    call = await world.call(sc, callee, wait=False)
    session = await world.gemini.wait_for_session(len(world.gemini.sessions) + 1)
    while not any(h.get("text") == GREETING for h in session.state.history) or session.kinds().count(
            "sessionResumptionUpdate") == 0:
        await asyncio.sleep(0.02)
    await session.close(1011, "Internal error encountered.")  # a server fault between turns
    await call.wait(20)
    await world.idle()
    assert world.metrics.reconnects.labels("1011")._value.get() == before + 1
    resumed = sessions_of(world, sc)
    assert len(resumed) == 2 and resumed[1].state is resumed[0].state
    said = await agent_turns(world, call_id_of(call))
    assert said == [GREETING, "Let me help with the heater."]


async def test_unrecoverable_gemini_plays_a_real_apology_then_hangs_up(world: World):
    sc = scenario({"close": {"code": 1007, "reason": "Request contains an invalid argument."}})
    call = await world.call(sc, {"steps": [], "max_duration_s": 20}, timeout=25)
    apology = b"".join(prompt_frames("callback"))
    # the caller heard the whole pre-rendered apology (real speech, not silence)...
    assert call.stream.received_audio == apology
    assert sum(agent_frames(call.played_ulaw)) == sum(agent_frames(apology)) > 100
    # ...then the bridge hung up through the REST API
    assert any(r[2].get("Status") == "completed" for r in world.twilio.rest_requests if "Calls/" in r[1])
    events = await world.events(call_id_of(call))
    ended = [e for e in events if e.__struct_config__.tag == "call.outcome"]
    assert ended and ended[0].outcome == "agent_unavailable_callback"
    # the recorded apology says "we will call you back": the system records that promise, once
    promised = [e for e in events if e.__struct_config__.tag == "callback.promised"]
    assert [(p.reason, p.to_number, p.call_type) for p in promised] == [("agent_unavailable", GUEST_NUMBER, "guest")]
    assert any(e.role == "system" and "unavailable" in e.text for e in events
               if e.__struct_config__.tag == "transcript.turn")
