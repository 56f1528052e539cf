"""The model's function calls are handled in one place, GeminiLink: a BLOCKING model's
calls hold the caller's audio until every one is answered or cancelled (such models close
the session with 1008 on audio meanwhile), the handler runs the tools, and a NON_BLOCKING
model's calls never hold audio."""

from __future__ import annotations

from google.genai import types

from services.bridge.gemini_link import GeminiLink
from services.bridge.link_messages import CallerAudio, LinkState, ToolAnswer
from services.bridge.metrics import BridgeMetrics

F1, F2, F3 = b"\x01\x00" * 320, b"\x02\x00" * 320, b"\x03\x00" * 320


class Session:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    async def send_realtime_input(self, audio=None, text=None):
        self.sent.append(("audio", audio.data) if audio is not None else ("text", text))

    async def send_tool_response(self, function_responses):
        self.sent.append(("tool", function_responses[0].id))


class Handler:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.cancelled: list[str] = []
        self.messages = 0

    def on_tool_call(self, calls):
        self.calls.extend(fc.id for fc in calls)

    def on_tool_cancellation(self, ids):
        self.cancelled.extend(ids)

    async def on_message(self, msg):
        self.messages += 1


def live_link(blocking: bool) -> tuple[GeminiLink, Session, Handler]:
    handler = Handler()
    link = GeminiLink(None, "m", lambda h, r: None, handler, BridgeMetrics(), mime_type="audio/pcm;rate=16000",
                      fast_path=False, gate_during_tools=blocking)
    session = Session()
    link.session, link.state = session, LinkState.LIVE
    return link, session, handler


def tool_call(*ids: str) -> types.LiveServerMessage:
    return types.LiveServerMessage(tool_call=types.LiveServerToolCall(
        function_calls=[types.FunctionCall(id=i, name="search_maintenance", args={}) for i in ids]))


def cancellation(*ids: str) -> types.LiveServerMessage:
    return types.LiveServerMessage(tool_call_cancellation=types.LiveServerToolCallCancellation(ids=list(ids)))


async def test_blocking_calls_hold_audio_until_every_call_is_answered():
    link, session, handler = live_link(blocking=True)
    await link._dispatch(tool_call("a", "b"))
    assert handler.calls == ["a", "b"] and handler.messages == 1 and link.audio_gate
    await link.send_audio(F1)
    await link.send_tool_response(types.FunctionResponse(id="a", name="search_maintenance", response={}))
    await link.send_audio(F2)
    assert session.sent == [("tool", "a")]  # "b" is still awaited: the audio waits, in order
    assert list(link._queue) == [CallerAudio(F1), CallerAudio(F2)]
    await link.send_tool_response(types.FunctionResponse(id="b", name="search_maintenance", response={}))
    await link.send_audio(F3)
    assert session.sent == [("tool", "a"), ("tool", "b"), ("audio", F1), ("audio", F2), ("audio", F3)]
    assert not link.audio_gate and not link._queue


async def test_a_cancelled_call_is_not_awaited():
    link, session, handler = live_link(blocking=True)
    await link._dispatch(tool_call("a"))
    await link.send_audio(F1)
    await link._dispatch(cancellation("a"))
    assert handler.cancelled == ["a"]
    assert session.sent == [("audio", F1)] and not link.audio_gate


async def test_non_blocking_calls_never_hold_audio():
    link, session, handler = live_link(blocking=False)
    await link._dispatch(tool_call("a"))
    await link.send_audio(F1)
    assert handler.calls == ["a"] and session.sent == [("audio", F1)] and not link.audio_gate


async def test_an_answer_is_replayed_only_to_a_session_that_saw_its_call():
    link, _, _ = live_link(blocking=True)
    await link._dispatch(tool_call("a"))
    await link.send_tool_response(types.FunctionResponse(id="a", name="search_maintenance", response={}))
    assert [type(i) for i in link._replay_items(resumed=True)] == []  # the resumed state never saw call "a"
    link._since_handle.append(ToolAnswer(types.FunctionResponse(id="a", name="x", response={})))
    assert [type(i) for i in link._replay_items(resumed=False)] == [ToolAnswer]
