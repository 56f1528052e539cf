"""NATS consumers of the outreach service (durable JetStream pull consumers on EVENTS).

- ``IncidentTrigger``: an incident whose state is ``awaiting_quotes`` starts ``outreach:<incident>``:
  created that way (the guest agent said a professional is needed: the tools service decides
  the status from that fact) or moved there later (a repeat report, or a person). The
  workflow id makes a redelivery or a second such event a no-op; acked once DBOS recorded the start.
- ``ResultRouter``: CallEnded / QuoteReceived / DecisionMade of a call outreach placed become
  ``DBOS.send_async(<call's workflow>, ..., idempotency_key=<event id>)``; acked after the send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import TypeGuard

import asyncpg
import msgspec
from dbos import DBOS, SetWorkflowID
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from fixline_proto import subjects
from fixline_proto.codec import EVENT_DECODER
from fixline_proto.events import CallEnded, DecisionMade, IncidentCreated, IncidentUpdated, QuoteReceived
from services.common.pull_consumer import consume, subscribe_to_events

from . import repo, workflows
from .context import OutreachContext
from .jobs import CallMessage, Decision, Hangup, OutreachOptions, Quote

log = logging.getLogger(__name__)
ACK_WAIT_S = 30.0
BATCH = 20


def _event_subject(event_type: str) -> str:
    return subjects.event("*", event_type)


class Consumer:
    """A durable pull consumer; ``handle`` returns normally to ack, raises to redeliver later.
    New consumers start at new messages: outreach acts on what happens once it is deployed."""

    name_setting: str
    filters: list[str]

    def __init__(self, ctx: OutreachContext) -> None:
        self.ctx = ctx
        self._stopping = asyncio.Event()

    @property
    def durable(self) -> str:
        return str(getattr(self.ctx.settings, self.name_setting))

    def stop(self) -> None:
        self._stopping.set()

    async def subscribe(self) -> JetStreamContext.PullSubscription:
        return await subscribe_to_events(self.ctx.js, self.durable, self.filters, ack_wait=ACK_WAIT_S,
                                         max_ack_pending=1000)

    async def run(self, sub: JetStreamContext.PullSubscription) -> None:
        # in stream order: a quote is routed before the hang-up after it
        await consume(sub, self._process, self._stopping, batch=BATCH, name=self.durable)

    async def _process(self, msg: Msg) -> None:
        try:
            event = EVENT_DECODER.decode(msg.data)
        except msgspec.DecodeError as exc:
            log.error("dropping malformed event", extra={"subject": msg.subject, "error": str(exc)})
            await msg.term()
            return
        try:
            await self.handle(event)
        except Exception:
            log.exception("event handling failed; it will be redelivered", extra={"subject": msg.subject})
            with contextlib.suppress(Exception):
                await msg.nak(delay=min(2.0 ** msg.metadata.num_delivered, 30.0))
            return
        with contextlib.suppress(Exception):
            await msg.ack()

    handle: Callable[..., Awaitable[None]]


class IncidentTrigger(Consumer):
    name_setting = "outreach_trigger_consumer"
    filters = [_event_subject("incident.created"), _event_subject("incident.updated")]

    async def handle(self, event: object) -> None:
        if not needs_quotes(event):
            return
        s = self.ctx.settings
        opts = OutreachOptions(timeout_s=s.outreach_call_timeout_s, grace_s=s.outreach_result_grace_s,
                               landlord_attempts=s.outreach_landlord_attempts, retry_delay_s=s.outreach_retry_delay_s)
        with SetWorkflowID(workflows.workflow_id(event.incident_id)):
            await DBOS.start_workflow_async(workflows.outreach, event.incident_id, opts)
        log.info("outreach started", extra={"incident_id": event.incident_id})


def needs_quotes(event: object) -> TypeGuard[IncidentCreated | IncidentUpdated]:
    """The incident's state says a professional is needed and nobody has been asked yet."""
    return isinstance(event, (IncidentCreated, IncidentUpdated)) and event.status == "awaiting_quotes"


class ResultRouter(Consumer):
    name_setting = "outreach_results_consumer"
    filters = [_event_subject(t) for t in ("call.ended", "quote.received", "decision.made")]

    async def handle(self, event: object) -> None:
        if not isinstance(event, (CallEnded, QuoteReceived, DecisionMade)):
            return
        async with self.ctx.pool.acquire() as conn:
            target, message = await _route(conn, event)
        if target is None:
            return  # not a call outreach placed
        await DBOS.send_async(target, message, workflows.RESULT_TOPIC, idempotency_key=event.id)
        log.info("call result delivered", extra={"workflow_id": target, "result": type(message).__name__})


async def _route(conn: asyncpg.Connection,
                 event: CallEnded | QuoteReceived | DecisionMade) -> tuple[str | None, CallMessage]:
    """The workflow waiting for this call's result, and the message it gets."""
    if isinstance(event, CallEnded):
        return await repo.workflow_for_call(conn, event.call_id), Hangup(reason=event.reason)
    if isinstance(event, QuoteReceived):
        target = (await repo.workflow_for_call(conn, event.call_id) if event.call_id else None) \
            or await repo.workflow_for_vendor(conn, event.incident_id, event.vendor_id)
        start = event.earliest_start.astimezone(UTC).isoformat() if event.earliest_start else None
        return target, Quote(quote_id=event.quote_id, vendor_id=event.vendor_id, price=event.price,
                             currency=event.currency, earliest_start=start)
    return await repo.workflow_for_landlord(conn, event.incident_id), Decision(
        decision_id=event.decision_id, approved=event.approved, vendor_id=event.vendor_id, notes=event.notes)
