"""Outbound dialer: a durable JetStream consumer on ``calls.dial``.

At most one ``calls.create`` per ``call_id``, however often a DialCall is delivered: the
call row is inserted once (``call_id`` primary key) and the right to dial is claimed with a
conditional UPDATE (pending → dialing) before Twilio is called. Errors that prove Twilio did
not get the request (connection refused, HTTP 429) give the claim back and redeliver later;
any other failure ends the call (CallEnded via the outbox) instead of risking a double dial.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlencode

import aiohttp
import asyncpg
import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import ConsumerConfig
from nats.js.client import JetStreamContext
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from fixline_proto import decode, subjects
from fixline_proto.commands import DialCall
from fixline_proto.events import CallEnded, CallStarted
from services.common import outbox
from services.common.logs import log_context
from services.common.settings import Settings

from . import calls_repo
from .admission import Admission
from .dial_policy import DialPolicy
from .metrics import IngressMetrics

log = logging.getLogger(__name__)
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
# A redelivery while the first delivery is still dialling is harmless (the claim makes it a
# "duplicate"), so the ack wait only bounds how long a DialCall held by a dialer that died waits:
# short, or the callee is rung after outreach has given up on the call.
ACK_WAIT_S = 5.0
BATCH = 10


class Dialer:
    def __init__(self, pool: asyncpg.Pool, client: Client, settings: Settings, admission: Admission,
                 metrics: IngressMetrics) -> None:
        self.pool = pool
        self.client = client
        self.settings = settings
        self.admission = admission
        self.metrics = metrics
        self.policy = DialPolicy.from_settings(settings.dial_allowed_prefixes, settings.dial_blocked_prefixes)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, nc: NATS) -> None:
        js, durable = nc.jetstream(), self.settings.dialer_consumer
        sub = await js.pull_subscribe(subjects.CALLS_DIAL, durable=durable, stream=subjects.CALLS_STREAM,
                                      config=ConsumerConfig(ack_wait=ACK_WAIT_S))
        await _update_ack_wait(js, durable)
        try:
            await self._consume(sub)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _consume(self, sub: JetStreamContext.PullSubscription) -> None:
        while not self._stopping.is_set():
            try:
                msgs = await sub.fetch(BATCH, timeout=1.0)
            except (NatsTimeoutError, asyncio.TimeoutError):
                continue
            except Exception as exc:  # noqa: BLE001 - NATS reconnecting etc.: keep the consumer alive
                log.warning("dial fetch failed; retrying", extra={"error": str(exc)})
                await asyncio.sleep(1.0)
                continue
            await asyncio.gather(*(self._handle_safely(msg) for msg in msgs))

    async def _handle_safely(self, msg: Msg) -> None:
        try:
            await self.handle(msg)
        except Exception:  # e.g. database down: leave unacked, JetStream redelivers after ack_wait
            log.exception("DialCall handling failed; it will be redelivered")

    async def handle(self, msg: Msg) -> None:
        try:
            command = decode(msg.data, DialCall)
        except msgspec.DecodeError as exc:  # includes ValidationError
            log.error("dropping malformed DialCall", extra={"error": str(exc)})
            self.metrics.dial_attempts.labels("malformed").inc()
            await msg.term()
            return
        with log_context(call_id=command.call_id, incident_id=command.incident_id):
            outcome = await self.dial(command)
        self.metrics.dial_attempts.labels(outcome).inc()
        if outcome == "retry":
            delay = min(2.0 ** msg.metadata.num_delivered, 30.0)
            await msg.nak(delay=delay)
        else:
            await msg.ack()

    async def dial(self, command: DialCall) -> str:
        """Place the call unless it was already placed; return the outcome."""
        call = await self._claim(command)
        if isinstance(call, str):
            return call
        if (refusal := self.policy.refusal(call["to_number"])) is not None:  # a row written by other means
            await self._fail(call, "failed", f"refused by the dial policy: {refusal}")
            return "rejected"
        try:
            created = await self.client.calls.create_async(**self._create_args(call))
        except TwilioRestException as exc:
            if exc.status == 429:
                return await self._release(call["id"], f"twilio 429 {exc.code}")
            return await self._fail(call, "failed", f"{exc.code or exc.status}: {exc.msg}")
        except aiohttp.ClientConnectorError as exc:
            return await self._release(call["id"], str(exc))
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return await self._fail(call, "unknown", f"{type(exc).__name__}: {exc}")
        async with self.pool.acquire() as conn:
            await calls_repo.mark_placed(conn, call["id"], created.sid)
        log.info("call placed", extra={"twilio_call_sid": created.sid, "call_type": call["call_type"]})
        return "placed"

    async def _claim(self, command: DialCall) -> asyncpg.Record | str:
        async with self.pool.acquire() as conn, conn.transaction():
            if await calls_repo.by_id(conn, command.call_id) is None:
                from_number = await calls_repo.caller_id_for_property(conn, command.property_id)
                problem = await self._invalid(conn, command, from_number)
                if problem or from_number is None:
                    log.error("DialCall rejected", extra={"reason": problem})
                    await outbox.add(conn, CallEnded(property_id=command.property_id, call_id=command.call_id,
                                                     reason=f"rejected: {problem}", incident_id=command.incident_id))
                    return "rejected"
                await self._insert(conn, command, from_number)
            claimed = await calls_repo.claim_dial(conn, command.call_id)
            return claimed if claimed is not None else "duplicate"

    async def _invalid(self, conn: asyncpg.Connection, command: DialCall, from_number: str | None) -> str | None:
        if (refusal := self.policy.refusal(command.to_number)) is not None:
            return f"to_number refused by the dial policy: {refusal}"
        if from_number is None:
            return f"property {command.property_id!r} is unknown or has no phone number"
        if command.vendor_id and not await calls_repo.vendor_exists(conn, command.vendor_id):
            return f"vendor {command.vendor_id!r} is unknown"
        if command.incident_id and not await calls_repo.incident_exists(conn, command.incident_id):
            return f"incident {command.incident_id!r} is unknown"
        return None

    async def _insert(self, conn: asyncpg.Connection, command: DialCall, from_number: str) -> None:
        landlord = await calls_repo.landlord_of(conn, command.property_id) if command.call_type == "landlord" else None
        inserted = await calls_repo.insert_outbound(
            conn, call_id=command.call_id, call_type=command.call_type, property_id=command.property_id,
            incident_id=command.incident_id, vendor_id=command.vendor_id, landlord_id=landlord,
            from_number=from_number, to_number=command.to_number, briefing=command.briefing)
        if inserted is not None:
            await outbox.add(conn, CallStarted(
                property_id=command.property_id, call_id=command.call_id, call_type=command.call_type,
                direction="outbound", from_number=from_number, to_number=command.to_number,
                incident_id=command.incident_id))

    def _create_args(self, call: asyncpg.Record) -> dict[str, object]:
        base, query = self.settings.public_base_url.rstrip("/"), urlencode({"call_id": call["id"]})
        args: dict[str, object] = {
            "to": call["to_number"], "from_": call["from_number"],
            "url": f"{base}/twilio/voice?{query}", "method": "POST",
            "status_callback": f"{base}/twilio/status?{query}", "status_callback_method": "POST",
            "status_callback_event": STATUS_EVENTS, "timeout": self.settings.dial_ring_timeout_s,
        }
        if self.settings.outbound_machine_detection:
            args["machine_detection"] = self.settings.outbound_machine_detection
        return args

    async def _release(self, call_id: str, error: str) -> str:
        log.warning("Twilio did not take the call; will retry", extra={"error": error})
        async with self.pool.acquire() as conn:
            await calls_repo.release_dial(conn, call_id)
        return "retry"

    async def _fail(self, call: asyncpg.Record, state: str, error: str) -> str:
        log.error("dial failed", extra={"error": error, "dial_state": state})
        async with self.pool.acquire() as conn, conn.transaction():
            before = await calls_repo.by_id(conn, call["id"], lock=True)
            await calls_repo.mark_dial_failed(conn, call["id"], state, error, self.admission.now())
            if before is not None and before["ended_at"] is None:
                reason = "dial_failed" if state == "failed" else "dial_outcome_unknown"
                await outbox.add(conn, CallEnded(property_id=call["property_id"], call_id=call["id"],
                                                 reason=f"{reason}: {error}", incident_id=call["incident_id"]))
        return "failed" if state == "failed" else "unknown"


async def stop_and_wait(dialer: Dialer, task: asyncio.Task[None]) -> None:
    dialer.stop()
    with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
        await asyncio.wait_for(task, 15)


async def _update_ack_wait(js: JetStreamContext, durable: str) -> None:
    """A durable made by an older release keeps its config; give it this release's ack wait."""
    config = (await js.consumer_info(subjects.CALLS_STREAM, durable)).config
    if config.ack_wait != ACK_WAIT_S:
        config.ack_wait = ACK_WAIT_S
        await js.add_consumer(subjects.CALLS_STREAM, config=config)
