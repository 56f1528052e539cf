"""SQL on the ``calls`` table (and the lookups ingress needs). Every function takes a
connection, so callers decide the transaction; events go through the outbox in the same one."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import asyncpg

ADMISSION_LOCK = 0x46_49_58_41  # "FIXA": serialises admission decisions across ingress replicas

Call: TypeAlias = asyncpg.Record  # a row of ``calls`` (asyncpg ships no types)


async def property_for_number(conn: asyncpg.Connection, number: str) -> str | None:
    property_id: str | None = await conn.fetchval(
        "SELECT property_id FROM property_phone_numbers WHERE phone_number = $1", number)
    return property_id


async def caller_id_for_property(conn: asyncpg.Connection, property_id: str) -> str | None:
    number: str | None = await conn.fetchval(
        "SELECT phone_number FROM property_phone_numbers WHERE property_id = $1 ORDER BY phone_number LIMIT 1",
        property_id)
    return number


async def landlord_of(conn: asyncpg.Connection, property_id: str) -> str | None:
    landlord_id: str | None = await conn.fetchval(
        "SELECT landlord_id FROM property_landlords WHERE property_id = $1", property_id)
    return landlord_id


async def vendor_exists(conn: asyncpg.Connection, vendor_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM vendors WHERE id = $1", vendor_id))


async def incident_exists(conn: asyncpg.Connection, incident_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM incidents WHERE id = $1", incident_id))


async def by_id(conn: asyncpg.Connection, call_id: str, *, lock: bool = False) -> Call | None:
    return await conn.fetchrow("SELECT * FROM calls WHERE id = $1" + (" FOR UPDATE" if lock else ""), call_id)


async def by_sid(conn: asyncpg.Connection, sid: str, *, lock: bool = False) -> Call | None:
    return await conn.fetchrow("SELECT * FROM calls WHERE twilio_call_sid = $1" + (" FOR UPDATE" if lock else ""),
                               sid)


async def lock_admissions(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", ADMISSION_LOCK)


async def count_reserved(conn: asyncpg.Connection, admitted_since: datetime, reports_since: datetime) -> int:
    """Admitted calls a bridge report may not reflect yet: not streaming, or streaming since
    before the least recent bridge report; bounded by the reservation TTL."""
    reserved: int = await conn.fetchval(
        "SELECT count(*) FROM calls WHERE admission = 'admitted' AND ended_at IS NULL AND admitted_at > $1"
        " AND (stream_started_at IS NULL OR stream_started_at >= $2)", admitted_since, reports_since)
    return reserved


async def insert_inbound(conn: asyncpg.Connection, *, call_id: str, sid: str, property_id: str, from_number: str,
                         to_number: str, status: str, vendor_id: str | None = None) -> Call | None:
    """A guest's call, or (``vendor_id``) a booked vendor's (see ``booked_vendor_calling``)."""
    return await conn.fetchrow(
        "INSERT INTO calls (id, twilio_call_sid, property_id, call_type, direction, from_number, to_number, status,"
        " vendor_id) VALUES ($1, $2, $3, CASE WHEN $7::text IS NULL THEN 'guest' ELSE 'vendor' END, 'inbound',"
        " $4, $5, $6, $7) ON CONFLICT (twilio_call_sid) DO NOTHING RETURNING *",
        call_id, sid, property_id, from_number, to_number, status, vendor_id)


async def booked_vendor_calling(conn: asyncpg.Connection, property_id: str, from_number: str,
                                early_s: float) -> str | None:
    """The vendor whose number is calling and who has a booking at this property now (from
    ``early_s`` before its start until its end), else ``None``. Caller ID can be spoofed: this
    only picks the persona; the access code still needs the booking reference (tools)."""
    vendor_id: str | None = await conn.fetchval(
        "SELECT v.id FROM vendors v JOIN repair_bookings b ON b.vendor_id = v.id"
        " JOIN incidents i ON i.id = b.incident_id"
        " WHERE v.phone = $2 AND b.property_id = $1 AND i.status NOT IN ('resolved', 'cancelled')"
        " AND now() BETWEEN b.starts_at - make_interval(secs => $3) AND b.ends_at"
        " ORDER BY b.starts_at LIMIT 1", property_id, from_number, early_s)
    return vendor_id


async def set_admission(conn: asyncpg.Connection, call_id: str, admitted: bool, at: datetime) -> Call:
    if admitted:
        return await conn.fetchrow(
            "UPDATE calls SET admission = 'admitted', admitted_at = $2 WHERE id = $1 RETURNING *", call_id, at)
    return await conn.fetchrow(
        "UPDATE calls SET admission = 'overflow', ended_at = coalesce(ended_at, $2),"
        " end_reason = coalesce(end_reason, 'overflow') WHERE id = $1 RETURNING *", call_id, at)


async def bind_sid(conn: asyncpg.Connection, call_id: str, sid: str, answered_by: str | None) -> Call:
    return await conn.fetchrow(
        "UPDATE calls SET twilio_call_sid = coalesce(twilio_call_sid, $2), answered_by = coalesce($3, answered_by)"
        " WHERE id = $1 RETURNING *", call_id, sid, answered_by)


async def apply_status(conn: asyncpg.Connection, call_id: str, *, status: str | None, sequence: int | None,
                       answered_by: str | None, started: bool, ended_at: datetime | None) -> Call:
    """Write a status callback's effect; ``status`` None means only the sequence moves."""
    return await conn.fetchrow(
        "UPDATE calls SET status = coalesce($2, status), last_sequence = greatest(last_sequence, coalesce($3, -1)),"
        " answered_by = coalesce($4, answered_by),"
        " started_at = CASE WHEN $5 THEN coalesce(started_at, now()) ELSE started_at END,"
        " ended_at = coalesce(ended_at, $6), end_reason = coalesce(end_reason, CASE WHEN $6 IS NULL THEN NULL"
        " ELSE $2 END) WHERE id = $1 RETURNING *",
        call_id, status, sequence, answered_by, started, ended_at)


async def mark_stream(conn: asyncpg.Connection, call_id: str, stream_event: str, stream_sid: str, at: datetime,
                      error: str) -> Call | None:
    """Record a stream lifecycle step once; ``None`` when it was already recorded."""
    column = {"stream-started": "stream_started_at", "stream-stopped": "stream_stopped_at",
              "stream-error": "stream_error"}[stream_event]
    value: object = (error or "stream error") if stream_event == "stream-error" else at
    return await conn.fetchrow(
        f"UPDATE calls SET {column} = $2, stream_sid = coalesce(stream_sid, $3)"
        f" WHERE id = $1 AND {column} IS NULL RETURNING *", call_id, value, stream_sid)


# --- outbound dialing -------------------------------------------------------------------

async def insert_outbound(conn: asyncpg.Connection, *, call_id: str, call_type: str, property_id: str,
                          incident_id: str | None, vendor_id: str | None, landlord_id: str | None,
                          from_number: str, to_number: str, briefing: str) -> Call | None:
    """Insert the call once (``call_id`` is the idempotency key); ``None`` if it already exists."""
    return await conn.fetchrow(
        "INSERT INTO calls (id, property_id, incident_id, call_type, direction, from_number, to_number, vendor_id,"
        " landlord_id, briefing, status, dial_state) VALUES ($1, $2, $3, $4, 'outbound', $5, $6, $7, $8, $9,"
        " 'queued', 'pending') ON CONFLICT (id) DO NOTHING RETURNING *",
        call_id, property_id, incident_id, call_type, from_number, to_number, vendor_id, landlord_id, briefing)


async def claim_dial(conn: asyncpg.Connection, call_id: str) -> Call | None:
    """Take the right to dial; only one delivery of a DialCall ever gets it."""
    return await conn.fetchrow(
        "UPDATE calls SET dial_state = 'dialing', dial_attempted_at = now()"
        " WHERE id = $1 AND dial_state = 'pending' AND ended_at IS NULL RETURNING *", call_id)


async def release_dial(conn: asyncpg.Connection, call_id: str) -> None:
    """Give the claim back after an error that proves Twilio did not get the request."""
    await conn.execute("UPDATE calls SET dial_state = 'pending' WHERE id = $1 AND dial_state = 'dialing'", call_id)


async def mark_placed(conn: asyncpg.Connection, call_id: str, sid: str) -> None:
    await conn.execute(
        "UPDATE calls SET dial_state = 'placed', twilio_call_sid = coalesce(twilio_call_sid, $2) WHERE id = $1",
        call_id, sid)


async def mark_dial_failed(conn: asyncpg.Connection, call_id: str, state: str, error: str,
                           at: datetime) -> Call:
    return await conn.fetchrow(
        "UPDATE calls SET dial_state = $2, dial_error = $3, status = 'failed', ended_at = coalesce(ended_at, $4),"
        " end_reason = coalesce(end_reason, $5) WHERE id = $1 RETURNING *",
        call_id, state, error, at, "dial_failed" if state == "failed" else "dial_outcome_unknown")


async def property_summary(conn: asyncpg.Connection, property_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT name, address, timezone, handoff_number,"
        " recording_enabled AND recording_notice AS recording_notice FROM properties WHERE id = $1", property_id)
    return row


async def end_after_stream(conn: asyncpg.Connection, call_id: str, at: datetime) -> Call | None:
    """End a call whose media stream is over and no status callback ended it; ``None`` if it
    had already ended. Answered (it streamed), so it started when its stream did."""
    return await conn.fetchrow(
        "UPDATE calls SET ended_at = coalesce(stream_stopped_at, $2), end_reason = 'stream-ended',"
        " started_at = coalesce(started_at, stream_started_at, admitted_at, created_at),"
        " status = CASE WHEN status IN ('completed', 'busy', 'failed', 'no-answer', 'canceled') THEN status"
        " ELSE 'completed' END WHERE id = $1 AND ended_at IS NULL RETURNING *", call_id, at)
