"""The notifier's single JetStream consumer and the in-process fan-out.

One ordered push consumer per process reads the events stream from its first message:
each event is folded into the dashboard state, encoded once as an SSE frame and offered to
every client allowed to see its property. The hub is "caught up" once it has applied what
the stream held when it started; snapshots wait for that.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from nats.js.client import JetStreamContext

from fixline_proto.base import Event, tag_of
from fixline_proto.codec import ENCODER
from services.common.tasks import TaskSet

from . import sse
from .client_queue import Frame
from .clients import SseClient
from .event_gate import RejectedEvent, admit
from .metrics import NotifierMetrics
from .state import DashboardState

log = logging.getLogger(__name__)


def event_frame(event: Event, seq: int) -> Frame:
    """State events carry their sequence as the SSE id; partial transcripts are ephemeral:
    no id (they are never replayed) and coalesced per call, speaker and turn.

    Re-encoded from the decoded event, never the raw bytes: only the contract's fields
    reach a browser."""
    data = ENCODER.encode(event)
    name = tag_of(event)
    if getattr(event, "final", True) is False:
        key = ("partial", event.call_id, event.role, event.turn)  # type: ignore[attr-defined]
        return Frame(sse.frame(data, event=name), seq=seq, coalesce_key=key)
    return Frame(sse.frame(data, event=name, seq=seq), seq=seq)


class Hub:
    def __init__(self, stream: str, subject_prefix: str, metrics: NotifierMetrics,
                 heartbeat_s: float = 15.0) -> None:
        self.stream, self.subject_prefix, self.subject = stream, subject_prefix, f"{subject_prefix}.>"
        self.heartbeat_s = heartbeat_s
        self._tasks = TaskSet("notifier-hub")
        self.state = DashboardState()
        self.clients: set[SseClient] = set()
        self.caught_up = asyncio.Event()
        self._metrics = metrics
        self._target = 0
        self._sub: JetStreamContext.PushSubscription | None = None

    @property
    def seq(self) -> int:
        return self.state.seq

    async def start(self, nc: NATS) -> None:
        js = nc.jetstream()
        info = await js.stream_info(self.stream)
        self._target = info.state.last_seq
        if self._target == 0 or info.state.messages == 0:
            self.caught_up.set()
        self._sub = await js.subscribe(self.subject, stream=self.stream, cb=self._on_msg,
                                       ordered_consumer=True, deliver_policy=DeliverPolicy.ALL,
                                       idle_heartbeat=5.0)
        self._tasks.spawn(self._heartbeats(), name="sse-heartbeats")

    async def _heartbeats(self) -> None:
        """One timer for every client: a coalesced ``: ping`` comment each interval keeps
        idle streams open through proxies (and lets a stream notice its session expired)."""
        ping = Frame(sse.comment("ping"), coalesce_key=("ping",))
        while True:
            await asyncio.sleep(self.heartbeat_s)
            self.broadcast(ping)

    async def stop(self) -> None:
        await self._tasks.close()
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception as exc:  # noqa: BLE001 - closing anyway
                log.debug("unsubscribe failed", extra={"error": str(exc)})
        for client in list(self.clients):
            client.drop("shutdown")

    def register(self, client: SseClient) -> None:
        self.clients.add(client)
        self._metrics.clients.set(len(self.clients))

    def unregister(self, client: SseClient) -> None:
        self.clients.discard(client)
        self._metrics.clients.set(len(self.clients))

    def broadcast(self, frame: Frame) -> None:
        """An ephemeral frame every client sees (service health)."""
        for client in tuple(self.clients):
            client.offer(frame, None)

    async def _on_msg(self, msg: Msg) -> None:
        meta = msg.metadata
        seq = meta.sequence.stream
        try:
            event = admit(msg.subject, msg.data, self.subject_prefix)
        except RejectedEvent as exc:
            self.state.skip(seq)     # never applied, never sent: only the sequence moves on
            self._metrics.events.labels("rejected").inc()
            self._metrics.events_rejected.labels(exc.reason).inc()
            log.warning("dropping a stream message that is not a valid event on its own subject",
                        extra={"seq": seq, "subject": msg.subject[:200], "reason": exc.reason, "error": str(exc)})
        else:
            self.state.apply(event, seq)
            self._metrics.events.labels("applied").inc()
            frame = event_frame(event, seq)
            for client in tuple(self.clients):
                client.offer(frame, event.property_id)
        self._metrics.stream_seq.set(seq)
        if not self.caught_up.is_set() and (seq >= self._target or meta.num_pending == 0):
            self.caught_up.set()
            log.info("caught up with the events stream", extra={"seq": seq})
