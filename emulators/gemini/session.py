"""One Live connection's behaviour: input handling (VAD, text, tool responses) and the
scenario runner that produces model turns. Transport-agnostic: talks to an ``Outbox``.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

import numpy as np

from .. import audio
from . import protocol as p
from .scenario import Scenario, Step, resolve_args

_call_ids = itertools.count(1)


class Outbox(Protocol):
    async def send(self, msg: dict) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...


@dataclass
class SessionState:
    """Conversation state that survives reconnection through resumption handles."""

    id: str
    scenario: Scenario
    step_index: int = 0
    history: list[dict] = field(default_factory=list)
    connected: bool = False


@dataclass
class UserTurn:
    text: str | None
    audio_s: float


@dataclass
class Event:
    t: float
    direction: str  # "in" | "out" | "close"
    kind: str
    detail: Any = None


class LiveSession:
    """Drives one connection. ``handle`` is fed client frames; ``run`` plays the scenario."""

    def __init__(self, cfg: p.SetupConfig, state: SessionState, out: Outbox,
                 issue_handle: Callable[[SessionState, int], str], abort_audio_during_blocking_call=False):
        self.cfg, self.state, self.out = cfg, state, out
        self.timing = state.scenario.timing
        self.events: list[Event] = []
        self.tool_responses: list[dict] = []
        self.user_turns: list[UserTurn] = []
        self.close_code: int | None = None
        self._issue_handle = issue_handle
        self._abort_on_audio = abort_audio_during_blocking_call
        self._vad = audio.EnergyVad(cfg.vad)
        self._turns: asyncio.Queue[UserTurn] = asyncio.Queue()
        self._interrupt = asyncio.Event()
        self._speaking = False
        self._turn_audio_s = 0.0
        self._speech_t0 = 0.0
        self._in_audio_s = 0.0
        self._in_text_tokens = 0
        self._pending: dict[str, asyncio.Future] = {}
        self._blocking: set[str] = set()
        self._cancelled: set[str] = set()
        self._t0 = time.monotonic()

    # ------------------------------------------------------------ recording / output

    def _log(self, direction: str, kind: str, detail: Any = None) -> None:
        self.events.append(Event(time.monotonic() - self._t0, direction, kind, detail))

    async def send(self, msg: dict) -> None:
        self._log("out", next(iter(msg)), msg)
        await self.out.send(msg)

    async def close(self, code: int, reason: str) -> None:
        self.close_code = code
        self._log("close", str(code), reason)
        await self.out.close(code, reason)

    def kinds(self, direction: str = "out") -> list[str]:
        return [e.kind for e in self.events if e.direction == direction]

    # ------------------------------------------------------------ input

    async def handle(self, kind: str, body: Any) -> None:
        """Process one parsed client frame; raises ``ProtocolError`` to close."""
        self._log("in", kind, None if kind == "realtime_input" else body)
        if kind == "setup":
            raise p.ProtocolError()
        if kind == "realtime_input":
            self._realtime_input(body)
        elif kind == "client_content":
            self._client_content(body)
        elif kind == "tool_response":
            self._tool_response(body)

    def _realtime_input(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise p.ProtocolError()
        blob = p.get(body, "audio") or (p.get(body, "media_chunks") or [None])[0]
        if isinstance(blob, dict) and str(p.get(blob, "mime_type", "")).startswith("audio/"):
            self._audio(p.b64decode(p.get(blob, "data") or ""), p.get(blob, "mime_type"))
        if p.has(body, "activity_start") or p.has(body, "activity_end"):
            if self.cfg.auto_vad:
                raise p.ProtocolError()
            if p.has(body, "activity_start"):
                self._speech_started()
            else:
                self._end_turn(None)
        if p.get(body, "audio_stream_end") and self._vad.force_end():
            self._end_turn(None)
        if isinstance(p.get(body, "text"), str):
            self._speech_started()
            self._end_turn(p.get(body, "text"))

    def _audio(self, data: bytes, mime: str | None) -> None:
        if self._abort_on_audio and self._blocking:
            raise p.ProtocolError(1008, p.REASON_ABORTED)
        rate = p.mime_rate(mime)
        samples = audio.pcm16_from_bytes(data)
        seconds = len(samples) / rate
        self._in_audio_s += seconds
        self._turn_audio_s += seconds
        if not self.cfg.auto_vad:
            return
        for event, t in self._vad.feed(samples, rate):
            if event == "start":
                self._speech_t0 = t - self.cfg.vad.start_ms / 1000
                self._speech_started()
            else:
                self._turn_audio_s = t - self._speech_t0
                self._end_turn(None)

    def _client_content(self, body: Any) -> None:
        text = p.content_text(body)
        if p.get(body, "turn_complete", True):
            self._speech_started()
            self._end_turn(text)
        else:
            self.state.history.append({"role": "user", "text": text, "seeded": True})

    def _tool_response(self, body: Any) -> None:
        for fr in p.function_responses(body):
            fid = fr["id"]
            if fid in self._cancelled:
                self.tool_responses.append({**fr, "late": True})
                continue
            if fid not in self._pending:
                raise p.ProtocolError()
            self.tool_responses.append(fr)
            self.state.history.append({"role": "tool", "id": fid, "name": fr["name"],
                                       "response": fr["response"]})
            if not fr["will_continue"]:
                fut = self._pending.pop(fid)
                self._blocking.discard(fid)
                if not fut.done():
                    fut.set_result(fr)

    def _speech_started(self) -> None:
        if self._speaking and self.cfg.activity_handling != "NO_INTERRUPTION":
            self._interrupt.set()

    def _end_turn(self, text: str | None) -> None:
        if text is not None:
            self._in_text_tokens += max(1, len(text) // 4)
        turn = UserTurn(text, self._turn_audio_s)
        self._turn_audio_s = 0.0
        self.user_turns.append(turn)
        self._turns.put_nowait(turn)

    # ------------------------------------------------------------ scenario runner

    async def run(self) -> None:
        steps = self.state.scenario.steps
        while self.state.step_index < len(steps):
            await self._run_step(steps[self.state.step_index])
            self.state.step_index += 1
        await asyncio.Event().wait()  # scenario over: stay connected, idle

    async def _run_step(self, step: Step) -> None:
        runners: dict[str, Callable[[Step], Awaitable[None]]] = {
            "say": self._say, "listen": self._listen, "tool_call": self._tool_call,
            "wait_tool_responses": self._wait_all, "sleep": self._sleep,
            "go_away": self._go_away, "close": self._close_step,
        }
        await runners[step.kind](step)

    async def _sleep(self, step: Step) -> None:
        await asyncio.sleep(step.seconds)

    async def _close_step(self, step: Step) -> None:
        await self.close(step.code, step.reason)
        await asyncio.Event().wait()

    async def _go_away(self, step: Step) -> None:
        await self.send(p.go_away(step.seconds))
        await asyncio.sleep(step.seconds)
        await self.close(1011, p.REASON_DEADLINE)
        await asyncio.Event().wait()

    async def _listen(self, step: Step) -> None:
        try:
            turn = await asyncio.wait_for(self._turns.get(), step.timeout_s)
        except asyncio.TimeoutError:
            self.state.history.append({"role": "user", "text": None, "timeout": True})
            return
        if turn.text is not None:
            self.state.history.append({"role": "user", "text": turn.text})
            return
        transcript = step.text or f"[{turn.audio_s:.1f}s of speech]"
        if self.cfg.input_transcription:
            await self.send(p.input_transcription(transcript))
        self.state.history.append({"role": "user", "text": transcript, "audio_s": turn.audio_s})

    async def _tool_call(self, step: Step) -> None:
        calls, loop = [], asyncio.get_running_loop()
        for c in step.calls:
            fid = f"function-call-{next(_call_ids)}"
            calls.append({"id": fid, "name": c["name"], "args": resolve_args(c["args"])})
            self._pending[fid] = loop.create_future()
        wait = step.wait if step.wait is not None else all(
            self.cfg.tools.get(c["name"], {}).get("behavior") != "NON_BLOCKING" for c in calls)
        if wait:
            self._blocking.update(c["id"] for c in calls)
        self.state.history.append({"role": "model", "tool_calls": calls})
        await self.send(p.tool_call(calls))
        if wait:
            await asyncio.gather(*(self._pending[c["id"]] for c in calls))
            await self._maybe_resumption_update(advance=1)

    async def _wait_all(self, step: Step) -> None:
        await asyncio.gather(*self._pending.values())

    # ------------------------------------------------------------ speaking

    async def _say(self, step: Step) -> None:
        await asyncio.sleep(self.timing.response_delay_ms / 1000)
        self._interrupt.clear()
        self._speaking = True
        try:
            sent_s = await self._stream_speech(step)
        finally:
            self._speaking = False
        interrupted = self._interrupt.is_set()
        self.state.history.append({"role": "model", "text": step.text, "interrupted": interrupted,
                                   "audio_s": round(sent_s, 3)})
        if interrupted:
            await self._finish_interrupted()
        else:
            await self.send(p.flag("generationComplete"))
            await self._turn_complete(sent_s)

    def _speech_pcm(self, step: Step) -> np.ndarray:
        pcm = audio.speech_like(step.text, 24000)
        if step.duration_s is not None:
            n = int(step.duration_s * 24000)
            pcm = np.resize(pcm, n) if n > len(pcm) else pcm[:n]
        return pcm

    async def _stream_speech(self, step: Step) -> float:
        """Send audio (and transcription) chunks, paced; returns seconds of audio sent."""
        pcm = self._speech_pcm(step)
        audio_mode = "AUDIO" in self.cfg.response_modalities
        words = step.text.split()
        n = max(1, 24000 * self.timing.chunk_ms // 1000)
        total, start, sent_words = len(pcm), time.monotonic(), 0
        for offset in range(0, max(total, 1), n):
            if self._interrupt.is_set():
                return offset / 24000
            chunk = pcm[offset:offset + n]
            if audio_mode:
                await self.send(p.audio_chunk(chunk.astype("<i2").tobytes()))
            due = len(words) if offset + n >= total else int(len(words) * (offset + n) / total)
            if due > sent_words:
                await self._send_words(words[sent_words:due], sent_words == 0, audio_mode)
                sent_words = due
            await self._pace(start, (offset + len(chunk)) / 24000)
        return total / 24000

    async def _send_words(self, words: list[str], first: bool, audio_mode: bool) -> None:
        text = ("" if first else " ") + " ".join(words)
        if not audio_mode:
            await self.send(p.text_chunk(text))
        elif self.cfg.output_transcription:
            await self.send(p.output_transcription(text))

    async def _pace(self, start: float, sent_s: float) -> None:
        if self.timing.pace <= 0:
            await asyncio.sleep(0)
            return
        ahead = max(0.0, sent_s - self.timing.burst_ms / 1000) / self.timing.pace
        delay = start + ahead - time.monotonic()
        if delay > 0:
            try:
                await asyncio.wait_for(self._interrupt.wait(), delay)
            except asyncio.TimeoutError:
                pass

    async def _finish_interrupted(self) -> None:
        await self.send(p.flag("interrupted"))
        cancelled = [fid for fid in self._pending if fid not in self._blocking]
        if cancelled:
            for fid in cancelled:
                self._pending.pop(fid).cancel()
                self._cancelled.add(fid)
            await self.send(p.tool_call_cancellation(cancelled))
        await self.send(p.turn_complete())
        await self._maybe_resumption_update(advance=1)

    async def _turn_complete(self, out_audio_s: float) -> None:
        usage = p.usage_metadata(self._in_audio_s, self._in_text_tokens, out_audio_s)
        self._in_audio_s, self._in_text_tokens = 0.0, 0
        await self.send(p.turn_complete(usage))
        await self._maybe_resumption_update(advance=1)

    async def _maybe_resumption_update(self, advance: int = 0) -> None:
        """Send a handle; ``advance`` counts the just-finished step as done for a resume."""
        if not self.cfg.resumption:
            return
        if self._pending:
            await self.send(p.resumption_update("", resumable=False))
        else:
            handle = self._issue_handle(self.state, self.state.step_index + advance)
            await self.send(p.resumption_update(handle))
