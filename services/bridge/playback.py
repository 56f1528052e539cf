"""Agent audio to Twilio: start-of-turn jitter buffer, bounded lead, marks, heard position.

Twilio plays what we send in order, at real time, and buffers the rest. Sending
everything at once would leave seconds of audio in Twilio's buffer (stale audio on
barge-in, a wrong idea of what the caller heard); sending at exactly real time stalls
whenever Gemini is slower than real time. So we keep Twilio ``lead_ms`` ahead:

* ``play_clock`` estimates when Twilio's buffer runs dry; each batch sent pushes it by
  the batch's duration, and every mark echo re-anchors it (Twilio echoes a mark when the
  audio before it has played), so drift never accumulates.
* A new turn is held until ``jitter_ms`` of audio is queued (or that long has passed, or
  the turn is complete), to absorb Gemini's bursty start.
* Positions are in ms of agent audio on the call's outbound timeline. ``heard_ms`` is
  what the caller has actually heard; after ``clear`` the echoes of cleared marks are
  ignored (Twilio echoes every pending mark on clear, played or not).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable

from .codecs import twilio as wire

FRAME_MS = 20.0
MARK_GRACE_S = 0.3  # how late a mark echo may be before the clock alone vouches for playback
Send = Callable[[str], Awaitable[None]]


class Playback:
    def __init__(self, send: Send, stream_sid: str, *, lead_ms: float = 300.0, jitter_ms: float = 100.0,
                 batch_frames: int = 5, mark_ms: float = 200.0, on_frames_sent: Callable[[int], None] | None = None,
                 on_turn_audio: Callable[[], None] | None = None, clock: Callable[[], float] = time.monotonic):
        self._send, self.stream_sid = send, stream_sid
        self.lead_s, self.jitter_ms, self.batch = lead_ms / 1000, jitter_ms, max(1, batch_frames)
        self.mark_ms = mark_ms
        self._marked_ms = 0.0  # position of the last mark sent
        self._on_frames_sent = on_frames_sent or (lambda n: None)
        self._on_turn_audio = on_turn_audio or (lambda: None)
        self._clock = clock
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._names = (f"m{i}" for i in itertools.count(1))
        self._marks: dict[str, float] = {}
        self._stale: set[str] = set()
        self._holding_since: float | None = None
        self._turn_done = False
        self.sent_ms = 0.0
        self.acked_ms = 0.0
        self.play_clock = 0.0
        self.dropped_frames = 0
        self.clears = 0
        self.closed = False

    # ------------------------------------------------------------------ inputs

    def enqueue(self, frames: list[bytes]) -> None:
        if not frames or self.closed:
            return
        if self._turn_start():
            self._holding_since = self._clock()
            self._turn_done = False
        self._queue.extend(frames)
        self._idle.clear()
        self._wake.set()

    def end_of_turn(self) -> None:
        """The model finished this turn: stop waiting for the jitter buffer to fill."""
        self._turn_done = True
        self._wake.set()

    def on_mark(self, name: str) -> None:
        position = self._marks.pop(name, None)
        if position is None or name in self._stale:
            self._stale.discard(name)
            return
        now = self._clock()
        self.acked_ms = max(self.acked_ms, position)
        self.play_clock = now + max(0.0, self.sent_ms - position) / 1000
        self._check_idle()
        self._wake.set()

    async def interrupt(self) -> float:
        """Barge-in: ``clear`` Twilio's buffer at once (even if ours is empty), drop what is
        queued, and return the position the caller heard up to."""
        heard = self.heard_ms()
        self.dropped_frames += len(self._queue)
        self._queue.clear()
        self._stale.update(self._marks)
        self._marks.clear()
        self.sent_ms = heard
        self.acked_ms = heard
        self._marked_ms = heard
        self.play_clock = self._clock()
        self._holding_since = None
        self.clears += 1
        await self._send(wire.encode_clear(self.stream_sid))
        self._check_idle()
        return heard

    # ------------------------------------------------------------------ state

    def heard_ms(self) -> float:
        """Best estimate of the audio played so far: confirmed by marks, refined by the clock."""
        buffered = max(0.0, self.play_clock - self._clock()) * 1000
        return max(self.acked_ms, min(self.sent_ms, self.sent_ms - buffered))

    @property
    def queued_ms(self) -> float:
        return len(self._queue) * FRAME_MS

    @property
    def timeline_end_ms(self) -> float:
        """Where the next enqueued frame will sit on the outbound timeline."""
        return self.sent_ms + self.queued_ms

    @property
    def speaking(self) -> bool:
        """Audio is queued here or still playing at Twilio."""
        return bool(self._queue) or self.play_clock > self._clock()

    async def drained(self, timeout: float | None = None) -> bool:
        """Wait until everything sent has played (confirmed by a mark, or by the clock when
        marks do not come back). Returns False on timeout."""
        if timeout is None:
            timeout = self.queued_ms / 1000 + max(0.0, self.play_clock - self._clock()) + 2.0
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    def _turn_start(self) -> bool:
        return not self._queue and self.play_clock <= self._clock()

    def _check_idle(self) -> None:
        if not self._queue and self.acked_ms >= self.sent_ms:
            self._idle.set()

    # ------------------------------------------------------------------ pacing loop

    async def run(self) -> None:
        """Send queued audio, keeping Twilio at most ``lead_ms`` ahead. Runs per call."""
        loop = asyncio.get_running_loop()
        while not self.closed:
            timeout = self._next_wait()
            if timeout is None or timeout > 0:
                self._wake.clear()
                # a timer that sets the event: no task per wait (asyncio.wait_for makes one)
                timer = loop.call_later(timeout, self._wake.set) if timeout is not None else None
                try:
                    await self._wake.wait()
                finally:
                    if timer is not None:
                        timer.cancel()
                continue
            await self._send_batch()

    def _next_wait(self) -> float | None:
        """Seconds until a batch may be sent (0 = now), None = nothing to send."""
        if not self._queue:
            return None if self.acked_ms >= self.sent_ms else self._clock_wait()
        now = self._clock()
        if self._holding_since is not None:
            held = (now - self._holding_since) * 1000
            if self.queued_ms < self.jitter_ms and held < self.jitter_ms and not self._turn_done:
                return (self.jitter_ms - held) / 1000
        return max(0.0, (self.play_clock - now) - self.lead_s)

    def _clock_wait(self) -> float:
        """No mark echo yet for the tail: wake when the clock says it has played."""
        remaining = self.play_clock + MARK_GRACE_S - self._clock()
        if remaining <= 0:
            self.acked_ms = self.sent_ms  # the clock vouches for it (marks may be lost)
            self._check_idle()
            return 0.05
        return remaining + 0.05

    async def _send_batch(self) -> None:
        first = self._holding_since is not None
        self._holding_since = None
        n = min(self.batch, len(self._queue))
        payload = b"".join(self._queue.popleft() for _ in range(n))
        now = self._clock()
        self.sent_ms += n * FRAME_MS
        self.play_clock = max(now, self.play_clock) + n * FRAME_MS / 1000
        # a mark every ~mark_ms of audio, and after the last batch of a finished turn (the tail
        # is confirmed at once: heard position, drained()); the clock covers the audio between
        # marks, and a tail without a mark (model stalls mid-turn) after MARK_GRACE_S
        name = None
        if self.sent_ms - self._marked_ms >= self.mark_ms or (not self._queue and self._turn_done):
            name = next(self._names)
            self._marks[name] = self._marked_ms = self.sent_ms
        if first:
            self._on_turn_audio()
        await self._send(wire.encode_media(self.stream_sid, payload))
        if name is not None:
            await self._send(wire.encode_mark(self.stream_sid, name))
        self._on_frames_sent(n)

    def close(self) -> None:
        self.closed = True
        self._wake.set()
