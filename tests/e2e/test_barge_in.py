"""Barge-in: the caller talks over the agent. Twilio's buffer is cleared at once, no stale
agent audio plays afterwards, and the transcript keeps only what the caller heard."""

from __future__ import annotations

from emulators.audio import pcm16_to_ulaw, speech_like

from .harness import World, agent_frames, call_id_of, scenario

LONG = ("Before anything else, please find the water shut-off valve under the kitchen sink, "
        "turn it clockwise until it stops, then put a towel under the pipe and tell me when that is done.")
ANSWER = "Of course, go ahead."


async def test_barge_in_clears_twilio_and_records_only_what_was_heard(world: World):
    sc = scenario({"say": LONG}, {"listen": "Sorry, one question."}, {"say": ANSWER})
    callee = {"steps": [{"say": "Sorry, one question.", "barge_in": 1.2}, {"pause": 0.1}], "max_duration_s": 12}
    latency_count = world.metrics.barge_in_latency._sum.get()
    call = await world.call(sc, callee, timeout=30)
    call_id = call_id_of(call)

    # a clear was sent, and it arrived while agent audio was still buffered at Twilio
    assert call.clears, "no clear on barge-in"
    clear = call.clears[0]
    assert clear["dropped_bytes"] > 0
    assert world.metrics.barge_in_latency._sum.get() > latency_count

    # nothing of the interrupted turn plays after the clear: silence until the next turn
    t_open = call.events("stream_open")[0].t
    tick = int((clear["t"] - t_open) / 0.02)
    frames = agent_frames(call.played_ulaw)
    assert not any(frames[tick + 3: tick + 40]), "stale agent audio after the clear"
    heard_ticks = sum(frames[:tick + 1])
    assert heard_ticks > 0 and any(frames[tick + 40:]), "the agent answered after the interruption"

    # only the heard part of the interrupted turn is in the transcript
    turns = [e for e in await world.events(call_id, "transcript.turn")]
    interrupted = [t for t in turns if t.interrupted]
    assert len(interrupted) == 1 and interrupted[0].role == "agent"
    heard_text = interrupted[0].text
    assert heard_text and LONG.startswith(heard_text) and len(heard_text) < len(LONG)
    full_ticks = sum(agent_frames(pcm16_to_ulaw(speech_like(LONG, 8000))))
    assert abs(len(heard_text) / len(LONG) - heard_ticks / full_ticks) < 0.2, (heard_text, heard_ticks, full_ticks)
    roles = [(t.role, t.text) for t in turns]
    assert ("caller", "Sorry, one question.") in roles and ("agent", ANSWER) in roles
    assert (("agent", LONG)) not in roles
