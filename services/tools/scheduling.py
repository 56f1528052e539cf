"""schedule_repair: only the vendor the owner approved, then a Google Calendar event with a
deterministic id, the booking row (with the booking reference the vendor will need for the
access code), the RepairScheduled event and (when legal) the incident moved to scheduled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from fixline_proto.events import RepairScheduled
from fixline_proto.tools import RepairBooked, ScheduleRepair

from . import references, transitions
from .calendar import CalendarError, event_id_for
from .calls import CallScope
from .context import ToolContext
from .eligibility import eligible_vendor
from .errors import ToolFailure
from .incidents import lock_incident, move_incident
from .outbox import enqueue
from .scope import load_incident

PAST_TOLERANCE = timedelta(minutes=5)


async def _load_job(conn: asyncpg.Connection, req: ScheduleRepair,
                    call: CallScope | None) -> tuple[dict[str, Any], asyncpg.Record]:
    incident = await load_incident(conn, req.incident_id, call)
    if incident["property_id"] != req.property_id:
        raise ToolFailure("invalid_argument", f"incident {req.incident_id} is not at property {req.property_id}")
    if incident["status"] in transitions.TERMINAL:
        raise ToolFailure("conflict", f"incident {req.incident_id} is already {incident['status']}")
    await _require_approval(conn, req)
    vendor = await eligible_vendor(conn, req.vendor_id, incident)
    place = await conn.fetchrow("SELECT name, address, timezone FROM properties WHERE id = $1", req.property_id)
    return {**dict(incident), **dict(place)}, vendor


async def _require_approval(conn: asyncpg.Connection, req: ScheduleRepair) -> None:
    """Only the vendor of the owner's latest decision, and only if that decision approved."""
    latest = await conn.fetchrow("SELECT approved, vendor_id FROM approval_decisions WHERE incident_id = $1"
                                 " ORDER BY created_at DESC, id DESC LIMIT 1", req.incident_id)
    if latest is None or not latest["approved"]:
        raise ToolFailure("forbidden", f"incident {req.incident_id} has no approved repair to book")
    if latest["vendor_id"] != req.vendor_id:
        raise ToolFailure("forbidden", f"the owner approved vendor {latest['vendor_id']}, not {req.vendor_id}")


def _utc_start(start: datetime, timezone: str) -> datetime:
    """A time without an offset is read in the property's time zone (what the caller meant)."""
    if start.tzinfo is None:
        try:
            start = start.replace(tzinfo=ZoneInfo(timezone))
        except ZoneInfoNotFoundError:
            start = start.replace(tzinfo=UTC)
    return start.astimezone(UTC)


def _event_body(event_id: str, job: dict[str, Any], vendor: asyncpg.Record, start: datetime,
                end: datetime) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": f"Repair visit - {job['category']} - {job['name']}",
        "description": f"{job['description']}\nVendor: {vendor['name']} ({vendor['phone']}).\n"
                       f"Booked by the Fixline agent for incident {job['id']}.",
        "location": job["address"],
        "start": {"dateTime": start.isoformat(), "timeZone": job["timezone"]},
        "end": {"dateTime": end.isoformat(), "timeZone": job["timezone"]},
        "extendedProperties": {"private": {"incident_id": job["id"], "vendor_id": vendor["id"],
                                           "property_id": job["property_id"]}},
    }


async def schedule_repair(ctx: ToolContext, req: ScheduleRepair, call: CallScope | None) -> RepairBooked:
    """From the workflow (``call`` None) or a landlord call of the property; either way only
    the vendor the owner approved."""
    async with ctx.pool.acquire() as conn:
        job, vendor = await _load_job(conn, req, call)
    start = _utc_start(req.start, job["timezone"])
    if start < datetime.now(UTC) - PAST_TOLERANCE:
        raise ToolFailure("invalid_argument", f"the start time {start.isoformat()} is in the past")
    end = start + timedelta(minutes=req.duration_minutes)
    event_id = event_id_for(req.incident_id, req.vendor_id, start)
    try:
        event = await ctx.calendar.insert_event(_event_body(event_id, job, vendor, start, end))
    except CalendarError as exc:
        raise ToolFailure("unavailable", str(exc), retryable=exc.retryable) from exc
    if event.status == "cancelled":
        raise ToolFailure("conflict", "this visit was booked before and then cancelled in the calendar")
    booking_id = f"bk-{event_id[:32]}"
    reference = await _record_booking(ctx, req, booking_id, event_id, start, end)
    # already_booked = this call did not create the event (a retry, or a 409 for an event whose
    # booking row was lost: that row is written now, once). Of concurrent identical calls
    # exactly one created the event, whichever of them wrote the row.
    return RepairBooked(booking_id=booking_id, calendar_event_id=event_id, start=start, end=end,
                        already_booked=not event.created, booking_reference=references.spoken(reference))


async def _record_booking(ctx: ToolContext, req: ScheduleRepair, booking_id: str, event_id: str,
                          start: datetime, end: datetime) -> str:
    """Write the booking once; its reference (a retry gets the first one)."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        incident = await lock_incident(conn, req.incident_id)
        inserted: str | None = await conn.fetchval(
            "INSERT INTO repair_bookings (id, incident_id, vendor_id, property_id, calendar_event_id,"
            " starts_at, ends_at, reference) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (calendar_event_id) DO NOTHING RETURNING reference",
            booking_id, req.incident_id, req.vendor_id, req.property_id, event_id, start, end,
            references.new_reference())
        if inserted is None:
            reference: str | None = await conn.fetchval(
                "SELECT reference FROM repair_bookings WHERE calendar_event_id = $1", event_id)
            return reference or ""
        await enqueue(conn, RepairScheduled(
            property_id=req.property_id, incident_id=req.incident_id, booking_id=booking_id,
            vendor_id=req.vendor_id, calendar_event_id=event_id, start=start, end=end))
        if transitions.can_move(incident["status"], "scheduled"):
            await move_incident(conn, incident, "scheduled", f"repair booked with {req.vendor_id}")
    return inserted
