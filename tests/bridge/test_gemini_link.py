"""GeminiLink with the real google-genai SDK against the Gemini emulator: handover,
replay of caller audio, reconnect policy by close code, kickoff only once."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from google.genai import types

from emulators.audio import speech_like
from emulators.gemini import GeminiEmulator
from services.bridge.gemini_link import GeminiLink, parse_duration
from services.bridge.link_messages import LinkState
from services.bridge.live_config import LiveOptions, live_config
from services.bridge.metrics import BridgeMetrics
from services.bridge.call_context import CallContext
from services.bridge.personas import KICKOFF_TEXT

FAST = {"response_delay_ms": 0, "chunk_ms": 40, "burst_ms": 0, "pace": 0}
RATE = 16000
CTX = CallContext(call_id="c-link", call_type="guest", property_id="p1")
OPTS = LiveOptions(model="gemini-3.8-live", voice="Charon")
KICKOFF = {"listen": {"transcript": "", "timeout_s": 3}}


def scenario(*steps, **extra) -> dict:
    return {"name": "link", "timing": FAST, "steps": [KICKOFF, *steps], **extra}


class Recorder:
    """The LinkHandler side: records what the link delivers."""

    def __init__(self, link_box: list) -> None:
        self.messages: list[types.LiveServerMessage] = []
        self.chunks: list = []
        self.tool_calls: list = []
        self.cancelled: list = []
        self.connected: list[tuple[bool, bool]] = []
        self.fatal: str | None = None
        self.boundary = True
        self.box = link_box

    async def on_message(self, msg):
        self.messages.append(msg)

    def on_audio(self, chunk):
        self.chunks.append(chunk)

    def on_tool_call(self, calls):
        self.tool_calls.extend(calls)

    def on_tool_cancellation(self, ids):
        self.cancelled.extend(ids)

    def at_turn_boundary(self):
        return self.boundary

    async def on_connected(self, resumed, first):
        self.connected.append((resumed, first))
        if first:
            await self.box[0].send_text(KICKOFF_TEXT)

    async def on_fatal(self, reason):
        self.fatal = reason

    def said(self) -> str:
        return "".join(c.text for c in self.chunks if c.text) + "".join(
            m.server_content.output_transcription.text for m in self.messages
            if m.server_content and m.server_content.output_transcription)


def make_link(emu: GeminiEmulator, metrics: BridgeMetrics | None = None, **kw) -> tuple[GeminiLink, Recorder]:
    box: list = []
    handler = Recorder(box)
    link = GeminiLink(emu.client(), OPTS.model, lambda handle, _re: live_config(OPTS, CTX, handle),
                      handler, metrics or BridgeMetrics(), mime_type=f"audio/pcm;rate={RATE}", backoff_s=0.05, **kw)
    box.append(link)
    return link, handler


async def speak(link: GeminiLink, text: str, silence_s: float = 0.8, midway=None) -> float:
    """Stream an utterance in 20 ms frames at real time; ``midway`` runs halfway through."""
    speech = speech_like(text, RATE)
    pcm = np.concatenate([speech, np.zeros(int(silence_s * RATE), np.int16)])
    frames = [pcm[i:i + RATE // 50].tobytes() for i in range(0, len(pcm), RATE // 50)]
    for i, frame in enumerate(frames):
        if midway and i == len(speech) // (RATE // 50) // 2:
            midway()
        await link.send_audio(frame)
        await asyncio.sleep(0.02)
    return len(speech) / RATE


async def wait_for(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def test_parse_duration():
    assert parse_duration("50s") == 50.0
    assert parse_duration("0.600s") == 0.6
    assert parse_duration(None) == 0.0 and parse_duration("soon") == 0.0


async def test_handover_mid_utterance_replays_all_caller_audio_and_never_regreets():
    sc = scenario({"say": "Hello, Fixline here."}, {"listen": "My sink is leaking."}, {"say": "I see."})
    async with GeminiEmulator(sc, api_key="test-key") as emu:
        link, handler = make_link(emu)
        link.start()
        await wait_for(lambda: "Hello, Fixline here." in handler.said())
        await wait_for(lambda: link.resumable)
        speech_s = await speak(link, "My sink is leaking", midway=link.request_handover)
        await wait_for(lambda: "I see." in handler.said())
        await link.close()
    assert handler.connected == [(False, True), (True, False)]
    first, second = emu.sessions
    assert second.user_turns, "the resumed session heard the caller's turn"
    # the resumed session got the whole utterance (replayed from the handle) + the silence
    assert abs(second.user_turns[0].audio_s - (speech_s + 0.5)) < 0.15
    assert handler.said().count("Hello, Fixline here.") == 1
    assert second.state is first.state  # resumed, same conversation
    assert [h for h in second.state.history if h.get("text") == KICKOFF_TEXT] == [
        {"role": "user", "text": KICKOFF_TEXT}]  # the kickoff was sent once, never after a reconnect
    assert link.dropped_frames == 0


async def test_go_away_hands_over_before_the_deadline():
    sc = scenario({"say": "Hello."}, {"listen": "Still there?"}, {"say": "Yes, still here."},
                  go_away_after_s=1.0, go_away_time_left_s=1.5)
    metrics = BridgeMetrics()
    async with GeminiEmulator(sc, api_key="test-key") as emu:
        link, handler = make_link(emu, metrics)
        link.start()
        await wait_for(lambda: link.sessions_opened >= 2, timeout=6)
        await speak(link, "Still there")
        await wait_for(lambda: "Yes, still here." in handler.said())
        await link.close()
    assert metrics.handovers.labels("ok")._value.get() >= 1
    assert all(s.close_code != 1011 for s in emu.sessions), "handed over before the server's deadline close"
    assert handler.fatal is None


async def test_1011_is_retried_with_the_handle():
    sc = scenario({"say": "Hello."}, {"close": {"code": 1011, "reason": "Internal error encountered."}})
    async with GeminiEmulator(sc, api_key="test-key") as emu:
        emu.queue_scenario(sc)
        link, handler = make_link(emu)
        link.start()
        await wait_for(lambda: link.sessions_opened >= 2)
        await link.close()
    assert handler.fatal is None
    assert link.last_close[0] == 1011
    assert handler.connected[1] == (True, False)  # resumed, no kickoff again


@pytest.mark.parametrize("code", [1007, 1008])
async def test_1007_and_1008_are_fatal_without_retry(code):
    sc = scenario({"say": "Hello."}, {"close": {"code": code, "reason": "Request contains an invalid argument."}})
    async with GeminiEmulator(sc, api_key="test-key") as emu:
        link, handler = make_link(emu)
        link.start()
        await wait_for(lambda: handler.fatal is not None)
        await link.close()
    assert handler.fatal.startswith(str(code))
    assert link.sessions_opened == 1 and link.state in (LinkState.FAILED, LinkState.CLOSED)


async def test_unknown_model_is_a_configuration_error():
    async with GeminiEmulator(scenario({"say": "Hi"}), api_key="test-key") as emu:
        box: list = []
        handler = Recorder(box)
        opts = LiveOptions(model="gemini-9-nonexistent", voice="Charon")
        link = GeminiLink(emu.client(), opts.model, lambda h, _r: live_config(opts, CTX, h), handler,
                          BridgeMetrics(), mime_type="audio/pcm;rate=16000")
        box.append(link)
        link.start()
        await wait_for(lambda: handler.fatal is not None)
        await link.close()
    assert handler.fatal.startswith("1008")


async def test_unreachable_gemini_gives_up_after_bounded_retries():
    async with GeminiEmulator(scenario(), api_key="test-key") as emu:
        client = emu.client()
    link_box: list = []
    handler = Recorder(link_box)
    link = GeminiLink(client, OPTS.model, lambda h, _r: live_config(OPTS, CTX, h), handler, BridgeMetrics(),
                      mime_type="audio/pcm;rate=16000", max_attempts=2, backoff_s=0.01)
    link_box.append(link)
    link.start()
    await link.send_audio(b"\x00\x00" * 320)  # queued, not lost, not raised
    await wait_for(lambda: handler.fatal is not None)
    await link.close()
    assert "after 2 retries" in handler.fatal
