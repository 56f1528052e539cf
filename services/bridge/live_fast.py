"""Hot-path audio I/O on a google-genai Live session (measured: the SDK's per-message cost
dominated the bridge's CPU).

The session is still opened, set up and closed by the SDK (``client.aio.live.connect``);
only the two per-frame operations skip its generic machinery:

* ``send_audio`` writes the exact frame ``session.send_realtime_input(audio=Blob(...))``
  writes (``{"realtime_input": {"audio": {"data": <url-safe base64>, "mime_type": ...}}}``,
  spec §3.2) on the session's websocket, without pydantic validation per 20 ms frame;
* ``AudioWriter`` writes that message as one masked WebSocket frame straight to the
  connection's transport when websockets' own ``send`` would do exactly that and nothing
  else (open, not paused by flow control, no fragmented send in progress); otherwise the
  caller uses ``send_audio``. websockets' send context, generator-based framing and
  per-call checks were the largest single cost of a caller frame (docs/benchmarks.md).
  Over TLS it encrypts the frame with the connection's ``SSLObject`` and hands the record
  to the socket transport itself — what asyncio's ``SSLProtocol`` does for a write when
  nothing is backlogged, minus five Python calls (≈ 2.8 µs of ≈ 8 µs per frame); anything
  else (handshake, shutdown, backlog, flow control) goes through asyncio as before. uvloop's
  TLS layer (the default loop) is C with no Python view of its state, so there the frame goes
  to its transport's ``write``;
* ``AudioTap`` hands a plain model-audio frame to the call straight from websockets' parser
  when the link's receive loop is waiting with nothing queued (so nothing can be ahead of
  it): no message queue, future or task step per 40 ms chunk. Any other frame, or any frame
  while the loop is busy or messages are queued, takes websockets' queue as before, so the
  order the call sees is the order on the wire. In front of websockets' parser,
  ``live_frames.ServerFrames`` reads whole plain data frames itself and hands them to the tap;
* ``receive`` reads the session's websocket like the SDK's ``_receive``: plain model-audio
  frames (the bulk of traffic) are decoded with msgspec into ``AudioChunk``s; every other
  frame goes through the SDK's own converter into ``LiveServerMessage``, and a close raises
  the SDK's ``APIError`` with the close code, exactly like ``receive()``.

Pinned to google-genai 3.3.0 (``AsyncSession._ws``); ``available(session)`` checks it, and
the link falls back to the public SDK calls when it is not there.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
from asyncio import sslproto
from binascii import b2a_base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import websockets
from google.genai import _live_converters, errors, types
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN

from .live_frames import ServerFrames

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets without its C extension
    from websockets.utils import apply_mask


def available(session: Any) -> bool:
    return hasattr(getattr(session, "_ws", None), "send") and hasattr(session._ws, "recv")


def audio_frame(pcm: bytes, mime_type: str) -> str:
    data = base64.urlsafe_b64encode(pcm).decode()
    return '{"realtime_input": {"audio": {"data": "%s", "mime_type": "%s"}}}' % (data, mime_type)


async def send_audio(session: Any, pcm: bytes, mime_type: str) -> None:
    await session._ws.send(audio_frame(pcm, mime_type))


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_MASKS = 1024  # mask keys drawn from os.urandom per refill (RFC 6455 §5.3: unpredictable)


class AudioWriter:
    """``audio_frame(pcm)`` as a client text frame, written in one ``transport.write``."""

    def __init__(self, session: Any, mime_type: str) -> None:
        self.ws = session._ws
        self._protocol = self.ws.protocol
        self._prefix = b'{"realtime_input": {"audio": {"data": "'
        self._suffix = b'", "mime_type": "%s"}}}' % mime_type.encode()
        self._masks = b""
        self._next = 0
        self._size = -1  # every 20 ms caller frame has the same size: its header is built once
        self._header = b""
        self.tls: Any = tls_protocol(self.ws.transport)

    @staticmethod
    def supports(session: Any) -> bool:
        """websockets' asyncio connection (what google-genai 3.3 uses), with its transport."""
        ws = getattr(session, "_ws", None)
        return all(hasattr(ws, name) for name in ("protocol", "paused", "send_in_progress", "transport"))

    def ready(self) -> bool:
        """``write`` would write a frame now (it returns False otherwise)."""
        ws = self.ws
        return self._protocol.state is OPEN and not ws.paused and ws.send_in_progress is None

    def write(self, pcm: bytes) -> bool:
        """False when websockets must send it (closing, flow control, a send in progress)."""
        ws = self.ws
        if self._protocol.state is not OPEN or ws.paused or ws.send_in_progress is not None:
            return False
        payload = self._prefix + b2a_base64(pcm, newline=False).translate(_URLSAFE) + self._suffix
        size = len(payload)
        if size != self._size:
            if size >= 65536:
                return False
            self._header = bytes((0x81, 0x80 | size)) if size < 126 else b"\x81\xfe" + size.to_bytes(2, "big")
            self._size = size
        at = self._next
        if at == len(self._masks):  # RFC 6455 §5.3: each key fresh from the OS's CSPRNG, never reused
            self._masks, at = os.urandom(4 * _MASKS), 0
        self._next = at + 4
        mask = self._masks[at:at + 4]
        frame = b"".join((self._header, mask, apply_mask(payload, mask)))
        tls = self.tls
        if tls is None:
            ws.transport.write(frame)
        else:
            self._write_tls(tls, frame)
        return True

    def _write_tls(self, tls: Any, frame: bytes) -> None:
        if tls._state is not _WRAPPED or tls._write_backlog or tls._ssl_writing_paused:
            self.ws.transport.write(frame)
            return
        try:
            written = tls._sslobj.write(frame)  # a memory BIO: all of it, or SSLWantReadError
        except ssl.SSLWantReadError:
            written = 0
        tls._transport.write(tls._outgoing.read())
        if written < len(frame):
            self.ws.transport.write(frame[written:])  # asyncio's path: backlogged, retried after the read


_WRAPPED = sslproto.SSLProtocolState.WRAPPED


def tls_protocol(transport: Any) -> Any:  # an sslproto.SSLProtocol (typeshed lacks its private fields) or None
    """asyncio's TLS layer under a transport (Python 3.11+: ``_SSLProtocolTransport``), or
    None (plain TCP, another event loop, or asyncio's internals moved: the plain path)."""
    protocol = getattr(transport, "_ssl_protocol", None)
    if isinstance(protocol, sslproto.SSLProtocol) and all(
            hasattr(protocol, name) for name in ("_state", "_write_backlog", "_ssl_writing_paused", "_sslobj",
                                                 "_outgoing", "_transport")):
        return protocol
    return None


class _Inline(msgspec.Struct):
    data: bytes
    mimeType: str = "audio/pcm;rate=24000"


class _Part(msgspec.Struct):
    inlineData: _Inline


class _Turn(msgspec.Struct):
    parts: list[_Part]
    role: str = "model"


class _Text(msgspec.Struct):
    text: str = ""


class _Content(msgspec.Struct, forbid_unknown_fields=True):
    modelTurn: _Turn | None = None
    outputTranscription: _Text | None = None


class _AudioFrame(msgspec.Struct, forbid_unknown_fields=True):
    serverContent: _Content


_audio_decoder = msgspec.json.Decoder(_AudioFrame)


class AudioChunk(msgspec.Struct):
    """A plain model-audio frame: 24 kHz PCM16 parts and, maybe, transcription text."""

    pcm: list[bytes]
    text: str | None = None


def _audio_chunk(raw: bytes | bytearray | memoryview | str) -> AudioChunk | None:
    """A model-audio frame (optionally with its transcription) -> AudioChunk, else None."""
    try:
        frame = _audio_decoder.decode(raw)
    except msgspec.DecodeError:
        return None
    sc = frame.serverContent
    if sc.modelTurn is None and sc.outputTranscription is None:
        return None
    pcm = [p.inlineData.data for p in sc.modelTurn.parts] if sc.modelTurn is not None else []
    return AudioChunk(pcm, sc.outputTranscription.text if sc.outputTranscription else None)


class AudioTap:
    """Installed on one websockets connection (``Assembler.put`` shadowed on the instance, and
    ``live_frames.ServerFrames`` in front of its parser when it can be);
    ``supports`` says whether this websockets has the parts it uses (17.x asyncio)."""

    def __init__(self, ws: Any, on_audio: Callable[[AudioChunk], None]) -> None:
        self.frames = ws.recv_messages.frames  # the queue recv() reads, with its waiter
        self._put = ws.recv_messages.put
        self.on_audio = on_audio
        self.tapped = 0  # chunks delivered here (tests, profiles)
        ws.recv_messages.put = self.put
        self.server_frames = ServerFrames(ws, self.put_data) if ServerFrames.supports(ws) else None

    @staticmethod
    def supports(session: Any) -> bool:
        frames = getattr(getattr(getattr(session, "_ws", None), "recv_messages", None), "frames", None)
        return hasattr(frames, "queue") and hasattr(frames, "get_waiter")

    def put(self, frame: Frame) -> None:
        """A frame from websockets' parser (what the connection puts on its message queue)."""
        if not (frame.fin and frame.opcode in _WHOLE_DATA and self._tapped(frame.data)):
            self._put(frame)

    def put_data(self, opcode: int, payload: bytes) -> None:
        """A whole unfragmented data frame read by ``ServerFrames`` (websockets' parser skipped)."""
        if not self._tapped(payload):
            self._put(Frame(_DATA_OPCODES[opcode], payload))

    def _tapped(self, data: bytes | bytearray | memoryview) -> bool:
        frames = self.frames
        waiter = frames.get_waiter
        if waiter is None or waiter.done() or frames.queue:
            return False
        chunk = _audio_chunk(data)
        if chunk is None:
            return False
        self.tapped += 1
        try:
            self.on_audio(chunk)
        except Exception as exc:  # noqa: BLE001 - raised in the receive loop, as without the tap
            waiter.set_exception(exc)
        return True


_DATA_OPCODES = {1: Opcode.TEXT, 2: Opcode.BINARY}
_WHOLE_DATA = (Opcode.TEXT, Opcode.BINARY)


def _sdk_message(raw: bytes | str) -> types.LiveServerMessage:
    """What the SDK's ``AsyncSession._receive`` does for the Gemini API (mldev)."""
    response = json.loads(raw) if raw else {}
    converted = _live_converters._LiveServerMessage_from_mldev(response)
    if not converted and response:
        errors.APIError.raise_error(response.get("code"), response, None)  # type: ignore[arg-type] # as the SDK
    return types.LiveServerMessage._from_response(response=converted, kwargs={})


async def receive(session: Any) -> AsyncIterator[types.LiveServerMessage | AudioChunk]:
    ws = session._ws
    while True:
        try:
            raw = await ws.recv(decode=False)
        except websockets.exceptions.ConnectionClosed as exc:
            code, reason = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (1006, "abnormal closure [internal]")
            errors.APIError.raise_error(code, reason, None)
        yield _audio_chunk(raw) or _sdk_message(raw)
