"""The durable consumer behind the call records: it stores each final transcript turn and
the two ends of a call (the bridge's ``CallOutcome``, ingress's ``CallEnded``), and builds
the report once the call is over.

The two ends come in either order, and an unanswered outbound call has no ``CallOutcome``:
whichever arrives second triggers the report; a ``CallEnded`` without an outcome is nak'ed
until ``REPORT_OUTCOME_WAIT_S`` after the call ended, then reported without it. Waits are
JetStream redelivery delays, so they survive a restart. ``REPORT_SETTLE_S`` gives the
bridge's last turns time to land (they are published directly, not through the outbox)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import msgspec
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from fixline_proto import subjects
from fixline_proto.codec import EVENT_DECODER
from fixline_proto.events import CallEnded, CallOutcome, TranscriptTurn
from services.common.pull_consumer import consume, subscribe_to_events
from services.common.tasks import TaskSet

from . import facts
from .report import Reporter

log = logging.getLogger(__name__)
FILTERS = [subjects.event("*", t) for t in ("transcript.turn", "call.outcome", "call.ended")]
MAX_REPORTS_AT_ONCE = 4
RETRY_S = 2.0


class RecordsConsumer:
    def __init__(self, reporter: Reporter, js: JetStreamContext, durable: str, settle_s: float,
                 outcome_wait_s: float) -> None:
        self.reporter, self.js, self.durable = reporter, js, durable
        self.settle_s, self.outcome_wait_s = settle_s, outcome_wait_s
        self.pool = reporter.pool
        self._stopping = asyncio.Event()
        self._tasks = TaskSet("call-records")
        self._slots = asyncio.Semaphore(MAX_REPORTS_AT_ONCE)

    def stop(self) -> None:
        self._stopping.set()

    async def subscribe(self) -> JetStreamContext.PullSubscription:
        return await subscribe_to_events(self.js, self.durable, FILTERS, ack_wait=60.0, max_ack_pending=10_000)

    async def run(self) -> None:
        try:
            await consume(await self.subscribe(), self._process, self._stopping, name=self.durable)
        finally:
            await self._tasks.close()

    async def _process(self, msg: Msg) -> None:
        try:
            event = EVENT_DECODER.decode(msg.data)
        except msgspec.DecodeError:
            await msg.term()
            return
        try:
            delay = await self._apply(event)
        except Exception:
            log.exception("storing a call event failed; retrying", extra={"type": type(event).__name__})
            await msg.nak(delay=RETRY_S)
            return
        if delay is None:
            await msg.ack()
        elif delay > 0:
            await msg.nak(delay=delay)
        else:
            assert isinstance(event, (CallOutcome, CallEnded))  # only a call's end asks for its report
            await self._slots.acquire()
            self._tasks.spawn(self._report(msg, event.call_id), name=f"report-{event.call_id}")

    async def _apply(self, event: object) -> float | None:
        """Store the event; None = done, 0 = report now, > 0 = look again after that many seconds."""
        async with self.pool.acquire() as conn:
            if isinstance(event, TranscriptTurn):
                await facts.store_turn(conn, event)
                return None
            if isinstance(event, CallOutcome):
                if not await facts.store_outcome(conn, event):
                    return None
                ended = await conn.fetchval(
                    "SELECT c.ended_at IS NOT NULL OR f.ended_at IS NOT NULL FROM calls c"
                    " LEFT JOIN call_record_facts f ON f.call_id = c.id WHERE c.id = $1", event.call_id)
                return self._settle(event.occurred_at) if ended else None
            if isinstance(event, CallEnded):
                if not await facts.store_ended(conn, event):
                    return None
                has_outcome = await conn.fetchval(
                    "SELECT outcome_at IS NOT NULL FROM call_record_facts WHERE call_id = $1", event.call_id)
                if not has_outcome:
                    return max(self._age_wait(event.occurred_at, self.outcome_wait_s), 0.0)
                return self._settle(event.occurred_at)
        return None

    def _settle(self, occurred_at: datetime) -> float:
        return max(self._age_wait(occurred_at, self.settle_s), 0.0)

    @staticmethod
    def _age_wait(occurred_at: datetime, wait_s: float) -> float:
        return wait_s - (datetime.now(UTC) - occurred_at).total_seconds()

    async def _report(self, msg: Msg, call_id: str) -> None:
        try:
            await self.reporter.report(call_id)
        except Exception:
            log.exception("building the call report failed; retrying", extra={"call_id": call_id})
            with contextlib.suppress(Exception):
                await msg.nak(delay=RETRY_S)
            return
        finally:
            self._slots.release()
        with contextlib.suppress(Exception):
            await msg.ack()
