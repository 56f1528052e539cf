"""Module-level encoders/decoders: build them once, never per message."""

from __future__ import annotations

from typing import TypeVar

import msgspec

from .commands import AnyCallControl
from .events import AnyEvent
from .tools import AnyToolRequest, AnyToolResult

T = TypeVar("T")

ENCODER = msgspec.json.Encoder()
EVENT_DECODER: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)
TOOL_REQUEST_DECODER: msgspec.json.Decoder[AnyToolRequest] = msgspec.json.Decoder(AnyToolRequest)
TOOL_RESULT_DECODER: msgspec.json.Decoder[AnyToolResult] = msgspec.json.Decoder(AnyToolResult)
CALL_CONTROL_DECODER: msgspec.json.Decoder[AnyCallControl] = msgspec.json.Decoder(AnyCallControl)


def encode(message: msgspec.Struct) -> bytes:
    return ENCODER.encode(message)


def decode(data: bytes | str, type_: type[T]) -> T:
    """Decode into one concrete contract type (raises ``msgspec.ValidationError``)."""
    return msgspec.json.decode(data, type=type_)
