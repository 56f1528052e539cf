"""What the caller heard of an interrupted turn, and transcript turns on JetStream."""

from __future__ import annotations

import asyncio

import nats

from fixline_proto import subjects
from fixline_proto.events import TranscriptTurn
from services.bridge.barge_in import AgentTurn, cut_text
from services.bridge.events_out import EventSink
from services.bridge.transcript import Transcript
from tests.support.bus import connect_as
from tests.support.events import stream_events


def test_cut_text_ends_on_a_word():
    text = "Please turn off the water at the main valve under the sink."
    assert cut_text(text, 1.0) == text
    assert cut_text(text, 0.0) == ""
    assert cut_text(text, 0.5) == "Please turn off the water at"
    assert cut_text("Hello", 0.5) == ""  # never half a word


def test_heard_text_follows_the_audio_position():
    turn = AgentTurn()
    turn.add_audio(timeline_end_ms=1000, ms=2000)  # turn starts 1 s into the call's agent audio
    turn.add_text("One two three four five six seven eight")
    assert turn.heard_text(1000) == ""
    assert turn.heard_text(2000) == "One two three four"
    assert turn.heard_text(5000) == "One two three four five six seven eight"


async def test_turns_are_published_once_with_deterministic_ids(nats_url, nc: nats.aio.client.Client):
    bridge_nc = await connect_as("bridge", nats_url)  # publishes with the bridge's own permissions
    sink = EventSink(bridge_nc)
    sink.start()
    call_id = "c-transcript-1"
    t = Transcript(call_id, "p1", sink)
    t.caller_text("My sink ", False)
    t.caller_text("is leaking.", True)
    t.agent_audio(0, 1000)
    t.agent_text("Let me look that up for you right now.")
    t.agent_interrupted(heard_ms=500)
    # a retried publish of the same turn (same Nats-Msg-Id) is stored once
    sink.emit(t.turns[0], f"{call_id}:1:caller")
    await sink.flush()
    got = [e for e in await stream_events(nc, subjects.event("p1", "transcript.turn"))
           if isinstance(e, TranscriptTurn) and e.call_id == call_id]
    await sink.close()
    await bridge_nc.close()
    assert [(e.turn, e.role, e.text, e.interrupted) for e in got] == [
        (1, "caller", "My sink is leaking.", False),
        (2, "agent", "Let me look that up", True),
    ]
    assert sink.failed == 0
    await asyncio.sleep(0)
