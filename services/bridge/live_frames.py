"""Whole model-audio frames taken off the Gemini connection's byte stream before websockets'
parser runs (measured: its generator-based ``Frame.parse``, ``read_exact`` and event plumbing
were ≈ 6 µs of Python per 40 ms model-audio message; docs/benchmarks.md).

``ServerFrames`` shadows ``data_received`` on one websockets client connection. For each chunk
the transport delivers, while websockets' own parser sits idle at a frame boundary (its
``parse()`` suspended in ``at_eof()``: nothing buffered) and the connection is OPEN with no
fragmented message in progress, it reads the leading frames itself as long as each one is

* complete in the chunk,
* a FIN text or binary frame with no reserved bit (``0x81``/``0x82``),
* unmasked (a server never masks, RFC 6455 §5.1),
* no longer than the connection's ``max_size``,

and hands each such payload to ``on_frame`` — exactly what websockets would have done with it
(``Protocol.recv_frame`` keeps no state for a whole unfragmented data frame; the connection
then only puts it on its message queue). The first byte of anything else — a control frame,
a close, a fragment, a partial frame, a reserved bit, a masked or oversized frame, an unknown
opcode — and everything after it in the chunk go to websockets' ``data_received`` untouched, so
websockets sees a byte stream that differs from the wire only by whole frames removed at frame
boundaries, and every error, close and ping answer is its own. Not installed when the
connection negotiated an extension (permessage-deflate rewrites frames) or logs frames (debug).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from websockets.protocol import OPEN, Protocol
from websockets.streams import StreamReader

_WHOLE_TEXT, _WHOLE_BINARY = 0x81, 0x82  # FIN, no RSV bit, opcode 1 / 2
_PARSE = Protocol.parse.__code__
_AT_EOF = StreamReader.at_eof.__code__


class ServerFrames:
    """``on_frame(opcode, payload)`` for every whole plain data frame at the head of a chunk."""

    def __init__(self, ws: Any, on_frame: Callable[[int, bytes], None]) -> None:
        self.protocol = ws.protocol
        self.on_frame = on_frame
        self.limit = _max_size(ws.protocol)
        self.taken = 0  # frames read here (tests, profiles)
        self._frames_loop = _frames_loop(ws.protocol.parser)  # Protocol.parse, inside ClientProtocol.parse
        self._websockets = ws.data_received  # the class's bound method
        ws.data_received = self.data_received
        ws.transport.set_protocol(ws)  # uvloop's TCP transport caches the bound method: refresh it

    @staticmethod
    def supports(ws: Any) -> bool:
        """websockets 17's Sans-I/O client protocol under an asyncio connection, no extension,
        no frame logging, its frame loop running (it may be mid-frame: chunks go to websockets
        until it is between frames again)."""
        protocol = getattr(ws, "protocol", None)
        return isinstance(protocol, Protocol) and hasattr(ws, "transport") and not protocol.extensions \
            and not protocol.debug and hasattr(protocol, "current_size") \
            and _frames_loop(protocol.parser) is not None

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        if protocol.state is not OPEN or protocol.current_size is not None \
                or not _idle(self._frames_loop):
            self._websockets(data)
            return
        pos = self._take_whole_frames(data)
        if pos < len(data):
            self._websockets(data[pos:] if pos else data)

    def _take_whole_frames(self, data: bytes) -> int:
        """Where the first frame this class does not take starts (``len(data)`` if none)."""
        size, pos, limit = len(data), 0, self.limit
        while size - pos >= 2:
            first, length = data[pos], data[pos + 1]
            if first != _WHOLE_TEXT and first != _WHOLE_BINARY:
                break
            start = pos + 2
            if length == 126:
                start = pos + 4
                length = int.from_bytes(data[pos + 2:start], "big")
            elif length == 127:
                start = pos + 10
                length = int.from_bytes(data[pos + 2:start], "big")
            elif length > 127:  # the MASK bit: a protocol error websockets reports
                break
            end = start + length
            if end > size or length > limit:
                break
            self.taken += 1
            self.on_frame(first & 0x0F, data[start:end])
            pos = end
            if self.protocol.state is not OPEN:  # closed from inside on_frame: websockets has the rest
                break
        return pos


def _frames_loop(parser: Any) -> Any:
    """The running ``Protocol.parse`` generator inside the connection's parser, or None."""
    while parser is not None and getattr(parser, "gi_code", None) is not _PARSE:
        parser = getattr(parser, "gi_yieldfrom", None)
    return parser


def _idle(frames_loop: Any) -> bool:
    """websockets' frame loop is between frames: waiting in ``at_eof()``, which it does only on
    an empty buffer (mid-frame it waits in ``Frame.parse``; once a close or an error ended the
    loop, it waits nowhere and ``discard()`` has replaced it)."""
    return getattr(frames_loop.gi_yieldfrom, "gi_code", None) is _AT_EOF


def _max_size(protocol: Protocol) -> float:
    limits = [n for n in (protocol.max_message_size, protocol.max_fragment_size) if n is not None]
    return min(limits) if limits else float("inf")
