"""record_quote and record_decision: what vendor and landlord calls produce.

A quote comes only from a vendor call, for the vendor that was dialled and the incident the
call is about, from a vendor that serves the property and does the trade. A decision comes
only from a landlord call with the property's owner, and an approved vendor must be one that
could do the job (``eligibility``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import msgspec

from fixline_proto.base import new_id
from fixline_proto.events import DecisionMade, QuoteReceived
from fixline_proto.tools import DecisionRecorded, QuoteRecorded, RecordDecision, RecordQuote

from services.common.work_hours import WorkHours, as_utc, within, zone

from . import transitions
from .calls import CallScope
from .context import ToolContext
from .eligibility import eligible_vendor
from .errors import ToolFailure, not_found
from .outbox import enqueue
from .scope import load_incident

EMERGENCY_NOW = timedelta(minutes=5)  # an emergency vendor "coming now" may say a time a moment ago


def _require_open(incident: asyncpg.Record) -> None:
    if incident["status"] in transitions.TERMINAL:
        raise ToolFailure("conflict", f"incident {incident['id']} is already {incident['status']}")


async def _check_earliest_start(conn: asyncpg.Connection, req: RecordQuote, property_id: str) -> RecordQuote:
    """A quote's earliest start is in the future and inside the vendor's working hours, in the
    property's time zone: a slot nobody could book is refused, so the agent asks again. In an
    emergency working hours do not apply (the vendor comes now). Returns the request with the
    start in UTC (a time without offset is local to the property)."""
    if req.earliest_start is None:
        return req
    row = await conn.fetchrow(
        "SELECT v.name, v.work_start, v.work_end, v.work_days, p.timezone, i.urgency"
        " FROM vendors v, properties p, incidents i WHERE v.id = $1 AND p.id = $2 AND i.id = $3",
        req.vendor_id, property_id, req.incident_id)
    start = as_utc(req.earliest_start, row["timezone"])
    said = f"{start.astimezone(zone(row['timezone'])):%A %d %B %Y %H:%M}"
    emergency = row["urgency"] == "emergency"
    if start <= datetime.now(UTC) - (EMERGENCY_NOW if emergency else timedelta(0)):
        raise ToolFailure("invalid_argument", f"the earliest start ({said} local time) is in the past; "
                                              "ask the vendor for a future date and time")
    hours = WorkHours.of(row["work_start"], row["work_end"], list(row["work_days"]))
    if not emergency and not within(hours, start, row["timezone"]):
        raise ToolFailure("invalid_argument", f"the earliest start ({said} local time) is outside "
                                              f"{row['name']}'s working hours, {hours.describe(row['timezone'])}; "
                                              "ask for a time inside them")
    return msgspec.structs.replace(req, earliest_start=start)


async def record_quote(ctx: ToolContext, req: RecordQuote, call: CallScope) -> QuoteRecorded:
    """One quote per (incident, vendor): recording again updates it and keeps its id."""
    if call.vendor_id is None or req.vendor_id != call.vendor_id:
        raise ToolFailure("forbidden", f"this call is with vendor {call.vendor_id}, not {req.vendor_id}")
    async with ctx.pool.acquire() as conn, conn.transaction():
        incident = await load_incident(conn, req.incident_id, call)
        _require_open(incident)
        await eligible_vendor(conn, req.vendor_id, incident)
        req = await _check_earliest_start(conn, req, incident["property_id"])
        quote_id = await conn.fetchval(
            "INSERT INTO quotes (id, incident_id, vendor_id, call_id, price, currency, earliest_start, notes)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (incident_id, vendor_id) DO UPDATE SET call_id = excluded.call_id,"
            " price = excluded.price, currency = excluded.currency, earliest_start = excluded.earliest_start,"
            " notes = excluded.notes RETURNING id",
            f"q-{new_id()}", req.incident_id, req.vendor_id, call.call_id, Decimal(str(round(req.price, 2))),
            req.currency, req.earliest_start, req.notes)
        await enqueue(conn, QuoteReceived(
            property_id=incident["property_id"], incident_id=req.incident_id, quote_id=quote_id,
            vendor_id=req.vendor_id, price=round(req.price, 2), currency=req.currency,
            earliest_start=req.earliest_start, call_id=call.call_id))
    return QuoteRecorded(quote_id=quote_id)


async def _require_owner(conn: asyncpg.Connection, call: CallScope) -> None:
    owner = await conn.fetchval("SELECT landlord_id FROM property_landlords WHERE property_id = $1", call.property_id)
    if owner is None or call.landlord_id != owner:
        raise ToolFailure("forbidden", "this call is not with the owner of this property")


async def record_decision(ctx: ToolContext, req: RecordDecision, call: CallScope) -> DecisionRecorded:
    """A retry on the same call (same incident and call id) returns the first decision."""
    if req.approved and req.vendor_id is None:
        raise ToolFailure("invalid_argument", "an approval must name the vendor that was approved")
    async with ctx.pool.acquire() as conn, conn.transaction():
        await _require_owner(conn, call)
        incident = await load_incident(conn, req.incident_id, call)
        _require_open(incident)
        if req.vendor_id is not None:  # an approval always names one (checked above)
            if req.approved:
                await eligible_vendor(conn, req.vendor_id, incident)
            elif not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM vendors WHERE id = $1)", req.vendor_id):
                raise not_found("vendor", req.vendor_id)
        decision_id = await conn.fetchval(
            "INSERT INTO approval_decisions (id, incident_id, approved, vendor_id, notes, call_id)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (incident_id, call_id) WHERE call_id IS NOT NULL DO NOTHING RETURNING id",
            f"d-{new_id()}", req.incident_id, req.approved, req.vendor_id, req.notes, call.call_id)
        if decision_id is None:
            existing = await conn.fetchval("SELECT id FROM approval_decisions WHERE incident_id = $1"
                                           " AND call_id = $2", req.incident_id, call.call_id)
            return DecisionRecorded(decision_id=existing)
        await enqueue(conn, DecisionMade(property_id=incident["property_id"], incident_id=req.incident_id,
                                         decision_id=decision_id, approved=req.approved,
                                         vendor_id=req.vendor_id, notes=req.notes))
    return DecisionRecorded(decision_id=decision_id)
