"""Caller frames during a live call are forwarded as aiohttp parses them (twilio_socket),
and Gemini still hears every frame of the utterance, in order."""

from __future__ import annotations

import asyncio

from .harness import World, scenario


async def test_a_live_call_forwards_caller_frames_from_the_parser(world: World):
    sc = scenario({"say": "Hello, Fixline here."}, {"listen": "My heater is broken."}, {"say": "Let me help."})
    callee = {"steps": [{"say": "My heater is broken.", "duration_s": 2.0}], "max_duration_s": 8}
    frames_in = world.metrics.frames_in.value
    sessions = len(world.gemini.sessions)
    call = await world.call(sc, callee, wait=False)
    while not world.bridge.service.server.calls:
        await asyncio.sleep(0.005)
    live = next(iter(world.bridge.service.server.calls.values()))
    await call.wait(20)
    await world.idle()
    sent = call.stream.seq.chunk
    assert world.metrics.frames_in.value - frames_in == sent
    assert live._tap is not None and live._tap.taken >= 0.8 * sent, (live._tap.taken, sent)
    assert live._tap.take is None  # the ended call is no longer handed frames
    session = world.gemini.sessions[sessions]
    heard = [turn.audio_s for turn in session.user_turns if turn.audio_s]
    assert len(heard) == 1 and abs(heard[0] - (2.0 + 0.5)) < 0.2  # the utterance and the VAD silence
