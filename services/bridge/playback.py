"""Agent audio to Twilio: bounded lead, marks, heard position, an adaptive start-of-turn buffer.

Twilio plays what we send in order, at real time, and buffers the rest. Sending
everything at once would leave seconds of audio in Twilio's buffer (stale audio on
barge-in, a wrong idea of what the caller heard); sending at exactly real time stalls
whenever Gemini is slower than real time. So we keep Twilio ``lead_ms`` ahead:

* A batch (up to ``batch_frames``, 100 ms) goes out once Twilio holds no more than
  ``lead_ms`` minus a batch — at once when it holds nothing (a turn's first audio) — so
  agent audio that arrives at real time still leaves in full batches: every media
  message costs about the same whatever its size (a WebSocket send), and audio that
  would not play for another ``lead_ms`` minus a batch gains nothing from leaving earlier.

* ``play_clock`` estimates when Twilio's buffer runs dry; each batch sent pushes it by
  the batch's duration, and every mark echo re-anchors it (Twilio echoes a mark when the
  audio before it has played), so drift never accumulates.
* Playback running dry is measured, not guessed: a turn plays contiguously from its first
  frame, so every mark has a due time (turn start + its position). A mark echoed later
  than the previous one of its turn (or than the call's best echo, for the first) by more
  than ``UNDERRUN_SLACK_MS`` means Twilio's buffer ran dry for that long: an underrun.
* The start-of-turn buffer is adaptive: it starts at ``jitter_ms`` (0 by default: the first
  frame of a turn leaves at once), grows by each underrun's length up to ``jitter_max_ms``,
  and shrinks by a frame after ``DECAY_TURNS`` turns without one. While it is non-zero a
  new turn is held until that much audio is queued (or that long has passed, or the turn
  is complete).
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
UNDERRUN_SLACK_MS = 40.0  # echo-time noise (network, Twilio's scheduling) not counted as a gap
DECAY_TURNS = 5  # turns without an underrun before the start-of-turn buffer shrinks a frame
Send = Callable[[str], Awaitable[None]]


class Playback:
    def __init__(self, send: Send, stream_sid: str, *, lead_ms: float = 300.0, jitter_ms: float = 0.0,
                 jitter_max_ms: float = 100.0, batch_frames: int = 5, mark_ms: float = 200.0,
                 on_frames_sent: Callable[[int], None] | None = None,
                 on_turn_audio: Callable[[float], None] | None = None,
                 on_underrun: Callable[[float], None] | None = None, clock: Callable[[], float] = time.monotonic):
        self._send, self.stream_sid = send, stream_sid
        self.lead_s, self.batch = lead_ms / 1000, max(1, batch_frames)
        self._refill_s = max(0.0, self.lead_s - self.batch * FRAME_MS / 1000)  # Twilio's low-water mark
        self.jitter_ms = self.jitter_base_ms = jitter_ms
        self.jitter_max_ms = max(jitter_ms, jitter_max_ms)
        self.mark_ms = mark_ms
        self._marked_ms = 0.0  # position of the last mark sent
        self._on_frames_sent = on_frames_sent or (lambda n: None)
        self._on_turn_audio = on_turn_audio or (lambda held_s: None)
        self._on_underrun = on_underrun or (lambda gap_ms: None)
        self._clock = clock
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._names = (f"m{i}" for i in itertools.count(1))
        self._marks: dict[str, tuple[float, float, int]] = {}  # name -> (position, due, turn)
        self._stale: set[str] = set()
        self._holding_since: float | None = None
        self._turn_done = False
        self._anchor: float | None = None  # when position 0 would play if this turn had run contiguously
        self._turn = 0
        self._late_floor = float("inf")  # the call's earliest echo relative to due: network + Twilio
        self._last_late: tuple[int, float] = (-1, 0.0)
        self._clean_turns = 0
        self.sent_ms = 0.0
        self.acked_ms = 0.0
        self.play_clock = 0.0
        self.dropped_frames = 0
        self.underruns = 0
        self.underrun_ms = 0.0
        self.clears = 0
        self.closed = False

    # ------------------------------------------------------------------ inputs

    def enqueue(self, frames: list[bytes]) -> None:
        if not frames or self.closed:
            return
        if self._turn_start():
            self._holding_since = self._clock()
        self._turn_done = False  # new audio belongs to a turn the model has not finished
        self._queue.extend(frames)
        self._idle.clear()
        self._wake.set()

    def end_of_turn(self) -> None:
        """The model finished this turn: stop waiting for the start-of-turn buffer to fill."""
        self._turn_done = True
        if not self._queue:
            self._anchor = None
        self._wake.set()

    def on_mark(self, name: str) -> None:
        entry = self._marks.pop(name, None)
        if entry is None or name in self._stale:
            self._stale.discard(name)
            return
        position, due, turn = entry
        now = self._clock()
        self._check_underrun(turn, now - due)
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
        self._anchor = None
        self.clears += 1
        await self._send(wire.encode_clear(self.stream_sid))
        self._check_idle()
        return heard

    # ------------------------------------------------------------------ underruns

    def _check_underrun(self, turn: int, late_s: float) -> None:
        """``late_s``: echo time minus the mark's due time on its turn's contiguous timeline.
        It only grows within a turn when playback ran dry; the first mark of a turn is
        compared with the call's floor (constant network and Twilio delay)."""
        last_turn, last_late = self._last_late
        baseline = last_late if last_turn == turn else min(self._late_floor, late_s)
        self._late_floor = min(self._late_floor, late_s)
        gap_ms = (late_s - baseline) * 1000
        self._last_late = (turn, max(late_s, baseline))
        if gap_ms <= UNDERRUN_SLACK_MS:
            return
        self.underruns += 1
        self.underrun_ms += gap_ms
        self._clean_turns = 0
        grown = self.jitter_ms + -(-gap_ms // FRAME_MS) * FRAME_MS
        self.jitter_ms = min(self.jitter_max_ms, grown)
        self._on_underrun(gap_ms)

    def _new_turn_timeline(self, start: float) -> None:
        """The first batch of a turn: anchor its timeline; shrink the buffer after clean turns."""
        self._anchor = start - self.sent_ms / 1000
        self._turn += 1
        self._clean_turns += 1
        if self._clean_turns >= DECAY_TURNS and self.jitter_ms > self.jitter_base_ms:
            self.jitter_ms = max(self.jitter_base_ms, self.jitter_ms - FRAME_MS)
            self._clean_turns = 0

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
        """A new turn, with Twilio idle: the buffer may hold it. (Audio that resumes a turn
        after Twilio ran dry goes at once: holding it would only lengthen the gap.)"""
        return self._anchor is None and not self._queue and self.play_clock <= self._clock()

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
        return max(0.0, (self.play_clock - now) - self._refill_s)

    def _clock_wait(self) -> float:
        """No mark echo yet for the tail: wake when the clock says it has played."""
        remaining = self.play_clock + MARK_GRACE_S - self._clock()
        if remaining <= 0:
            self.acked_ms = self.sent_ms  # the clock vouches for it (marks may be lost)
            self._check_idle()
            return 0.05
        return remaining + 0.05

    async def _send_batch(self) -> None:
        held_since, self._holding_since = self._holding_since, None
        queue = self._queue
        n = min(self.batch, len(queue))
        payload = queue.popleft() if n == 1 else b"".join([queue.popleft() for _ in range(n)])
        now = self._clock()
        start = max(now, self.play_clock)
        if self._anchor is None:
            self._new_turn_timeline(start)
        self.sent_ms += n * FRAME_MS
        self.play_clock = start + n * FRAME_MS / 1000
        # a mark every ~mark_ms of audio, and after the last batch of a finished turn (the tail
        # is confirmed at once: heard position, drained()); the clock covers the audio between
        # marks, and a tail without a mark (model stalls mid-turn) after MARK_GRACE_S
        name = None
        turn_sent = not queue and self._turn_done
        if self.sent_ms - self._marked_ms >= self.mark_ms or turn_sent:
            name = next(self._names)
            self._marked_ms = self.sent_ms
            anchor = self._anchor
            assert anchor is not None  # set above, by _new_turn_timeline
            self._marks[name] = (self.sent_ms, anchor + self.sent_ms / 1000, self._turn)
        if turn_sent:
            self._anchor = None  # the next audio starts a new turn's timeline
        if held_since is not None:
            self._on_turn_audio(now - held_since)
        await self._send(wire.encode_media(self.stream_sid, payload))
        if name is not None:
            await self._send(wire.encode_mark(self.stream_sid, name))
        self._on_frames_sent(n)

    def close(self) -> None:
        self.closed = True
        self._wake.set()
