"""The voice webhook: who is calling which property, admit or refuse, record, answer TwiML.

Idempotent on CallSid (Twilio retries webhooks): a retry finds the recorded call and gets
the same decision again (a fresh media token, never a second admission or CallStarted) —
until the call's media stream has started: from then on a replay gets no token at all.
The token carries the whole call context (``services.common.media_token``).
Outbound calls placed by the dialer arrive with ``?call_id=`` in the (signed) URL; their
persona, property and incident come from the call record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import asyncpg

from fixline_proto.events import CallEnded, CallStarted
from fixline_proto.base import new_id
from services.common import media_token, outbox
from services.common.logs import log_context

from . import calls_repo, twiml
from .admission import Admission, Decision
from .metrics import IngressMetrics

log = logging.getLogger(__name__)
OUTBOUND_OVERFLOW_MESSAGE = "Sorry, we cannot continue this call right now. We will call you back. Goodbye."
MISCONFIGURED_MESSAGE = "Sorry, we cannot take your call right now. Please try again later. Goodbye."


@dataclass(frozen=True)
class VoiceConfig:
    media_url: str
    stream_status_url: str
    token_secret: str
    token_ttl_s: float
    overflow_mode: str
    overflow_message: str
    overflow_dial_number: str
    vendor_code_early_s: float = 3600.0  # a booked vendor calling this long before the visit is typed vendor


@dataclass(frozen=True)
class VoiceRequest:
    sid: str
    from_number: str
    to_number: str
    status: str
    answered_by: str | None
    call_id: str | None  # from the URL query: set on calls the dialer placed


class VoiceHandler:
    def __init__(self, pool: asyncpg.Pool, admission: Admission, config: VoiceConfig,
                 metrics: IngressMetrics) -> None:
        self.pool = pool
        self.admission = admission
        self.config = config
        self.metrics = metrics

    async def answer(self, req: VoiceRequest) -> tuple[str, str]:
        """Return (TwiML, outcome)."""
        if not self.config.token_secret:
            log.error("MEDIA_TOKEN_SECRET is not set; refusing calls")
            return twiml.say_and_hang_up(MISCONFIGURED_MESSAGE), "misconfigured"
        async with self.pool.acquire() as conn, conn.transaction():
            if req.call_id:
                call = await calls_repo.by_id(conn, req.call_id, lock=True)
                if call is None:
                    return twiml.say_and_hang_up(twiml.CALL_OVER_MESSAGE), "unknown_call"
            else:
                call = await calls_repo.by_sid(conn, req.sid, lock=True)
            if call is None:
                return await self._new_inbound(conn, req)
            return await self._existing(conn, call, req)

    async def _new_inbound(self, conn: asyncpg.Connection, req: VoiceRequest) -> tuple[str, str]:
        property_id = await calls_repo.property_for_number(conn, req.to_number)
        if property_id is None:
            return twiml.say_and_hang_up(twiml.UNKNOWN_NUMBER_MESSAGE), "unknown_number"
        decision = await self.admission.decide(conn)  # holds the admission lock from here on
        if (retried := await calls_repo.by_sid(conn, req.sid, lock=True)) is not None:
            return await self._existing(conn, retried, req)  # a concurrent retry got there first
        vendor_id = await calls_repo.booked_vendor_calling(conn, property_id, req.from_number,
                                                           self.config.vendor_code_early_s)
        call = await calls_repo.insert_inbound(
            conn, call_id=new_id(), sid=req.sid, property_id=property_id, from_number=req.from_number,
            to_number=req.to_number, status=req.status or "ringing", vendor_id=vendor_id)
        if call is None:  # ON CONFLICT: the sid was inserted after all; answer it as a retry
            return await self._existing(conn, await calls_repo.by_sid(conn, req.sid, lock=True), req)
        await outbox.add(conn, CallStarted(
            property_id=property_id, call_id=call["id"], call_type=call["call_type"], direction="inbound",
            from_number=req.from_number, to_number=req.to_number))
        return await self._record(conn, call, decision)

    async def _existing(self, conn: asyncpg.Connection, call: asyncpg.Record,
                        req: VoiceRequest) -> tuple[str, str]:
        if call["twilio_call_sid"] not in (None, req.sid):
            log.warning("voice webhook CallSid differs from the call's; refused", extra={"call_id": call["id"]})
            return twiml.say_and_hang_up(twiml.CALL_OVER_MESSAGE), "sid_mismatch"
        if call["twilio_call_sid"] is None or req.answered_by:
            call = await calls_repo.bind_sid(conn, call["id"], req.sid, req.answered_by)
        if call["admission"] == "overflow":
            return self._overflow(call), "overflow"
        if call["ended_at"] is not None:
            return twiml.say_and_hang_up(twiml.CALL_OVER_MESSAGE), "call_over"
        if _stream_began(call):
            # Twilio only retries a webhook whose answer it never got, so its stream cannot have
            # started: this is a replay. No second token for a call that already has a stream.
            log.warning("voice webhook replayed after the stream started; no token", extra={"call_id": call["id"]})
            return twiml.say_and_hang_up(twiml.CALL_OVER_MESSAGE), "already_streaming"
        if call["admission"] == "admitted":
            return await self._connect(conn, call), "retry"
        return await self._record(conn, call, await self.admission.decide(conn))

    async def _record(self, conn: asyncpg.Connection, call: asyncpg.Record,
                      decision: Decision) -> tuple[str, str]:
        call = await calls_repo.set_admission(conn, call["id"], decision.admitted, self.admission.now())
        self.metrics.admissions.labels(decision.reason).inc()
        self.metrics.free_slots.set(decision.free)
        with log_context(call_id=call["id"]):
            log.info("call admission", extra={"decision": decision.reason, "direction": call["direction"]})
        if decision.admitted:
            return await self._connect(conn, call), "admitted"
        await outbox.add(conn, CallEnded(property_id=call["property_id"], call_id=call["id"], reason="overflow",
                                         incident_id=call["incident_id"]))
        return self._overflow(call), "overflow"

    def _overflow(self, call: asyncpg.Record) -> str:
        if call["direction"] == "outbound":
            return twiml.say_and_hang_up(OUTBOUND_OVERFLOW_MESSAGE)
        c = self.config
        return twiml.overflow(c.overflow_mode, c.overflow_message, c.overflow_dial_number)

    async def _connect(self, conn: asyncpg.Connection, call: asyncpg.Record) -> str:
        place = await calls_repo.property_summary(conn, call["property_id"])
        return self.stream_twiml(call, claims_from(call, place),
                                 recording_notice=bool(place and place["recording_notice"]))

    def stream_twiml(self, call: asyncpg.Record, claims: media_token.MediaClaims, *,
                     recording_notice: bool = False) -> str:
        """``<Connect><Stream>`` to a bridge with a fresh token for ``claims`` (the recording notice first)."""
        token = media_token.issue(self.config.token_secret, claims, self.config.token_ttl_s)
        return twiml.connect_stream(twiml.StreamTarget(
            url=self.config.media_url,
            status_callback=f"{self.config.stream_status_url}?{urlencode({'call_id': call['id']})}",
            call_id=call["id"], token=token), recording_notice=recording_notice)


def _stream_began(call: asyncpg.Record) -> bool:
    return any(call[c] is not None for c in ("stream_started_at", "stream_stopped_at", "stream_error"))


async def call_claims(conn: asyncpg.Connection, call: asyncpg.Record) -> media_token.MediaClaims:
    """The whole call context for the bridge, from the call record and its property."""
    return claims_from(call, await calls_repo.property_summary(conn, call["property_id"]))


def claims_from(call: asyncpg.Record, place: asyncpg.Record | None) -> media_token.MediaClaims:
    """The token is the bridge's only source of the call's context."""
    return media_token.MediaClaims(
        call_id=call["id"], call_sid=call["twilio_call_sid"], call_type=call["call_type"],
        property_id=call["property_id"], incident_id=call["incident_id"] or "", direction=call["direction"],
        from_number=call["from_number"], to_number=call["to_number"], vendor_id=call["vendor_id"] or "",
        landlord_id=call["landlord_id"] or "", briefing=call["briefing"] or "",
        answered_by=call["answered_by"] or "", property_name=(place["name"] or "")[:200] if place else "",
        property_address=(place["address"] or "")[:500] if place else "",
        property_timezone=(place["timezone"] or "") if place else "",
        handoff_number=(place["handoff_number"] or "") if place else "",
        callback_number=call["from_number"] if call["direction"] == "outbound" else "")
