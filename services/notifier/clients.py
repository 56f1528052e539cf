"""One connected SSE client: what it may see, its queue, and how it is dropped."""

from __future__ import annotations

import asyncio
import logging

from .auth import Viewer
from .client_queue import ClientQueue, Frame
from .metrics import NotifierMetrics

log = logging.getLogger(__name__)


class SseClient:
    def __init__(self, viewer: Viewer, queue_size: int, transport: asyncio.Transport | None,
                 metrics: NotifierMetrics) -> None:
        self.viewer = viewer
        self.queue = ClientQueue(queue_size)
        self.after = 0              # live state frames at or below this sequence are skipped
        self.closed = asyncio.Event()
        self.drop_reason: str | None = None
        self.transport = transport
        self._metrics = metrics

    def offer(self, frame: Frame, property_id: str | None) -> None:
        """Queue a frame if this client may see it; drop the client if it cannot keep up."""
        if self.closed.is_set():
            return
        if property_id is not None and not self.viewer.may_see(property_id):
            return
        if frame.seq is not None and frame.seq <= self.after:
            return
        if not self.queue.put(frame):
            self.drop("slow")

    def drop(self, reason: str) -> None:
        """Close the connection now; the browser reconnects and resumes by id."""
        if self.closed.is_set():
            return
        self.drop_reason = reason
        self.closed.set()
        self._metrics.dropped.labels(reason).inc()
        self.queue.wake()
        log.info("sse client dropped", extra={"reason": reason, "viewer": self.viewer.label})
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()
