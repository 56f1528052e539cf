"""The ``call_recordings`` table (migration 0057) and the per-property recording switches."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

TERMINAL = ("completed", "absent", "failed")


@dataclass(frozen=True)
class RecordingRow:
    sid: str
    call_id: str
    status: str
    channels: int
    duration_s: int | None = None
    media_url: str = ""
    error_code: str = ""


async def recordable_call(conn: asyncpg.Connection, call_id: str) -> asyncpg.Record | None:
    """The call with its property's switch, when it should be recorded and is not yet."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT c.id, c.twilio_call_sid FROM calls c JOIN properties p ON p.id = c.property_id"
        " WHERE c.id = $1 AND p.recording_enabled AND c.ended_at IS NULL AND c.twilio_call_sid IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM call_recordings r WHERE r.call_id = c.id)", call_id)
    return row


async def upsert(conn: asyncpg.Connection, rec: RecordingRow) -> bool:
    """Insert or bring forward one recording; a terminal status is never moved back, and a sid
    already bound to another call is left alone. Whether a row was written."""
    written = await conn.fetchval(
        "INSERT INTO call_recordings AS r (sid, call_id, status, channels, duration_s, media_url, error_code)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (sid) DO UPDATE SET"
        "  status = CASE WHEN r.status = ANY($8::text[]) THEN r.status ELSE excluded.status END,"
        "  channels = excluded.channels,"
        "  duration_s = coalesce(excluded.duration_s, r.duration_s),"
        "  media_url = CASE WHEN excluded.media_url <> '' THEN excluded.media_url ELSE r.media_url END,"
        "  error_code = CASE WHEN excluded.error_code <> '' THEN excluded.error_code ELSE r.error_code END,"
        "  updated_at = now()"
        " WHERE r.call_id = excluded.call_id RETURNING true",
        rec.sid, rec.call_id, rec.status, rec.channels, rec.duration_s, rec.media_url, rec.error_code,
        list(TERMINAL))
    return bool(written)


async def expired(pool: asyncpg.Pool, retention_days: int, limit: int = 200) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT sid, call_id FROM call_recordings WHERE deleted_at IS NULL"
        " AND created_at < now() - make_interval(days => $1) ORDER BY created_at LIMIT $2",
        retention_days, limit)
    return rows


async def mark_deleted(pool: asyncpg.Pool, sid: str) -> None:
    await pool.execute("UPDATE call_recordings SET deleted_at = now(), updated_at = now()"
                       " WHERE sid = $1 AND deleted_at IS NULL", sid)
