"""What GeminiLink sends, queues and replays, the states it moves through, and the handler
(the call) it reports to.

Typed rather than ``("audio", pcm)`` tuples and state strings: a queue item says what it
is, and a misspelt state is an error, not a link stuck in a state nothing checks for.
"""

from __future__ import annotations

import enum
import re
from typing import Protocol, TypeAlias

import msgspec
from google.genai import types

from .live_fast import AudioChunk


class LinkHandler(Protocol):
    """The call's side of the link."""

    def on_audio(self, chunk: AudioChunk) -> None: ...
    async def on_message(self, msg: types.LiveServerMessage) -> None: ...
    def on_tool_call(self, calls: list[types.FunctionCall]) -> None: ...
    def on_tool_cancellation(self, ids: list[str]) -> None: ...
    def at_turn_boundary(self) -> bool: ...
    async def on_connected(self, resumed: bool, first: bool) -> None: ...
    async def on_fatal(self, reason: str) -> None: ...


class LinkState(enum.Enum):
    IDLE = "idle"                  # not started
    CONNECTING = "connecting"      # the first session is being opened
    LIVE = "live"                  # a session is up: sends go straight to it
    HANDOVER = "handover"          # goAway: moving to a fresh resumed session
    RECONNECTING = "reconnecting"  # the session was lost: backing off, then resuming
    CLOSED = "closed"              # the call ended
    FAILED = "failed"              # no session could be had: the call's fallback ran


class CallerAudio(msgspec.Struct, frozen=True):
    """PCM16 at the link's rate: one frame, or a batch of them."""

    pcm: bytes


class CallerText(msgspec.Struct, frozen=True):
    """Text for the model as realtime input (kick-off, DTMF, operator messages)."""

    text: str


class ToolAnswer(msgspec.Struct, frozen=True):
    """The answer to one of the model's function calls."""

    response: types.FunctionResponse


Outgoing: TypeAlias = CallerAudio | CallerText | ToolAnswer


def parse_duration(text: str | None) -> float:
    """protobuf Duration JSON ("50s", "0.600s") -> seconds."""
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)s\s*", text or "")
    return float(match.group(1)) if match else 0.0
