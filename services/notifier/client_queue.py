"""A bounded per-client queue of SSE frames.

State frames (they carry a stream sequence) are kept in order and never dropped: when the
queue is over its bound the *client* is dropped instead (it resumes by id). Ephemeral
frames (partial transcripts, service health) have a coalescing key: a newer frame with the
same key replaces the queued one in place, so a burst of partials costs one slot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Frame:
    data: bytes                          # the encoded SSE frame
    seq: int | None = None               # stream sequence (state frames)
    coalesce_key: Hashable | None = None  # set on ephemeral frames only


class ClientQueue:
    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("queue size must be at least 1")
        self.maxsize = maxsize
        self._items: deque[Frame | tuple[str, Hashable]] = deque()  # a frame, or ("coalesced", key)
        self._latest: dict[Hashable, Frame] = {}
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, frame: Frame) -> bool:
        """Queue ``frame``; False when the queue is now over its bound (drop the client)."""
        key = frame.coalesce_key
        if key is not None:
            if key in self._latest:
                self._latest[key] = frame
                return True
            self._latest[key] = frame
            self._items.append(("coalesced", key))
        else:
            self._items.append(frame)
        self.wake()
        return len(self._items) <= self.maxsize

    def wake(self) -> None:
        """Wake a waiting ``get`` (with nothing queued it returns None: the client is closing)."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Frame | None:
        """The next frame; None when woken with nothing queued (the client is closing).

        A bare future, no timer: this runs once per delivery per client. Heartbeats are
        frames too (the hub queues a coalesced ping to every client on a single ticker)."""
        if not self._items:
            self._waiter = waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
            if not self._items:
                return None
        return self._pop()

    def get_nowait(self) -> Frame | None:
        return self._pop() if self._items else None

    def _pop(self) -> Frame:
        item = self._items.popleft()
        if isinstance(item, Frame):
            return item
        return self._latest.pop(item[1])

