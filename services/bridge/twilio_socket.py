"""The Twilio media stream's WebSocket, where a caller frame can be forwarded as it is parsed.

aiohttp parses each frame in C and queues it; ``receive()`` then wakes the call's read loop
(a future, a task step, ``receive``'s own Python) for every 20 ms frame — per frame, more CPU
than forwarding it (docs/benchmarks.md). ``TwilioSocket`` is a ``WebSocketResponse`` whose
message queue is a ``MediaTap``: while the read loop waits with nothing queued (so nothing can
be ahead of the frame) the call's ``take`` callback gets each text frame first and forwards a
media frame there and then; whatever it declines (marks, ``stop``, DTMF, malformed, or a frame
the Gemini link cannot take synchronously) is queued for ``receive()`` as without the tap, so
the call sees messages in wire order.

Pinned to aiohttp 3.14.5: ``_post_start`` below is aiohttp's own with the queue class swapped
(tests/common/test_third_party_internals.py fails when aiohttp's changes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp._websocket.reader import WebSocketDataQueue
from aiohttp.http import WebSocketReader, WebSocketWriter
from aiohttp.helpers import DEFAULT_CHUNK_SIZE
from aiohttp.web_request import BaseRequest

log = logging.getLogger(__name__)

TakeText = Callable[[bytes], bool]


class MediaTap(WebSocketDataQueue):
    """aiohttp's queue for one stream; ``take`` (set only while the reader waits) sees text
    frames first. An exception in ``take`` ends the stream like a protocol error would, and is
    kept in ``error`` for the call to re-raise."""

    def __init__(self, protocol: Any, limit: int, *, loop: Any) -> None:
        super().__init__(protocol, limit, loop=loop)
        self.take: TakeText | None = None
        self.taken = 0  # frames handled here (tests, profiles)
        self.error: BaseException | None = None

    def feed_data(self, data: Any, size: int) -> None:
        take = self.take
        if take is not None and data[0] is _TEXT and not self._buffer:
            try:
                if take(data[1]):
                    self.taken += 1
                    return
            except Exception as exc:  # noqa: BLE001 - surfaces in the read loop, as without the tap
                self.error = exc
                self.set_exception(exc)
                return
        super().feed_data(data, size)


_TEXT = WSMsgType.TEXT


class TwilioSocket(web.WebSocketResponse):
    """A ``WebSocketResponse`` (text frames as bytes) whose queue is a ``MediaTap``."""

    def __init__(self, *, max_msg_size: int) -> None:
        super().__init__(max_msg_size=max_msg_size, autoping=True, decode_text=False)

    @property
    def media_tap(self) -> MediaTap | None:
        reader = self._reader
        return reader if isinstance(reader, MediaTap) else None

    def _post_start(self, request: BaseRequest, protocol: str | None, writer: WebSocketWriter) -> None:
        # aiohttp 3.14.5's WebSocketResponse._post_start, with MediaTap for WebSocketDataQueue
        self._ws_protocol = protocol
        self._writer = writer
        self._reset_heartbeat()
        loop = self._loop
        assert loop is not None
        self._reader = MediaTap(request._protocol, DEFAULT_CHUNK_SIZE, loop=loop)
        self._parser = WebSocketReader(self._reader, self._max_msg_size, compress=bool(self._compress),
                                       decode_text=self._decode_text)
        cb = None if self._heartbeat is None else self._on_data_received
        request.protocol.set_parser(self._parser, data_received_cb=cb)
        request.protocol.keep_alive(False)
