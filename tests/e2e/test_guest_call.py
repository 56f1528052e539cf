"""A whole inbound guest call: carrier -> ingress -> bridge -> Gemini (SDK) -> tools (NATS)
-> PostgreSQL, and back to the caller's ear; hang-up only after the goodbye has played."""

from __future__ import annotations

import wave

from emulators.audio import speech_like

from .harness import World, agent_frames, call_id_of, scenario

GREETING = "Hi, this is Fixline maintenance. How can I help?"
CONFIRM = "I have logged the leak and a plumber will call you."
GOODBYE = "Thanks for calling, take care and goodbye."


def seconds(text: str) -> float:
    return len(speech_like(text, 24000)) / 24000


async def test_guest_call_creates_the_incident_and_the_caller_hears_the_agent(world: World):
    sc = scenario(
        {"say": GREETING},
        {"listen": "My kitchen sink is leaking."},
        {"tool_call": {"name": "create_incident", "args": {
            "category": "plumbing", "severity": "high",
            "description": "Kitchen sink leaking under the cabinet."}}, "wait": True},
        {"say": CONFIRM},
        {"listen": "Thanks, bye."},
        {"say": GOODBYE},
        {"tool_call": {"name": "end_call", "args": {"reason": "resolved"}}, "wait": True},
    )
    callee = {"steps": [{"say": "My kitchen sink is leaking."}, {"say": "Thanks, bye."}], "max_duration_s": 40}
    call = await world.call(sc, callee, timeout=40)
    call_id = call_id_of(call)

    # the tool call reached the real tools service and landed in PostgreSQL, with our ids
    row = await world.pool.fetchrow("SELECT property_id, category, severity, description FROM incidents"
                                    " WHERE call_id = $1", call_id)
    assert row is not None and dict(row) == {"property_id": "p1", "category": "plumbing", "severity": "high",
                                             "description": "Kitchen sink leaking under the cabinet."}
    session = world.gemini.sessions[-1]
    answer = next(r for r in session.tool_responses if r["name"] == "create_incident")
    assert answer["response"]["output"]["status"] == "open"

    # the caller's recording is valid 8 kHz μ-law audio holding all of the agent's speech
    with wave.open(call.save_wav(), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
    heard_s = sum(agent_frames(call.played_ulaw)) * 0.02
    spoken_s = seconds(GREETING) + seconds(CONFIRM) + seconds(GOODBYE)
    assert abs(heard_s - spoken_s) < 0.25 * spoken_s, (heard_s, spoken_s)
    assert len(call.stream.received_audio) % 160 == 0 and not call.stream.protocol_errors

    # the goodbye played in full before the REST hang-up; Twilio then ended the call
    hangups = [r for r in world.twilio.rest_requests if "Calls/" in r[1]]
    assert hangups and hangups[-1][2].get("Status") == "completed"
    assert call.status == "completed"
    assert call.clears == []  # nobody interrupted anybody

    # transcript + lifecycle events on JetStream, deterministic ids, in order
    everything = await world.events(call_id)
    assert "call.started" in [e.__struct_config__.tag for e in everything]  # ingress's
    events = [e for e in everything if e.__struct_config__.tag in ("transcript.turn", "call.outcome")]
    kinds = [e.__struct_config__.tag for e in events]
    assert kinds[-1] == "call.outcome" and kinds.count("call.outcome") == 1
    turns = [(e.role, e.text) for e in events if e.__struct_config__.tag == "transcript.turn"]
    assert turns[:3] == [("agent", GREETING), ("caller", "My kitchen sink is leaking."), ("agent", CONFIRM)]
    assert ("caller", "Thanks, bye.") in turns
    assert ("agent", GREETING) in turns and ("agent", GOODBYE) in turns
    assert events[-1].outcome == "agent_hangup" and events[-1].barge_ins == 0
    assert [e.turn for e in events if e.__struct_config__.tag == "transcript.turn"] == list(
        range(1, len(turns) + 1))


async def test_end_call_hangs_up_only_after_a_long_goodbye_has_played(world: World):
    long_goodbye = "Thank you so much for calling Fixline today, we really appreciate it, goodbye now."
    sc = scenario({"say": long_goodbye},
                  {"tool_call": {"name": "end_call", "args": {}}, "wait": True})
    call = await world.call(sc, {"steps": [], "max_duration_s": 30}, timeout=30)
    frames = agent_frames(call.played_ulaw)
    sent = call.stream.received_audio
    assert len(sent) / 8000 >= seconds(long_goodbye) - 0.05  # the whole goodbye was sent...
    assert sum(frames) == sum(agent_frames(sent)), "the goodbye was cut off"  # ...and all of it played
    # the line went down after the last agent frame played, not before
    last_agent_tick = max(i for i, f in enumerate(frames) if f)
    assert len(frames) > last_agent_tick + 1
    echoed = call.marks_echoed
    assert echoed and set(echoed) == set(call.stream.marks_received)  # every mark played out
    events = await world.events(call_id_of(call), "call.outcome")
    assert events and events[0].outcome == "agent_hangup"
