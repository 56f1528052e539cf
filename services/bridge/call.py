"""One call's lifecycle as a state object: Twilio media in, Gemini Live out and back.

    Twilio ws ──media──► InboundAudio ──► GeminiLink ──► Gemini Live
    Twilio ws ◄─media/mark/clear── Playback ◄── OutboundAudio ◄── model audio
                                    toolCall ──► ToolsDispatcher ──► NATS tools.<name>

The call owns one of each per-call component; process concerns (admission, capacity,
drain) are in server.py. Ending the call (goodbye, transfer, fallback, operator
commands) is in ending.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from aiohttp import WSMsgType, web
from google import genai
from google.genai import types
from nats.aio.client import Client as NATS

from fixline_proto.events import CallOutcome
from services.common.logs import log_context
from services.common.settings import Settings
from services.common.tasks import TaskSet

from . import personas
from .audio import InboundAudio, OutboundAudio
from .audio.g711 import audioop
from .call_context import CallContext
from .call_control import ControlSubscription, TwilioRest
from .callback_promise import CallbackPromise
from .codecs import twilio as wire
from .ending import Ending
from .events_out import EventSink
from .gemini_link import GeminiLink
from .live_config import LiveOptions, live_config
from .live_fast import AudioChunk
from .metrics import BridgeMetrics
from .playback import Playback
from .tool_schema import END_CALL, SCHEDULE_CALLBACK, TRANSFER
from .tools_dispatch import ToolsDispatcher
from .transcript import Transcript
from .twilio_socket import TwilioSocket

log = logging.getLogger(__name__)
SPEECH_RMS = 500          # ≈ -36 dBFS: caller speech, for turn latency and turn boundaries
CALLER_QUIET_S = 0.3
MAX_BAD_MESSAGES = 50     # consecutive undecodable messages before the stream is closed
MAX_TAKEN_ULAW = 1600     # 200 ms: a larger media payload takes the read loop's path (one write may not hold it)
DTMF_IDLE_S = 1.0


@dataclass
class CallDeps:
    """What every call shares with its process."""

    settings: Settings
    metrics: BridgeMetrics
    nc: NATS
    sink: EventSink
    gemini: genai.Client
    twilio: TwilioRest
    options: LiveOptions


class Call:
    def __init__(self, ctx: CallContext, ws: web.WebSocketResponse, deps: CallDeps) -> None:
        self.ctx, self.ws, self.deps = ctx, ws, deps
        s, m = deps.settings, deps.metrics
        self.metrics = m
        self._fwd_in, self._fwd_out = m.forward_in, m.forward_out  # hot path
        self.inbound = InboundAudio(deps.options.inbound_rate)
        self.outbound = OutboundAudio()
        self.playback = Playback(self._send_twilio, ctx.stream_sid, lead_ms=s.playback_lead_ms,
                                 jitter_ms=s.playback_jitter_ms, jitter_max_ms=s.playback_jitter_max_ms,
                                 mark_ms=max(0.0, s.playback_mark_ms), on_frames_sent=m.count_frames_out,
                                 on_turn_audio=self._on_turn_audio, on_underrun=m.count_underrun)
        self.transcript = Transcript(ctx.call_id, ctx.property_id, deps.sink, first_turn=ctx.stream_leg * 1000)
        self.link = GeminiLink(deps.gemini, deps.options.model, self._build_config, self, m,
                               mime_type=self.inbound.mime_type, max_attempts=s.gemini_reconnect_attempts,
                               batch_frames=deps.options.inbound_batch_ms // 20,
                               gate_during_tools=not deps.options.non_blocking)
        self.ending = Ending(self)
        self.promise = CallbackPromise(self, deps.sink)
        self.tools = ToolsDispatcher(deps.nc, self, m, self.link.send_tool_response,
                                     timeout_s=s.bridge_tool_timeout_s,
                                     non_blocking=deps.options.non_blocking, scheduling=s.gemini_tool_scheduling,
                                     bridge_handlers={END_CALL: self.ending.end_call_tool,
                                                      TRANSFER: self.ending.transfer_tool,
                                                      SCHEDULE_CALLBACK: self.promise.schedule_callback_tool},
                                     on_unreachable=self._tools_unreachable)
        self.control = ControlSubscription(deps.nc, ctx.call_id, self.ending.on_command)
        self.started = time.monotonic()
        self.model_speaking = False
        self.turn_flushed = False
        self.caller_last_speech = 0.0
        self.caller_spoke = False
        self.bad_in_a_row = 0
        self._dtmf: list[str] = []
        self._dtmf_timer: asyncio.TimerHandle | None = None
        self._tasks = TaskSet("call")  # pruned as each ends; closed at shutdown
        self._tap = ws.media_tap if isinstance(ws, TwilioSocket) else None
        self._take = self._take_media

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> str:
        with log_context(call_id=self.ctx.call_id, incident_id=self.ctx.incident_id or None):
            self.link.start()  # as early as possible: Gemini connects while the caller talks
            self._tasks.spawn(self.playback.run(), name="playback")
            s = self.deps.settings
            self._tasks.spawn(self.ending.time_limit(s.max_call_s, s.call_wrap_up_s), name="time-limit")
            await self.control.start()
            reason = "stream_closed"
            try:
                reason = await self._read_twilio()
            finally:
                reason = self.ending.reason or reason
                await self._shutdown(reason)
            return reason

    async def _shutdown(self, reason: str) -> None:
        self.playback.close()
        self.transcript.close_caller()
        if self.transcript.agent.text:
            self.transcript.agent_interrupted(self.playback.heard_ms())
        await self.ending.cancel()
        await self.link.close()
        await self.tools.close()
        await self.control.stop()
        if self._dtmf_timer:
            self._dtmf_timer.cancel()
        await self._tasks.close()
        duration = round(time.monotonic() - self.started, 3)
        self.deps.sink.emit(self.link.usage.stamp(CallOutcome(
                                        property_id=self.ctx.property_id, call_id=self.ctx.call_id, outcome=reason,
                                        duration_s=duration, incident_id=self.ctx.incident_id or None,
                                        barge_ins=self.playback.clears, handovers=self.link.handovers,
                                        reconnects=self.link.reconnects)),
                            f"{self.ctx.stream_key}:call.outcome")
        log.info("call ended", extra={"reason": reason, "duration_s": duration})

    def adopt_incident(self, incident_id: str) -> None:
        """The incident a tool opened or found: from now on in every tool request, the setup of
        any new Gemini session (handover, reconnect) and the call's outcome event."""
        self.ctx = self.ctx.with_incident(incident_id)

    async def close_stream(self) -> None:
        if not self.ws.closed:
            await self.ws.close()

    # ------------------------------------------------------------------ Twilio side

    async def _read_twilio(self) -> str:
        receive = self.ws.receive  # not ``async for``: its __anext__ is one more coroutine per frame
        tap = self._tap
        while True:
            if tap is not None:
                tap.take = self._take  # only while waiting: nothing is being handled, nothing queued
            try:
                msg = await receive()
            finally:
                if tap is not None:
                    tap.take = None
            if msg.type == WSMsgType.TEXT:
                outcome = await self._on_twilio_text(msg.data)
                if outcome:
                    return outcome
            elif msg.type == WSMsgType.BINARY:
                self._bad("binary")
            else:
                break
        if tap is not None and tap.error is not None:
            raise tap.error
        if self.ws.close_code == 1009 or isinstance(self.ws.exception(), Exception):
            self.metrics.bad_messages.labels("oversized_or_protocol").inc()
            return "protocol_error"
        return "stream_closed"

    async def _on_twilio_text(self, data: str | bytes) -> str | None:
        try:
            msg = wire.decode(data)
        except wire.TwilioCodecError:
            return self._bad("malformed")
        self.bad_in_a_row = 0
        if isinstance(msg, wire.Media):
            await self._on_media(msg.media.payload)
        elif isinstance(msg, wire.Mark):
            self.playback.on_mark(msg.mark.name)
        elif isinstance(msg, wire.Dtmf):
            await self.link.flush_audio()
            self._on_dtmf(msg.dtmf.digit)
        elif isinstance(msg, wire.Stop):
            await self.link.flush_audio()
            return "caller_hangup"
        return None

    def _tools_unreachable(self, tool: str) -> bool:
        """A tool the agent needs is down: the system promises a call-back (guest calls)."""
        return self.promise.make("tools_unavailable", f"{tool} could not be reached")

    def _bad(self, reason: str) -> str | None:
        self.metrics.bad_messages.labels(reason).inc()
        self.bad_in_a_row += 1
        if self.bad_in_a_row == 1:
            log.warning("bad Twilio message ignored", extra={"reason": reason})
        return "protocol_error" if self.bad_in_a_row >= MAX_BAD_MESSAGES else None

    async def _on_media(self, ulaw: bytes) -> None:
        t0 = time.perf_counter()
        pcm = self._caller_pcm(ulaw)
        if not self.link.write_audio(pcm):
            await self.link.send_audio(pcm)
        self._fwd_in.observe(time.perf_counter() - t0)

    def _take_media(self, data: bytes) -> bool:
        """A text frame as it is parsed (twilio_socket.MediaTap): a media frame the link can
        write right now is forwarded here; False leaves any frame to the read loop."""
        t0 = time.perf_counter()
        writer = self.link.audio_writer()
        if writer is None:
            return False
        try:
            msg = wire.decode(data)
        except wire.TwilioCodecError:
            return False
        if type(msg) is not wire.Media or len(msg.media.payload) > MAX_TAKEN_ULAW:
            return False
        self.bad_in_a_row = 0
        if not self.link.write_audio(self._caller_pcm(msg.media.payload), writer):
            raise RuntimeError("the Gemini link refused a caller frame it said it could take")
        self._fwd_in.observe(time.perf_counter() - t0)
        return True

    def _caller_pcm(self, ulaw: bytes) -> bytes:
        self.metrics.frames_in.value += 1
        pcm = self.inbound.process(ulaw)
        if audioop.rms(pcm, 2) > SPEECH_RMS:
            self.caller_last_speech, self.caller_spoke = time.monotonic(), True
        return pcm

    def _on_dtmf(self, digit: str) -> None:
        self._dtmf.append(digit[:1])
        if self._dtmf_timer:
            self._dtmf_timer.cancel()
        delay = 0.0 if digit == "#" else DTMF_IDLE_S
        self._dtmf_timer = asyncio.get_running_loop().call_later(delay, self._flush_dtmf)

    def _flush_dtmf(self) -> None:
        digits, self._dtmf = "".join(self._dtmf), []
        if digits:
            self._tasks.spawn(self.link.send_text(personas.dtmf_text(digits)), name="dtmf")

    async def _send_twilio(self, text: str) -> None:
        if self.ws.closed:
            return
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await self.ws.send_str(text)

    def _on_turn_audio(self, held_s: float) -> None:
        """First agent audio of a turn goes out, ``held_s`` after it arrived from Gemini:
        turn latency from the caller's last speech."""
        self.metrics.turn_first_audio.observe(held_s)
        if self.caller_spoke and self.caller_last_speech:
            self.metrics.turn_latency.observe(time.monotonic() - self.caller_last_speech)
        self.caller_spoke = False

    # ------------------------------------------------------------------ Gemini side (LinkHandler)

    def _build_config(self, handle: str | None, reconnect: bool) -> types.LiveConnectConfig:
        note = personas.resume_note(self.transcript.tail()) if reconnect and handle is None else ""
        return live_config(self.deps.options, self.ctx, handle, note)

    async def on_connected(self, resumed: bool, first: bool) -> None:
        log.info("Gemini Live session open", extra={"resumed": resumed, "first": first})
        if first:
            await self.link.send_text(personas.KICKOFF_TEXT)

    async def on_fatal(self, reason: str) -> None:
        await self.ending.fallback(reason)

    def at_turn_boundary(self) -> bool:
        caller_quiet = time.monotonic() - self.caller_last_speech > CALLER_QUIET_S
        return not self.model_speaking and not self.playback.speaking and not self.tools.pending and caller_quiet

    def on_audio(self, chunk: AudioChunk) -> None:
        """The hot path: a model-audio frame (see live_fast)."""
        for pcm in chunk.pcm:
            self._agent_audio(pcm)
        if chunk.text:
            self.transcript.agent_text(chunk.text)

    def on_tool_call(self, calls: list[types.FunctionCall]) -> None:
        self.tools.on_tool_call(calls)

    def on_tool_cancellation(self, ids: list[str]) -> None:
        self.tools.cancel(ids)

    async def on_message(self, msg: types.LiveServerMessage) -> None:
        sc = msg.server_content
        if sc is None:
            return
        if sc.interrupted:
            await self._barge_in()
        if sc.model_turn and sc.model_turn.parts:
            for part in sc.model_turn.parts:
                if part.inline_data and part.inline_data.data:
                    self._agent_audio(part.inline_data.data)
        if sc.output_transcription and sc.output_transcription.text:
            self.transcript.agent_text(sc.output_transcription.text)
        if sc.input_transcription:
            self.transcript.caller_text(sc.input_transcription.text or "", bool(sc.input_transcription.finished))
        if sc.generation_complete or sc.turn_complete:
            self._flush_turn()
        if sc.turn_complete:
            self.transcript.agent_complete()
            self.model_speaking, self.turn_flushed = False, False

    def _agent_audio(self, pcm24k: bytes) -> None:
        t0 = time.perf_counter()
        self.model_speaking, self.turn_flushed = True, False
        self.transcript.agent_audio(self.playback.timeline_end_ms, len(pcm24k) / 48)
        self.playback.enqueue(self.outbound.process(pcm24k))
        self._fwd_out.observe(time.perf_counter() - t0)

    def _flush_turn(self) -> None:
        if not self.turn_flushed:
            self.turn_flushed = True
            self.playback.enqueue(self.outbound.flush())
            self.playback.end_of_turn()

    async def _barge_in(self) -> None:
        t0 = time.perf_counter()
        heard = await self.playback.interrupt()  # clear first, always
        self.metrics.barge_in_latency.observe(time.perf_counter() - t0)
        self.outbound.reset()
        heard_text = self.transcript.agent_interrupted(heard)
        self.model_speaking, self.turn_flushed = False, False
        log.info("barge-in", extra={"heard_ms": round(heard), "heard_chars": len(heard_text)})
