"""One call's link to Gemini Live: connect, resume, hand over on goAway, reconnect, replay.

The link outlives any single WebSocket. Everything the call sends (caller audio, tool
responses, text) goes through ``send_*``: straight to the live session, or into a queue
while there is none (connecting, handing over, reconnecting), replayed in order once a
session is up. Nothing the caller said since the last *resumable* handle is lost: that
audio is kept (bounded) and replayed into the resumed session, which restarts from the
handle's state.

Close codes (spec §10): 1007 fatal; 1008 configuration error (logged loudly, fatal);
1000/1001/1006/1011/1012/1013 and transport errors are retried with backoff (1011 quota
with a longer one). When no session can be had, the handler's ``on_fatal`` runs (the
call's apology fallback) — the caller never gets dead air.

The model's function calls are handled here and only here: their ids are remembered for
replay, the caller's audio is held while a BLOCKING model waits for answers
(``gate_during_tools``; such models close with 1008 on audio meanwhile) and let through
again once every call is answered or cancelled; the handler runs the tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Callable

import websockets.exceptions
from google import genai
from google.genai import errors, types
from google.genai.live import AsyncSession

from services.common.tasks import TaskSet, cancel_and_wait

from . import live_fast
from .link_messages import CallerAudio, CallerText, LinkHandler, LinkState, Outgoing, ToolAnswer, parse_duration
from .live_fast import AudioChunk
from .metrics import BridgeMetrics
from .usage import LiveUsage

log = logging.getLogger(__name__)

FATAL_CODES = {1007: "invalid argument", 1008: "configuration error (model, feature or key)"}
CONNECT_TIMEOUT_S = 10.0
STABLE_AFTER_S = 10.0
REPLAY_CAP_S = 20.0
QUEUE_CAP_S = 30.0


class GeminiLink:
    def __init__(self, client: genai.Client, model: str,
                 build_config: Callable[[str | None, bool], types.LiveConnectConfig],
                 handler: LinkHandler, metrics: BridgeMetrics, *, mime_type: str, frame_s: float = 0.02,
                 max_attempts: int = 4, backoff_s: float = 0.25, fast_path: bool = True,
                 batch_frames: int = 1, gate_during_tools: bool = False) -> None:
        self.client, self.model, self.build_config = client, model, build_config
        self.handler, self.metrics, self.mime_type = handler, metrics, mime_type
        self.max_attempts, self.backoff_s = max_attempts, backoff_s
        self.fast_path = fast_path
        self._fast_path_open = False  # the open session supports the fast path
        self._writer: live_fast.AudioWriter | None = None  # caller audio straight to the transport
        self.state = LinkState.IDLE
        self.handle: str | None = None
        self.resumable = False
        self.session: AsyncSession | None = None
        self.sessions_opened = 0
        self.usage = LiveUsage()  # summed usageMetadata (the call's CallOutcome reports it)
        self.audio_gate = False  # hold caller audio (while a BLOCKING model awaits tool answers)
        self.gate_during_tools = gate_during_tools
        self._awaited_calls: set[str] = set()  # function calls not yet answered or cancelled
        self.dropped_frames = 0
        self.last_close: tuple[int, str] | None = None
        self.handovers = 0
        self.reconnects = 0
        # Caller audio goes to Gemini ``batch_frames`` frames per message (fewer sends and TLS
        # records); a frame waits at most ``batch_frames - 1`` frame times, and anything else
        # sent (text, tool responses), a gate change, a handover or the end flushes it at once.
        self.batch_frames = max(1, batch_frames)
        self._batch_s = frame_s * self.batch_frames
        rate = re.search(r"rate=(\d+)", mime_type)
        self._frame_bytes = max(1, int((int(rate.group(1)) if rate else 16000) * 2 * frame_s))
        self._pending: list[bytes] = []
        self._pending_timer: asyncio.TimerHandle | None = None
        self._queue: deque[Outgoing] = deque()
        self._since_handle: deque[Outgoing] = deque(maxlen=max(1, int(REPLAY_CAP_S / self._batch_s)))
        self._calls_since_handle: set[str] = set()
        self._queue_cap = max(1, int(QUEUE_CAP_S / self._batch_s))
        self._handover = asyncio.Event()
        self._handover_task: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._tasks = TaskSet("gemini-link")
        self._closing = False

    # ------------------------------------------------------------------ public

    def start(self) -> asyncio.Task[None]:
        self._task = self._tasks.spawn(self.run(), name="gemini-link")
        return self._task

    async def close(self) -> None:
        self._closing = True
        self.state = LinkState.CLOSED
        if self._pending_timer is not None:
            self._pending_timer.cancel()
        await cancel_and_wait(self._handover_task, self._task)
        await self._tasks.close()

    def audio_writer(self) -> live_fast.AudioWriter | None:
        """The writer when a caller frame can go straight to the live session now (per frame,
        live, nothing queued or gated, the socket writable); None when ``send_audio`` must take it."""
        writer = self._writer
        if writer is not None and self.batch_frames == 1 and self.state is LinkState.LIVE and not self._queue \
                and not self.audio_gate and writer.ready():
            return writer
        return None

    def write_audio(self, pcm: bytes, writer: live_fast.AudioWriter | None = None) -> bool:
        """The per-frame path, synchronous: True when the frame went straight to the live
        session, else False (``send_audio`` takes it). ``writer``: ``audio_writer()``'s, just now."""
        writer = writer or self.audio_writer()
        if writer is not None and writer.write(pcm):
            self._since_handle.append(CallerAudio(pcm))
            return True
        return False

    async def send_audio(self, pcm: bytes) -> None:
        if self.batch_frames == 1:
            if not self.write_audio(pcm):
                await self._send_or_queue(CallerAudio(pcm))
            return
        self._pending.append(pcm)
        if len(self._pending) >= self.batch_frames:
            await self.flush_audio()
        elif len(self._pending) == 1 and not self._closing:
            # safety net if the stream pauses: the first frame never waits longer than a batch
            self._pending_timer = asyncio.get_running_loop().call_later(self._batch_s, self._flush_later)

    async def flush_audio(self) -> None:
        """Send the partly filled audio batch now (stop, DTMF, tool response, handover)."""
        if self._pending_timer is not None:
            self._pending_timer.cancel()
            self._pending_timer = None
        if self._pending:
            pcm = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending.clear()
            await self._send_or_queue(CallerAudio(pcm))

    def _flush_later(self) -> None:
        self._pending_timer = None
        if self._pending and not self._closing:
            self._tasks.spawn(self.flush_audio(), name="flush-audio")

    async def send_text(self, text: str) -> None:
        await self.flush_audio()
        await self._send_or_queue(CallerText(text))

    async def send_tool_response(self, response: types.FunctionResponse) -> None:
        await self.flush_audio()
        await self._send_or_queue(ToolAnswer(response))
        await self._calls_settled([response.id or ""])

    def request_handover(self) -> None:
        """Move to a fresh resumed session now (tests, operators)."""
        self._handover.set()

    # ------------------------------------------------------------------ function calls, audio gate

    async def _on_tool_call(self, calls: list[types.FunctionCall]) -> None:
        ids = [fc.id or "" for fc in calls]
        self._calls_since_handle.update(i for i in ids if i)
        if self.gate_during_tools:
            self._awaited_calls.update(ids)
            await self._set_audio_gate(True)
        self.handler.on_tool_call(calls)

    async def _on_tool_cancellation(self, ids: list[str]) -> None:
        self.handler.on_tool_cancellation(ids)
        await self._calls_settled(ids)

    async def _calls_settled(self, ids: list[str]) -> None:
        """Answered or cancelled: the gate opens once no call is left waiting."""
        self._awaited_calls.difference_update(ids)
        if self.gate_during_tools and not self._awaited_calls and self.audio_gate:
            await self._set_audio_gate(False)

    async def _set_audio_gate(self, closed: bool) -> None:
        await self.flush_audio()  # frames read before the change go out as they would have unbatched
        self.audio_gate = closed
        if not closed and self.state is LinkState.LIVE:
            await self._drain_queue()

    # ------------------------------------------------------------------ sending

    async def _send_or_queue(self, item: Outgoing) -> None:
        direct = not self._queue and not self.audio_gate if isinstance(item, CallerAudio) else True
        if self.state is LinkState.LIVE and direct:
            try:
                await self._send(item)
                return
            except websockets.exceptions.ConnectionClosed:
                pass  # the receive side sees the close and reconnects; keep the item
        self._enqueue(item)

    def _enqueue(self, item: Outgoing) -> None:
        self._queue.append(item)
        if len(self._queue) > self._queue_cap:
            for i, queued in enumerate(self._queue):
                if isinstance(queued, CallerAudio):
                    del self._queue[i]
                    frames = max(1, round(len(queued.pcm) / self._frame_bytes))
                    self.dropped_frames += frames
                    self.metrics.frames_dropped.labels("in", "gemini_unavailable").inc(frames)
                    break

    async def _send(self, item: Outgoing) -> None:
        session = self.session
        assert session is not None  # only called while live
        if isinstance(item, CallerAudio):
            await self._send_audio_item(session, item.pcm)
        elif isinstance(item, CallerText):
            await session.send_realtime_input(text=item.text)
        else:
            await session.send_tool_response(function_responses=[item.response])
        self._since_handle.append(item)

    async def _send_audio_item(self, session: AsyncSession, pcm: bytes) -> None:
        if self._writer is not None and self._writer.write(pcm):
            return
        if self._fast_path_open:
            await live_fast.send_audio(session, pcm, self.mime_type)
        else:
            await session.send_realtime_input(audio=types.Blob(data=pcm, mime_type=self.mime_type))

    async def _drain_queue(self) -> None:
        """Send what was queued, in order; audio stays queued while the gate is closed."""
        held: deque[Outgoing] = deque()
        while self._queue and self.state is LinkState.LIVE:
            item = self._queue.popleft()
            if isinstance(item, CallerAudio) and self.audio_gate:
                held.append(item)
                continue
            try:
                await self._send(item)
            except websockets.exceptions.ConnectionClosed:
                self._queue.appendleft(item)
                break
        self._queue.extendleft(reversed(held))

    def _replay_items(self, resumed: bool) -> list[Outgoing]:
        """What the new session must receive before the queue: since the handle (or, without
        one, since the last completed turn), minus answers to calls the resumed state never saw."""
        items = [i for i in self._since_handle
                 if not (resumed and isinstance(i, ToolAnswer) and i.response.id in self._calls_since_handle)]
        self._since_handle.clear()
        return items

    # ------------------------------------------------------------------ session loop

    async def run(self) -> None:
        attempt = 0
        while not self._closing:
            self.state = LinkState.CONNECTING if self.sessions_opened == 0 else self.state
            try:
                stable = await self._one_session()
                attempt = 0 if stable else attempt
                if self._handover_done():
                    continue
            except asyncio.CancelledError:
                raise
            except errors.APIError as exc:
                attempt = await self._after_error(exc.code, str(exc.details or exc.message or ""), attempt)
            except (websockets.exceptions.WebSocketException, OSError, TimeoutError) as exc:
                attempt = await self._after_error(1006, f"{type(exc).__name__}: {exc}", attempt)
            if attempt < 0:
                return

    def _handover_done(self) -> bool:
        if self.state is LinkState.HANDOVER:
            self.handovers += 1
            self.metrics.handovers.labels("ok").inc()
            return True
        return False

    async def _after_error(self, code: int, reason: str, attempt: int) -> int:
        """Decide: retry (returns the attempt number) or give up (returns -1)."""
        self.last_close = (code, reason)
        self.metrics.reconnects.labels(str(code)).inc()
        if self._closing:
            return -1
        if code in FATAL_CODES:
            (log.error if code == 1008 else log.warning)(
                "Gemini Live closed the session: %s", FATAL_CODES[code], extra={"code": code, "reason": reason})
            return await self._give_up(f"{code} {reason}")
        attempt += 1
        if attempt > self.max_attempts:
            return await self._give_up(f"{code} {reason} after {attempt - 1} retries")
        self.state = LinkState.RECONNECTING
        self.reconnects += 1
        quota = "quota" in reason.lower()
        delay = min(8.0, self.backoff_s * (4 if quota else 1) * 2 ** (attempt - 1))
        log.warning("Gemini Live session lost; reconnecting", extra={
            "code": code, "reason": reason[:200], "attempt": attempt, "delay_s": delay,
            "with_handle": self.handle is not None})
        await asyncio.sleep(delay)
        return attempt

    async def _give_up(self, reason: str) -> int:
        self.state = LinkState.FAILED
        await self.handler.on_fatal(reason)
        return -1

    async def _one_session(self) -> bool:
        resumed = self.handle is not None
        config = self.build_config(self.handle, self.sessions_opened > 0)
        opened = time.monotonic()
        connector = self.client.aio.live.connect(model=self.model, config=config)
        session = await asyncio.wait_for(connector.__aenter__(), CONNECT_TIMEOUT_S)
        try:
            return await self._serve(session, resumed, opened)
        finally:
            self.session, self._writer = None, None
            with contextlib.suppress(Exception):
                await connector.__aexit__(None, None, None)  # close before resuming (1011 otherwise)

    async def _serve(self, session: AsyncSession, resumed: bool, opened: float) -> bool:
        first = self.sessions_opened == 0
        self.sessions_opened += 1
        self.session, self.resumable = session, False
        self._fast_path_open = self.fast_path and live_fast.available(session)
        self._writer = live_fast.AudioWriter(session, self.mime_type) \
            if self._fast_path_open and live_fast.AudioWriter.supports(session) else None
        if self._fast_path_open and live_fast.AudioTap.supports(session):
            live_fast.AudioTap(session._ws, self.handler.on_audio)
        self._handover.clear()
        replay = self._replay_items(resumed)
        self._calls_since_handle.clear()
        self._queue.extendleft(reversed(replay))
        self.state = LinkState.LIVE
        await self.handler.on_connected(resumed, first)
        await self._drain_queue()
        await self.flush_audio()  # a half-filled batch from before the handover goes out now
        receiver = self._tasks.spawn(self._receive_until_closed(session), name="gemini-receive")
        waiter = self._tasks.spawn(self._handover.wait(), name="gemini-handover-wait")
        try:
            await asyncio.wait({receiver, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not receiver.done():
                self.state = LinkState.CLOSED if self._closing else LinkState.HANDOVER
            await cancel_and_wait(waiter, receiver)
        if not receiver.cancelled():
            self.state = LinkState.RECONNECTING
            closed = receiver.result()
            if closed is not None:
                raise closed
        return time.monotonic() - opened > STABLE_AFTER_S

    async def _receive_until_closed(self, session: AsyncSession) -> Exception | None:
        """The session's close (or failure) as a value: ``_serve`` raises it into ``run``'s
        retry logic; a task failing with it would be logged as a bug by the TaskSet."""
        try:
            await self._receive(session)
        except Exception as exc:  # noqa: BLE001 - handed to run(), which classifies it
            return exc
        return None

    async def _receive(self, session: AsyncSession) -> None:
        if self._fast_path_open:
            async for msg in live_fast.receive(session):
                if isinstance(msg, AudioChunk):
                    self.handler.on_audio(msg)
                else:
                    await self._dispatch(msg)
            return
        while True:
            async for msg in session.receive():
                await self._dispatch(msg)

    async def _dispatch(self, msg: types.LiveServerMessage) -> None:
        update = msg.session_resumption_update
        if update is not None:
            self._on_resumption_update(update)
        if msg.go_away is not None:
            self._on_go_away(parse_duration(msg.go_away.time_left))
        if msg.tool_call and msg.tool_call.function_calls:
            await self._on_tool_call(msg.tool_call.function_calls)
        if msg.tool_call_cancellation and msg.tool_call_cancellation.ids:
            await self._on_tool_cancellation(msg.tool_call_cancellation.ids)
        self.usage.add(msg.usage_metadata)
        sc = msg.server_content
        if sc is not None and sc.turn_complete and self.handle is None:
            self._since_handle.clear()  # without a handle, the transcript carries older turns
        await self.handler.on_message(msg)

    def _on_resumption_update(self, update: types.LiveServerSessionResumptionUpdate) -> None:
        self.resumable = bool(update.resumable and update.new_handle)
        if self.resumable:
            self.handle = update.new_handle
            self._since_handle.clear()
            self._calls_since_handle.clear()

    # ------------------------------------------------------------------ goAway

    def _on_go_away(self, time_left_s: float) -> None:
        if self._handover_task is None or self._handover_task.done():
            log.info("goAway received; handing over at the next turn boundary", extra={"time_left_s": time_left_s})
            self._handover_task = self._tasks.spawn(self._handover_timer(time_left_s), name="gemini-handover")

    async def _handover_timer(self, time_left_s: float) -> None:
        """Independent of the receive loop (the server may go silent after goAway)."""
        margin = min(2.0, max(0.2, time_left_s * 0.2))
        deadline = time.monotonic() + max(0.0, time_left_s - margin)
        while time.monotonic() < deadline and not self._closing:
            if self.resumable and self.handler.at_turn_boundary():
                break
            await asyncio.sleep(0.05)
        if not self.resumable:
            self.metrics.handovers.labels("deadline_without_fresh_handle").inc()
        self._handover.set()
