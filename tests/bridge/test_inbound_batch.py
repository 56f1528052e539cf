"""Caller audio to Gemini per frame by default; in batches when BRIDGE_INBOUND_BATCH_MS asks
for it (fewer messages, same order, nothing held back when something else must go out);
marks every ~200 ms."""

from __future__ import annotations

import asyncio

import pytest

from services.bridge.codecs import twilio as wire
from services.bridge.gemini_link import GeminiLink
from services.bridge.link_messages import CallerAudio, LinkState
from services.bridge.live_config import LiveOptions
from services.common.settings import Settings
from services.bridge.metrics import BridgeMetrics
from services.bridge.playback import Playback

F1, F2, F3 = b"\x01\x00" * 320, b"\x02\x00" * 320, b"\x03\x00" * 320


class Session:
    """The SDK session surface the link uses on its slow path."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    async def send_realtime_input(self, audio=None, text=None):
        self.sent.append(("audio", audio.data) if audio is not None else ("text", text))

    async def send_tool_response(self, function_responses):
        self.sent.append(("tool", function_responses[0]))


def live_link(batch_frames: int) -> tuple[GeminiLink, Session]:
    link = GeminiLink(None, "m", lambda h, r: None, None, BridgeMetrics(), mime_type="audio/pcm;rate=16000",
                      batch_frames=batch_frames, fast_path=False)
    session = Session()
    link.session, link.state = session, LinkState.LIVE
    return link, session


async def test_two_frames_per_message():
    link, session = live_link(2)
    await link.send_audio(F1)
    assert session.sent == []  # the first frame waits for its pair
    await link.send_audio(F2)
    await link.send_audio(F3)
    assert session.sent == [("audio", F1 + F2)]
    await link.flush_audio()
    assert session.sent == [("audio", F1 + F2), ("audio", F3)]


async def test_text_and_gate_flush_the_batch_first_in_order():
    link, session = live_link(2)
    await link.send_audio(F1)
    await link.send_text("DTMF 1#")
    assert session.sent == [("audio", F1), ("text", "DTMF 1#")]
    await link.send_audio(F2)
    await link._set_audio_gate(True)  # read before the gate closed: goes out as it would unbatched
    await link.send_audio(F3)
    await link.flush_audio()
    assert session.sent[-1] == ("audio", F2) and link._queue[0] == CallerAudio(F3)


async def test_a_lone_frame_waits_at_most_one_batch():
    link, session = live_link(2)
    await link.send_audio(F1)
    await asyncio.sleep(0.08)  # the stream paused: no second frame
    assert session.sent == [("audio", F1)]


async def test_batch_of_one_sends_every_frame_at_once():
    link, session = live_link(1)
    await link.send_audio(F1)
    assert session.sent == [("audio", F1)]


async def test_queued_batches_count_dropped_frames_not_messages():
    link, _ = live_link(2)
    link.state = LinkState.RECONNECTING
    link._queue_cap = 1
    await link.send_audio(F1)
    await link.send_audio(F2)
    await link.send_audio(F3)
    await link.send_audio(F1)  # a second 40 ms item: the oldest is dropped
    assert link.dropped_frames == 2


def test_batch_setting_defaults_to_every_frame(monkeypatch):
    monkeypatch.delenv("BRIDGE_INBOUND_BATCH_MS", raising=False)
    assert LiveOptions.from_settings(Settings.from_env("bridge")).inbound_batch_ms == 20
    monkeypatch.setenv("BRIDGE_INBOUND_BATCH_MS", "40")
    assert LiveOptions.from_settings(Settings.from_env("bridge")).inbound_batch_ms == 40
    monkeypatch.setenv("BRIDGE_INBOUND_BATCH_MS", "30")
    with pytest.raises(ValueError, match="multiple of 20"):
        LiveOptions.from_settings(Settings.from_env("bridge"))


async def _burst(mark_ms: float) -> tuple[list, Playback]:
    sent: list = []

    async def send(text: str) -> None:
        sent.append(wire.decode_outbound(text))

    pb = Playback(send, "MZ1", lead_ms=5000, jitter_ms=0, mark_ms=mark_ms)
    task = asyncio.create_task(pb.run())
    pb.enqueue([b"\x7f" * 160] * 50)  # 1 s
    pb.end_of_turn()
    await asyncio.sleep(0.05)
    pb.close()
    await asyncio.wait_for(task, 1)
    return sent, pb


async def test_a_mark_every_200ms_and_at_the_end_of_the_turn():
    sent, pb = await _burst(200)
    media = [m for m in sent if isinstance(m, wire.OutboundMedia)]
    marks = [m for m in sent if isinstance(m, wire.OutboundMark)]
    assert len(media) == 10 and len(marks) == 5
    assert [position for position, _, _ in pb._marks.values()] == [200, 400, 600, 800, 1000]  # the tail is marked
    for m in marks:
        pb.on_mark(m.mark.name)
    assert pb.heard_ms() == 1000 and pb._idle.is_set()


async def test_mark_ms_zero_marks_every_batch():
    sent, _ = await _burst(0)
    assert sum(isinstance(m, wire.OutboundMark) for m in sent) == 10
