"""record_quote and record_decision: what vendor and landlord calls produce."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import msgspec

from fixline_proto.base import new_id
from fixline_proto.events import DecisionMade, QuoteReceived
from fixline_proto.tools import DecisionRecorded, QuoteRecorded, RecordDecision, RecordQuote

from services.common.work_hours import WorkHours, as_utc, within, zone

from .context import ToolContext
from .errors import ToolFailure, not_found
from .outbox import enqueue


async def _incident_property(conn: asyncpg.Connection, incident_id: str) -> str:
    property_id = await conn.fetchval("SELECT property_id FROM incidents WHERE id = $1", incident_id)
    if property_id is None:
        raise not_found("incident", incident_id)
    return property_id


async def _require_vendor(conn: asyncpg.Connection, vendor_id: str) -> None:
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM vendors WHERE id = $1)", vendor_id):
        raise not_found("vendor", vendor_id)


async def _check_earliest_start(conn: asyncpg.Connection, req: RecordQuote, property_id: str) -> RecordQuote:
    """A quote's earliest start is in the future and inside the vendor's working hours, in the
    property's time zone: a slot nobody could book is refused, so the agent asks again.
    Returns the request with the start in UTC (a time without offset is local to the property)."""
    if req.earliest_start is None:
        return req
    row = await conn.fetchrow(
        "SELECT v.name, v.work_start, v.work_end, v.work_days, p.timezone FROM vendors v, properties p"
        " WHERE v.id = $1 AND p.id = $2", req.vendor_id, property_id)
    start = as_utc(req.earliest_start, row["timezone"])
    said = f"{start.astimezone(zone(row['timezone'])):%A %d %B %Y %H:%M}"
    if start <= datetime.now(UTC):
        raise ToolFailure("invalid_argument", f"the earliest start ({said} local time) is in the past; "
                                              "ask the vendor for a future date and time")
    hours = WorkHours.of(row["work_start"], row["work_end"], list(row["work_days"]))
    if not within(hours, start, row["timezone"]):
        raise ToolFailure("invalid_argument", f"the earliest start ({said} local time) is outside "
                                              f"{row['name']}'s working hours, {hours.describe(row['timezone'])}; "
                                              "ask for a time inside them")
    return msgspec.structs.replace(req, earliest_start=start)


async def record_quote(ctx: ToolContext, req: RecordQuote) -> QuoteRecorded:
    """One quote per (incident, vendor): recording again updates it and keeps its id."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        property_id = await _incident_property(conn, req.incident_id)
        await _require_vendor(conn, req.vendor_id)
        req = await _check_earliest_start(conn, req, property_id)
        quote_id = await conn.fetchval(
            "INSERT INTO quotes (id, incident_id, vendor_id, call_id, price, currency, earliest_start, notes)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (incident_id, vendor_id) DO UPDATE SET call_id = COALESCE(excluded.call_id, quotes.call_id),"
            " price = excluded.price, currency = excluded.currency, earliest_start = excluded.earliest_start,"
            " notes = excluded.notes RETURNING id",
            f"q-{new_id()}", req.incident_id, req.vendor_id, req.call_id, Decimal(str(round(req.price, 2))),
            req.currency, req.earliest_start, req.notes)
        await enqueue_quote(conn, property_id, quote_id, req)
    return QuoteRecorded(quote_id=quote_id)


async def enqueue_quote(conn: asyncpg.Connection, property_id: str, quote_id: str, req: RecordQuote) -> None:
    await enqueue(conn, QuoteReceived(
        property_id=property_id, incident_id=req.incident_id, quote_id=quote_id, vendor_id=req.vendor_id,
        price=round(req.price, 2), currency=req.currency, earliest_start=req.earliest_start, call_id=req.call_id))


async def record_decision(ctx: ToolContext, req: RecordDecision) -> DecisionRecorded:
    """A retry on the same call (same incident and call id) returns the first decision."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        property_id = await _incident_property(conn, req.incident_id)
        if req.vendor_id is not None:
            await _require_vendor(conn, req.vendor_id)
        if req.approved and req.vendor_id is None:
            raise ToolFailure("invalid_argument", "an approval must name the vendor that was approved")
        decision_id = await conn.fetchval(
            "INSERT INTO approval_decisions (id, incident_id, approved, vendor_id, notes, call_id)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (incident_id, call_id) WHERE call_id IS NOT NULL DO NOTHING RETURNING id",
            f"d-{new_id()}", req.incident_id, req.approved, req.vendor_id, req.notes, req.call_id)
        if decision_id is None:
            existing = await conn.fetchval("SELECT id FROM approval_decisions WHERE incident_id = $1"
                                           " AND call_id = $2", req.incident_id, req.call_id)
            return DecisionRecorded(decision_id=existing)

        await enqueue(conn, DecisionMade(property_id=property_id, incident_id=req.incident_id,
                                         decision_id=decision_id, approved=req.approved,
                                         vendor_id=req.vendor_id, notes=req.notes))
    return DecisionRecorded(decision_id=decision_id)
