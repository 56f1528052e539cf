"""Twilio Media Streams WebSocket messages (bidirectional `<Connect><Stream>`).

Pure wire codec: JSON text <-> frozen msgspec Structs, tagged by the "event" field.
Inbound (Twilio -> us): connected, start, media, dtmf, mark, stop.
Outbound (us -> Twilio): media, mark, clear. Always send the returned `str` as a
*text* frame; Twilio rejects binary frames (error 31950).

`payload` fields are `bytes`: msgspec does the base64 in C while parsing, which
keeps the hot inbound `media` decode to one call.
"""

from __future__ import annotations

from typing import TypeVar, Union

import msgspec

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Clear",
    "Connected",
    "Dtmf",
    "DtmfInfo",
    "InboundMessage",
    "Mark",
    "MarkInfo",
    "Media",
    "MediaFormat",
    "MediaInfo",
    "OutboundMark",
    "OutboundMedia",
    "OutboundMediaInfo",
    "OutboundMessage",
    "Start",
    "StartInfo",
    "Stop",
    "StopInfo",
    "TwilioCodecError",
    "decode",
    "decode_outbound",
    "encode",
    "encode_clear",
    "encode_mark",
    "encode_media",
]

# A 20 ms media message is ~330 bytes and `start` stays small (<Parameter>s are
# limited to 500 chars), so anything near this is garbage or abuse.
MAX_MESSAGE_BYTES = 64 * 1024


class TwilioCodecError(ValueError):
    """A Media Streams message could not be decoded or encoded."""


class _Body(msgspec.Struct, frozen=True, rename="camel"):
    pass


class _Event(msgspec.Struct, frozen=True, rename="camel", tag_field="event"):
    """Subclasses repeat frozen=True (msgspec inherits it; type checkers need it said)."""


# ---- inbound bodies -------------------------------------------------------


class MediaFormat(_Body, frozen=True):
    encoding: str
    sample_rate: int
    channels: int


class StartInfo(_Body, frozen=True):
    account_sid: str
    stream_sid: str
    call_sid: str
    tracks: list[str]
    media_format: MediaFormat
    custom_parameters: dict[str, str] = msgspec.field(default_factory=dict)


class MediaInfo(_Body, frozen=True):
    track: str
    chunk: str
    timestamp: str
    payload: bytes  # μ-law, base64 on the wire


class DtmfInfo(_Body, frozen=True):
    track: str
    digit: str


class MarkInfo(_Body, frozen=True):
    name: str


class StopInfo(_Body, frozen=True):
    account_sid: str
    call_sid: str


# ---- inbound messages (field order follows Twilio's documented samples) ----


class Connected(_Event, frozen=True, tag="connected"):
    protocol: str
    version: str


class Start(_Event, frozen=True, tag="start"):
    sequence_number: str
    start: StartInfo
    stream_sid: str


class Media(_Event, frozen=True, tag="media"):
    sequence_number: str
    media: MediaInfo
    stream_sid: str


class Dtmf(_Event, frozen=True, tag="dtmf"):
    stream_sid: str
    sequence_number: str
    dtmf: DtmfInfo


class Mark(_Event, frozen=True, tag="mark"):
    sequence_number: str
    stream_sid: str
    mark: MarkInfo


class Stop(_Event, frozen=True, tag="stop"):
    sequence_number: str
    stop: StopInfo
    stream_sid: str


InboundMessage = Union[Connected, Start, Media, Dtmf, Mark, Stop]

# ---- outbound messages ------------------------------------------------------


class OutboundMediaInfo(_Body, frozen=True):
    payload: bytes  # μ-law, base64 on the wire


class OutboundMedia(_Event, frozen=True, tag="media"):
    stream_sid: str
    media: OutboundMediaInfo


class OutboundMark(_Event, frozen=True, tag="mark"):
    stream_sid: str
    mark: MarkInfo


class Clear(_Event, frozen=True, tag="clear"):
    stream_sid: str


OutboundMessage = Union[OutboundMedia, OutboundMark, Clear]

T = TypeVar("T")
_inbound_decoder: msgspec.json.Decoder[InboundMessage] = msgspec.json.Decoder(InboundMessage)
_outbound_decoder: msgspec.json.Decoder[OutboundMessage] = msgspec.json.Decoder(OutboundMessage)
_encoder = msgspec.json.Encoder()


def decode(data: str | bytes) -> InboundMessage:
    """Parse one Twilio -> server text frame. Raises TwilioCodecError."""
    return _decode(_inbound_decoder, data)


def decode_outbound(data: str | bytes) -> OutboundMessage:
    """Parse one server -> Twilio frame (for fakes and tests). Raises TwilioCodecError."""
    return _decode(_outbound_decoder, data)


def _decode(decoder: msgspec.json.Decoder[T], data: str | bytes) -> T:
    if len(data) > MAX_MESSAGE_BYTES:
        raise TwilioCodecError(f"Twilio message too large: {len(data)} > {MAX_MESSAGE_BYTES}")
    try:
        return decoder.decode(data)
    except msgspec.DecodeError as exc:  # ValidationError is a subclass
        raise TwilioCodecError(f"malformed Twilio message: {exc}") from None


def encode(message: InboundMessage | OutboundMessage) -> str:
    """Any message Struct -> JSON text (outbound, or inbound for fakes and tests)."""
    return _encoder.encode(message).decode()


def encode_media(stream_sid: str, payload: bytes) -> str:
    """The hot outbound message. msgspec encodes a Struct as fast as a string
    template (~0.6 us for 160 bytes, measured) and escapes correctly."""
    return _encoder.encode(OutboundMedia(stream_sid, OutboundMediaInfo(payload))).decode()


def encode_mark(stream_sid: str, name: str) -> str:
    return encode(OutboundMark(stream_sid=stream_sid, mark=MarkInfo(name=name)))


def encode_clear(stream_sid: str) -> str:
    return encode(Clear(stream_sid=stream_sid))
