"""Call status and stream status callbacks: update the call record, publish events (outbox).

Both are idempotent: a call status moves only forward (see ``call_status``), and each
stream lifecycle step is recorded once. Callbacks for calls we never recorded (refused
before recording, e.g. an unknown number) are acknowledged and ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from fixline_proto.events import CallEnded, CallStatusChanged, CallStreamChanged
from services.common import outbox
from services.common.logs import log_context

from . import call_status, calls_repo

log = logging.getLogger(__name__)
STREAM_EVENTS = ("stream-started", "stream-stopped", "stream-error")


@dataclass(frozen=True)
class StatusCallback:
    sid: str
    status: str
    sequence: int | None
    answered_by: str | None
    duration_s: float
    call_id: str | None


@dataclass(frozen=True)
class StreamCallback:
    sid: str
    stream_event: str
    stream_sid: str
    error: str
    call_id: str | None


async def _find(conn: asyncpg.Connection, call_id: str | None, sid: str) -> asyncpg.Record | None:
    if call_id:
        return await calls_repo.by_id(conn, call_id, lock=True)
    return await calls_repo.by_sid(conn, sid, lock=True)


async def on_call_status(pool: asyncpg.Pool, cb: StatusCallback, now: datetime) -> str:
    """Apply one call status callback; return the outcome for metrics."""
    async with pool.acquire() as conn, conn.transaction():
        call = await _find(conn, cb.call_id, cb.sid)
        if call is None:
            return "unknown_call"
        with log_context(call_id=call["id"]):
            step = call_status.transition(call["status"], call["last_sequence"], cb.status, cb.sequence)
            if not step.apply:
                return "ignored"
            if call["twilio_call_sid"] is None:
                await calls_repo.bind_sid(conn, call["id"], cb.sid, None)
            await calls_repo.apply_status(
                conn, call["id"], status=step.new_status, sequence=cb.sequence, answered_by=cb.answered_by,
                started=step.new_status == "in-progress", ended_at=now if step.terminal else None)
            if step.new_status is None:
                return "sequence_only"
            await outbox.add(conn, CallStatusChanged(property_id=call["property_id"], call_id=call["id"],
                                                     status=step.new_status, sequence=cb.sequence or 0))
            if step.terminal and call["ended_at"] is None:
                await outbox.add(conn, CallEnded(property_id=call["property_id"], call_id=call["id"],
                                                 reason=step.new_status, duration_s=cb.duration_s,
                                                 incident_id=call["incident_id"]))
            log.info("call status", extra={"status": step.new_status, "sequence": cb.sequence})
            return "applied"


async def on_stream_status(pool: asyncpg.Pool, cb: StreamCallback, now: datetime) -> str:
    async with pool.acquire() as conn, conn.transaction():
        call = await _find(conn, cb.call_id, cb.sid)
        if call is None:
            return "unknown_call"
        with log_context(call_id=call["id"]):
            if await calls_repo.mark_stream(conn, call["id"], cb.stream_event, cb.stream_sid, now, cb.error) is None:
                return "ignored"
            await outbox.add(conn, CallStreamChanged(property_id=call["property_id"], call_id=call["id"],
                                                     stream_event=cb.stream_event, stream_sid=cb.stream_sid,
                                                     error=cb.error))
            if cb.stream_event == "stream-error":
                log.warning("media stream error", extra={"stream_error": cb.error})
            return "applied"
