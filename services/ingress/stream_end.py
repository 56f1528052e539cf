"""Every call ends: a call whose media stream is over is ended even when Twilio sends no status
callback (real Twilio sends them for inbound calls only when the number is configured to).

A durable pull consumer on the bridge's ``CallOutcome`` and Twilio's stream-stopped/-error
(``CallStreamChanged``). The status callback still wins: the call is ended here only
``STREAM_END_GRACE_S`` after the stream ended (the message is nak'ed with that delay, so the
wait survives a restart) and only if nothing ended it meanwhile; a later callback finds the
call terminal and publishes no second ``CallEnded``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg
import msgspec
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from fixline_proto import subjects
from fixline_proto.codec import EVENT_DECODER
from fixline_proto.events import CallEnded, CallOutcome, CallStatusChanged, CallStreamChanged
from services.common import outbox
from services.common.pull_consumer import consume, subscribe_to_events

from . import calls_repo

log = logging.getLogger(__name__)
STREAM_OVER = ("stream-stopped", "stream-error")
FILTERS = [subjects.event("*", "call.outcome"), subjects.event("*", "call.stream.changed")]


def stream_over(event: object) -> str | None:
    """The call id of an event that says the call's media stream is over."""
    if isinstance(event, CallOutcome):
        return event.call_id
    if isinstance(event, CallStreamChanged) and event.stream_event in STREAM_OVER:
        return event.call_id
    return None


async def end_call(pool: asyncpg.Pool, call_id: str, now: datetime) -> bool:
    """End the call if it is still open; True if this did it (and published CallEnded)."""
    async with pool.acquire() as conn, conn.transaction():
        call = await calls_repo.end_after_stream(conn, call_id, now)
        if call is None:
            return False
        duration = max(0.0, (call["ended_at"] - call["started_at"]).total_seconds())
        await outbox.add(conn, CallStatusChanged(property_id=call["property_id"], call_id=call_id,
                                                 status=call["status"], sequence=0))
        await outbox.add(conn, CallEnded(property_id=call["property_id"], call_id=call_id, reason="stream-ended",
                                         duration_s=round(duration, 3), incident_id=call["incident_id"]))
    log.info("call ended after its media stream (no status callback)", extra={"call_id": call_id})
    return True


class StreamEndWatcher:
    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, durable: str, grace_s: float) -> None:
        self.pool, self.js, self.durable, self.grace_s = pool, js, durable, grace_s
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def subscribe(self) -> JetStreamContext.PullSubscription:
        return await subscribe_to_events(self.js, self.durable, FILTERS, ack_wait=30.0, max_ack_pending=10_000)

    async def run(self) -> None:
        await consume(await self.subscribe(), self._process, self._stopping, name=self.durable)

    async def _process(self, msg: Msg) -> None:
        try:
            event = EVENT_DECODER.decode(msg.data)
        except msgspec.DecodeError:
            await msg.term()
            return
        call_id = stream_over(event)
        if call_id is None:
            await msg.ack()
            return
        now = datetime.now(UTC)
        wait = self.grace_s - (now - event.occurred_at).total_seconds()
        if wait > 0:  # give the status callback its chance first
            await msg.nak(delay=wait)
            return
        try:
            await end_call(self.pool, call_id, now)
        except Exception:
            log.exception("ending the call failed; retrying", extra={"call_id": call_id})
            await msg.nak(delay=2.0)
            return
        await msg.ack()
