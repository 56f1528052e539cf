"""Playback pacing: bounded lead, start-of-turn jitter buffer, marks, clear on barge-in."""

from __future__ import annotations

import asyncio
import time

from services.bridge.codecs import twilio as wire
from services.bridge.playback import Playback

FRAME = b"\x7f" * 160


class Wire:
    """Collects what Playback sends, with arrival times."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, object]] = []
        self.t0 = time.monotonic()

    async def send(self, text: str) -> None:
        self.sent.append((time.monotonic() - self.t0, wire.decode_outbound(text)))

    def media_ms(self, until: float | None = None) -> float:
        return sum(len(m.media.payload) / 8 for t, m in self.sent
                   if isinstance(m, wire.OutboundMedia) and (until is None or t <= until))

    def marks(self) -> list[str]:
        return [m.mark.name for _, m in self.sent if isinstance(m, wire.OutboundMark)]


async def started(playback: Playback) -> asyncio.Task:
    task = asyncio.create_task(playback.run())
    await asyncio.sleep(0)
    return task


async def stop(playback: Playback, task: asyncio.Task) -> None:
    playback.close()
    await asyncio.wait_for(task, 1)


async def test_lead_stays_bounded_while_audio_arrives_in_one_burst():
    w = Wire()
    pb = Playback(w.send, "MZ1", lead_ms=200, jitter_ms=0, batch_frames=5)
    task = await started(pb)
    pb.enqueue([FRAME] * 100)  # 2 s of audio at once, as Gemini bursts
    for _ in range(6):
        await asyncio.sleep(0.1)
        elapsed_ms = (time.monotonic() - w.t0) * 1000
        assert w.media_ms() - elapsed_ms <= 200 + 100 + 30  # lead + one batch + scheduling slack
    assert w.media_ms() >= 600  # and it keeps up with real time
    await stop(pb, task)
    assert all(len(m.media.payload) % 160 == 0 for _, m in w.sent if isinstance(m, wire.OutboundMedia))


async def test_jitter_buffer_holds_the_start_of_a_turn():
    w = Wire()
    pb = Playback(w.send, "MZ1", lead_ms=300, jitter_ms=120)
    task = await started(pb)
    pb.enqueue([FRAME])
    await asyncio.sleep(0.06)
    assert w.media_ms() == 0  # held: less than the jitter buffer queued, not long enough
    pb.enqueue([FRAME] * 5)   # now 120 ms queued: released
    await asyncio.sleep(0.02)
    assert w.media_ms() == 120
    await stop(pb, task)


async def test_end_of_turn_releases_a_short_turn_at_once():
    w = Wire()
    pb = Playback(w.send, "MZ1", jitter_ms=500)
    task = await started(pb)
    pb.enqueue([FRAME] * 2)
    pb.end_of_turn()
    await asyncio.sleep(0.02)
    assert w.media_ms() == 40
    await stop(pb, task)


async def test_interrupt_clears_twilio_drops_the_queue_and_reports_what_was_heard():
    w = Wire()
    pb = Playback(w.send, "MZ1", lead_ms=200, jitter_ms=0)
    task = await started(pb)
    pb.enqueue([FRAME] * 100)
    await asyncio.sleep(0.3)
    heard = await pb.interrupt()
    assert 200 <= heard <= 400  # ~300 ms played at real time
    after_clear = len(w.sent)
    assert isinstance(w.sent[-1][1], wire.Clear)
    await asyncio.sleep(0.2)
    assert len(w.sent) == after_clear  # no stale audio after the clear
    assert pb.queued_ms == 0 and pb.dropped_frames > 0
    # Twilio echoes every pending mark on clear: those echoes do not move the position
    for name in w.marks():
        pb.on_mark(name)
    assert pb.heard_ms() <= heard + 1
    await stop(pb, task)


async def test_clear_is_sent_even_when_nothing_is_queued():
    w = Wire()
    pb = Playback(w.send, "MZ1")
    await pb.interrupt()
    assert [type(m) for _, m in w.sent] == [wire.Clear]


async def test_mark_echo_confirms_playback_and_drained_waits_for_it():
    w = Wire()
    pb = Playback(w.send, "MZ1", lead_ms=1000, jitter_ms=0)
    task = await started(pb)
    pb.enqueue([FRAME] * 10)
    pb.end_of_turn()
    await asyncio.sleep(0.02)
    assert w.media_ms() == 200
    waiter = asyncio.create_task(pb.drained(timeout=5))
    await asyncio.sleep(0.05)
    assert not waiter.done()  # 200 ms of audio cannot have played in 70 ms
    for name in w.marks():
        pb.on_mark(name)  # Twilio: played
    assert await asyncio.wait_for(waiter, 1) is True
    assert pb.heard_ms() == 200
    await stop(pb, task)
