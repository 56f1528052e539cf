"""What GeminiLink sends, queues and replays, and the states it moves through.

Typed rather than ``("audio", pcm)`` tuples and state strings: a queue item says what it
is, and a misspelt state is an error, not a link stuck in a state nothing checks for.
"""

from __future__ import annotations

import enum
from typing import TypeAlias

import msgspec
from google.genai import types


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
