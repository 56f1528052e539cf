"""create_incident (with repeat-report dedupe) and update_incident_status."""

from __future__ import annotations

import asyncpg

from fixline_proto.base import new_id
from fixline_proto.events import IncidentCreated, IncidentUpdated
from fixline_proto.tools import (CreateIncident, IncidentRef, IncidentStatusChanged, IncidentStatusName,
                                 UpdateIncidentStatus)

from . import safety, transitions
from .calls import CallScope
from .context import ToolContext
from .errors import ToolFailure, not_found
from .outbox import enqueue
from .scope import load_incident

ACTIVE = "status NOT IN ('resolved', 'cancelled')"
NEEDS_QUOTES_NOTE = "a professional is needed"


async def require_property(conn: asyncpg.Connection, property_id: str) -> None:
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM properties WHERE id = $1)", property_id):
        raise not_found("property", property_id)


async def create_incident(ctx: ToolContext, req: CreateIncident, call: CallScope) -> IncidentRef:
    """The property, the caller's number and the call come from the call row. The agent states
    facts (needs_professional, urgency); the system decides the status: an incident that needs
    a professional goes to awaiting_quotes, which starts outreach."""
    caller = call.counterpart_phone or None
    async with ctx.pool.acquire() as conn, conn.transaction():
        await require_property(conn, call.property_id)
        # Serialise identical reports so two concurrent requests make one incident.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
                           f"incident|{call.property_id}|{caller or call.call_id}|{req.category}")
        existing = await _recent_duplicate(conn, call, req.category, caller, ctx.settings.incident_dedupe_window_s)
        if existing:
            return await _repeat_report(conn, existing, req)
        incident_id = f"inc-{new_id()}"
        status: IncidentStatusName = "awaiting_quotes" if req.needs_professional else "open"
        await conn.execute(
            "INSERT INTO incidents (id, property_id, category, severity, description, caller_phone, call_id,"
            " needs_professional, urgency, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            incident_id, call.property_id, req.category, req.severity, req.description, caller, call.call_id,
            req.needs_professional, req.urgency, status)
        await conn.execute("INSERT INTO incident_status_history (incident_id, from_status, to_status, note)"
                           " VALUES ($1, NULL, 'open', 'reported')", incident_id)
        if status != "open":
            await conn.execute("INSERT INTO incident_status_history (incident_id, from_status, to_status, note)"
                               " VALUES ($1, 'open', $2, $3)", incident_id, status, NEEDS_QUOTES_NOTE)
        await enqueue(conn, IncidentCreated(
            property_id=call.property_id, incident_id=incident_id, category=req.category,
            severity=req.severity, description=req.description, caller_phone=caller, call_id=call.call_id,
            status=status, needs_professional=req.needs_professional, urgency=req.urgency))
    return IncidentRef(incident_id=incident_id, status=status, safety_instructions=_safety(req))


def _safety(req: CreateIncident) -> str | None:
    """An emergency's safety lines go back with the result, whatever the model said before."""
    return safety.instructions(req.category, req.description) if req.urgency == "emergency" else None


async def _repeat_report(conn: asyncpg.Connection, existing: asyncpg.Record, req: CreateIncident) -> IncidentRef:
    """The same problem reported again; if it now needs a professional (troubleshooting
    failed), the open incident moves on to awaiting_quotes."""
    status = existing["status"]
    if req.needs_professional and transitions.can_move(status, "awaiting_quotes"):
        incident = await lock_incident(conn, existing["id"])
        await conn.execute("UPDATE incidents SET needs_professional = true,"
                           " urgency = coalesce($2, urgency) WHERE id = $1", existing["id"], req.urgency)
        await move_incident(conn, incident, "awaiting_quotes", NEEDS_QUOTES_NOTE)
        status = "awaiting_quotes"
    return IncidentRef(incident_id=existing["id"], status=status, duplicate=True, safety_instructions=_safety(req))


async def _recent_duplicate(conn: asyncpg.Connection, call: CallScope, category: str, caller: str | None,
                            window_s: float) -> asyncpg.Record | None:
    who = "caller_phone = $3" if caller else "call_id = $3"
    return await conn.fetchrow(
        f"SELECT id, status FROM incidents WHERE property_id = $1 AND category = $2 AND {who}"
        f" AND {ACTIVE} AND created_at > now() - make_interval(secs => $4)"
        " ORDER BY created_at DESC LIMIT 1",
        call.property_id, category, caller or call.call_id, window_s)


async def move_incident(conn: asyncpg.Connection, incident: asyncpg.Record, target: IncidentStatusName,
                        note: str) -> None:
    """Change the status of a locked incident row, with history and an event."""
    await conn.execute("UPDATE incidents SET status = $2, updated_at = now() WHERE id = $1", incident["id"], target)
    await conn.execute("INSERT INTO incident_status_history (incident_id, from_status, to_status, note)"
                       " VALUES ($1, $2, $3, $4)", incident["id"], incident["status"], target, note)
    await enqueue(conn, IncidentUpdated(property_id=incident["property_id"], incident_id=incident["id"],
                                        status=target, previous_status=incident["status"], note=note))


async def lock_incident(conn: asyncpg.Connection, incident_id: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT id, property_id, status FROM incidents WHERE id = $1 FOR UPDATE", incident_id)
    if row is None:
        raise not_found("incident", incident_id)
    return row


async def update_incident_status(ctx: ToolContext, req: UpdateIncidentStatus,
                                 call: CallScope | None) -> IncidentStatusChanged:
    """On a guest call: only the call's own incident, only the guest transitions. From the
    workflow (``call`` None): any incident, the whole state machine."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        incident = await load_incident(conn, req.incident_id, call, lock=True)
        current = incident["status"]
        if current == req.status:  # a retried call: already there, nothing to do
            return IncidentStatusChanged(incident_id=req.incident_id, status=current, previous_status=current)
        if call is not None and not transitions.guest_may_move(current, req.status):
            raise ToolFailure("forbidden", transitions.explain_guest(current, req.status))
        if not transitions.can_move(current, req.status):
            raise ToolFailure("illegal_transition", transitions.explain(current, req.status))
        await move_incident(conn, incident, req.status, req.note)
    return IncidentStatusChanged(incident_id=req.incident_id, status=req.status, previous_status=current)
