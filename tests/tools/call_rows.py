"""Call rows for tests that use the call tools directly: what ingress writes to ``calls``
for a guest ringing the property line, or for a vendor/landlord call outreach placed.

The call tools authorize against this row (``services/tools/calls.py``), so every direct
call-tool request needs one; end-to-end tests get theirs from the real ingress."""

from __future__ import annotations

import uuid

import asyncpg


def unique_phone() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


async def insert_call(pool: asyncpg.Pool, *, call_type: str = "guest", property_id: str = "p1",
                      incident_id: str | None = None, vendor_id: str | None = None,
                      landlord_id: str | None = None, phone: str | None = None, direction: str | None = None,
                      ended_s_ago: float | None = None, call_id: str | None = None) -> str:
    """Insert a live (or, with ``ended_s_ago``, ended) call; returns its id. ``phone`` is the
    other party's number: by default a fresh guest number, the vendor's or the landlord's.
    An existing ``call_id`` is left as it is."""
    call_id = call_id or f"call-{uuid.uuid4().hex[:16]}"
    direction = direction or ("inbound" if call_type == "guest" else "outbound")
    async with pool.acquire() as conn:
        line = await conn.fetchval("SELECT phone_number FROM property_phone_numbers WHERE property_id = $1"
                                   " ORDER BY phone_number LIMIT 1", property_id) or "+15550100999"
        if call_type == "landlord" and landlord_id is None:
            landlord_id = await conn.fetchval("SELECT landlord_id FROM property_landlords WHERE property_id = $1",
                                              property_id)
        phone = phone or await _phone_of(conn, vendor_id, landlord_id) or unique_phone()
        caller, callee = (phone, line) if direction == "inbound" else (line, phone)
        await conn.execute(
            "INSERT INTO calls (id, property_id, incident_id, call_type, direction, from_number, to_number,"
            " vendor_id, landlord_id, status, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " 'in-progress', now(), CASE WHEN $10::float8 IS NULL THEN NULL"
            " ELSE now() - make_interval(secs => $10::float8) END) ON CONFLICT (id) DO NOTHING",
            call_id, property_id, incident_id, call_type, direction, caller, callee, vendor_id, landlord_id,
            ended_s_ago)
    return call_id


async def _phone_of(conn: asyncpg.Connection, vendor_id: str | None, landlord_id: str | None) -> str | None:
    if vendor_id:
        return await conn.fetchval("SELECT phone FROM vendors WHERE id = $1", vendor_id)
    if landlord_id:
        return await conn.fetchval("SELECT phone FROM landlords WHERE id = $1", landlord_id)
    return None


async def end_call(pool: asyncpg.Pool, call_id: str, s_ago: float = 60.0) -> None:
    async with pool.acquire() as conn:
        await conn.execute("UPDATE calls SET status = 'completed', ended_at = now() - make_interval(secs => $2)"
                           " WHERE id = $1", call_id, s_ago)
