"""SQL of the call-backs: the promise checked against the call it was made on, and whether a
call-back reached a person."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from .jobs import CallbackJob, IncidentSummary, Promise, Refusal

WHY = {"agent_unavailable": "the line had a technical fault and the call was cut short",
       "time_limit": "the call reached its time limit before we could finish",
       "tools_unavailable": "our system could not record what they asked for",
       "agent_request": "the agent offered to call them back"}


async def load(conn: asyncpg.Connection, promise: Promise,
               quiet_hours_of: Callable[[str | None, str | None], tuple[str, str]]) -> CallbackJob | Refusal:
    """The job of a call-back, or its refusal with why: the promise must name a call we carried,
    on its property, to that call's other party; a cut-off call-back is not called back again.
    ``quiet_hours_of`` turns the property's quiet window into the one the workflow records."""
    call = await conn.fetchrow(
        "SELECT c.id, c.property_id, c.direction, c.from_number, c.to_number, c.incident_id, c.created_at,"
        " p.name AS property_name, p.address, p.timezone, to_char(p.quiet_start, 'HH24:MI:SS') AS quiet_start,"
        " to_char(p.quiet_end, 'HH24:MI:SS') AS quiet_end FROM calls c JOIN properties p ON p.id = c.property_id"
        " WHERE c.id = $1", promise.call_id)
    if call is None or call["property_id"] != promise.property_id:
        return Refusal(reason="the promise names no call of this property", incident_id=promise.incident_id)
    other_party = call["from_number"] if call["direction"] == "inbound" else call["to_number"]
    if other_party != promise.to_number:
        return Refusal(reason="the number is not the caller's", incident_id=promise.incident_id)
    if await conn.fetchval("SELECT 1 FROM outreach_calls WHERE call_id = $1 AND workflow_id LIKE 'callback:%'",
                           call["id"]):
        return Refusal(reason="the call-back itself was cut short; a person must call", incident_id=promise.incident_id)
    incident = await conn.fetchrow(
        "SELECT id, category, description, status FROM incidents WHERE property_id = $3"
        " AND (id = $1 OR call_id = $2) ORDER BY (id = $1) DESC, created_at DESC LIMIT 1",
        promise.incident_id or call["incident_id"] or "", call["id"], call["property_id"])
    why = WHY.get(promise.reason, promise.reason)
    return CallbackJob(call_id=promise.call_id, property_id=promise.property_id, to_number=promise.to_number,
                       why=f"{why} ({promise.note})" if promise.note else why, property_name=call["property_name"],
                       address=call["address"], timezone=call["timezone"],
                       quiet_hours=quiet_hours_of(call["quiet_start"], call["quiet_end"]),
                       call_started=call["created_at"].isoformat(), incident_id=incident["id"] if incident else None,
                       incident=IncidentSummary(**dict(incident)) if incident else None)


async def reached_a_person(conn: asyncpg.Connection, call_id: str) -> bool:
    """The call connected to the agent (its media stream started) and no machine answered."""
    row = await conn.fetchrow("SELECT stream_started_at, answered_by FROM calls WHERE id = $1", call_id)
    if row is None or row["stream_started_at"] is None:
        return False
    answered_by: str = row["answered_by"] or ""
    return not (answered_by.startswith("machine") or answered_by == "fax")
