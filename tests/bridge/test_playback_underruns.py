"""The start-of-turn buffer is adaptive: none by default, grown only when Twilio's mark
echoes show that playback ran dry (an underrun), shrunk again after clean turns."""

from __future__ import annotations

import asyncio

import pytest

from services.bridge.metrics import BridgeMetrics
from services.bridge.playback import DECAY_TURNS, Playback
from tests.bridge.test_playback import FRAME, Wire, started, stop

NETWORK_S = 0.03  # every echo arrives this long after its audio played: not an underrun


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def echo_last_mark(pb: Playback, w: Wire, clock: Clock, played_s: float) -> None:
    """Twilio plays ``played_s`` more audio, then its echo of the last mark arrives."""
    clock.t += played_s + NETWORK_S
    pb.on_mark(w.marks()[-1])
    await settle()


def playback(w: Wire, clock: Clock, **kwargs) -> Playback:
    return Playback(w.send, "MZ1", lead_ms=10_000, mark_ms=40, clock=clock, **kwargs)


async def test_first_audio_of_a_turn_leaves_at_once_by_default():
    w, clock = Wire(), Clock()
    pb = playback(w, clock)
    task = await started(pb)
    pb.enqueue([FRAME])  # one frame, the turn not finished: nothing to wait for
    await settle()
    assert w.media_ms() == 20 and pb.jitter_ms == 0
    await stop(pb, task)


async def test_marks_echoed_on_time_are_no_underrun():
    w, clock = Wire(), Clock()
    pb = playback(w, clock)
    task = await started(pb)
    for _ in range(3):  # a turn whose audio keeps Twilio's buffer fed
        pb.enqueue([FRAME] * 2)
        await settle()
        await echo_last_mark(pb, w, clock, played_s=0.04 - NETWORK_S)
    clock.t += NETWORK_S
    assert pb.underruns == 0 and pb.jitter_ms == 0
    await stop(pb, task)


async def test_a_late_echo_is_an_underrun_and_the_next_turn_is_buffered():
    w, clock, metrics = Wire(), Clock(), BridgeMetrics()
    pb = playback(w, clock, on_underrun=metrics.count_underrun)
    task = await started(pb)
    pb.enqueue([FRAME] * 2)  # 40 ms, due to play until t+0.04
    await settle()
    await echo_last_mark(pb, w, clock, played_s=0.04)
    clock.t += 0.09 - NETWORK_S  # Gemini is late: Twilio sat 90 ms with nothing to play
    pb.enqueue([FRAME] * 2)
    await settle()
    await echo_last_mark(pb, w, clock, played_s=0.04)
    assert pb.underruns == 1 and pb.underrun_ms == pytest.approx(90)
    assert metrics.underruns.value == 1 and metrics.underrun_seconds.value == pytest.approx(0.09)
    assert pb.jitter_ms == 100  # grown by the gap, in whole frames
    pb.enqueue([FRAME] * 2)  # the turn goes on: its later marks carry the same gap, counted once
    await settle()
    await echo_last_mark(pb, w, clock, played_s=0.04)
    assert pb.underruns == 1
    pb.end_of_turn()
    before = w.media_ms()
    pb.enqueue([FRAME])  # the next turn: held until 100 ms is queued
    await settle()
    assert w.media_ms() == before
    pb.enqueue([FRAME] * 4)
    await settle()
    assert w.media_ms() == before + 100
    await stop(pb, task)


async def test_the_buffer_never_grows_past_its_ceiling():
    w, clock = Wire(), Clock()
    pb = playback(w, clock, jitter_max_ms=60)
    task = await started(pb)
    pb.enqueue([FRAME] * 2)
    await settle()
    await echo_last_mark(pb, w, clock, played_s=0.04)
    clock.t += 0.5
    pb.enqueue([FRAME] * 2)
    await settle()
    await echo_last_mark(pb, w, clock, played_s=0.04)
    assert pb.underruns == 1 and pb.jitter_ms == 60
    await stop(pb, task)


async def test_clean_turns_shrink_the_buffer_back_a_frame_at_a_time():
    w, clock = Wire(), Clock()
    pb = playback(w, clock)
    pb.jitter_ms = 60  # as if an earlier underrun had grown it
    task = await started(pb)
    for _ in range(DECAY_TURNS + 1):
        pb.enqueue([FRAME] * 2)
        pb.end_of_turn()
        await settle()
        await echo_last_mark(pb, w, clock, played_s=0.04)
        clock.t += 1.0  # silence between turns is not an underrun
    assert pb.underruns == 0 and pb.jitter_ms == 40
    await stop(pb, task)


async def test_echoes_of_cleared_marks_are_not_underruns():
    w, clock = Wire(), Clock()
    pb = playback(w, clock)
    task = await started(pb)
    pb.enqueue([FRAME] * 10)
    await settle()
    await echo_last_mark(pb, w, clock, played_s=0.2)
    pb.enqueue([FRAME] * 10)
    await settle()
    await pb.interrupt()
    clock.t += 1.0  # Twilio echoes every pending mark on clear, late or not
    for name in w.marks():
        pb.on_mark(name)
    assert pb.underruns == 0 and pb.jitter_ms == 0
    await stop(pb, task)


async def test_audio_arriving_at_real_time_leaves_in_full_batches():
    w, clock = Wire(), Clock()
    pb = Playback(w.send, "MZ1", lead_ms=300, batch_frames=5, clock=clock)
    task = await started(pb)
    pb.enqueue([FRAME] * 15)  # Gemini's 300 ms burst: goes at once, Twilio now holds 300 ms
    await settle()
    for _ in range(40):  # then 800 ms at real time: a frame every 20 ms
        clock.t += 0.02
        pb.enqueue([FRAME])
        await settle()
    sizes = [len(m.media.payload) // 160 for _, m in w.sent if hasattr(m, "media")]
    assert sum(sizes) >= 15 + 35 and set(sizes) == {5}  # never a message for one frame
    await stop(pb, task)
