"""Events straight to JetStream (the bridge has no database, hence no outbox).

Each event carries a deterministic ``Nats-Msg-Id`` so a retried publish is stored once
(the EVENTS stream's duplicate window). Publishing runs in one background task per
process, off the audio path; a failed publish is retried with backoff, and what is still
queued at shutdown is flushed with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec
from nats.aio.client import Client as NATS

from fixline_proto import codec, subjects
from fixline_proto.base import Event, tag_of
from services.common.tasks import TaskSet, cancel_and_wait

log = logging.getLogger(__name__)
RETRIES = 5


class EventSink:
    def __init__(self, nc: NATS) -> None:
        self.js = nc.jetstream()
        self.queue: asyncio.Queue[tuple[Event, str]] = asyncio.Queue()
        self.published = 0
        self.failed = 0
        self._task: asyncio.Task[None] | None = None
        self._tasks = TaskSet("event-sink")

    def start(self) -> None:
        self._task = self._tasks.spawn(self._run(), name="event-sink")

    def emit(self, event: Event, msg_id: str) -> None:
        self.queue.put_nowait((event, msg_id))

    async def _run(self) -> None:
        while True:
            event, msg_id = await self.queue.get()
            await self._publish(event, msg_id)
            self.queue.task_done()

    async def _publish(self, event: Event, msg_id: str) -> None:
        subject = subjects.event(event.property_id, tag_of(event))
        delay = 0.1
        for attempt in range(RETRIES):
            try:
                await self.js.publish(subject, codec.encode(event), timeout=2.0, headers={"Nats-Msg-Id": msg_id})
                self.published += 1
                return
            except Exception as exc:  # noqa: BLE001 - retried, then counted and logged
                if attempt == RETRIES - 1:
                    self.failed += 1
                    log.error("event not published", extra={"msg_id": msg_id, "error": str(exc)})
                    return
                await asyncio.sleep(delay)
                delay *= 2

    async def flush(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout)

    async def close(self, timeout: float = 5.0) -> None:
        await self.flush(timeout)
        await cancel_and_wait(self._task)


def event_type(event: msgspec.Struct) -> str:
    return tag_of(event)
