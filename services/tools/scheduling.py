"""schedule_repair: a Google Calendar event with a deterministic id, then the booking row,
the RepairScheduled event and (when legal) the incident moved to scheduled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from fixline_proto.events import RepairScheduled
from fixline_proto.tools import RepairBooked, ScheduleRepair

from . import transitions
from .calendar import CalendarError, event_id_for
from .context import ToolContext
from .errors import ToolFailure, not_found
from .incidents import lock_incident, move_incident
from .outbox import enqueue

PAST_TOLERANCE = timedelta(minutes=5)


async def _load_job(conn: asyncpg.Connection, req: ScheduleRepair) -> tuple[asyncpg.Record, asyncpg.Record]:
    job = await conn.fetchrow(
        "SELECT i.id, i.status, i.property_id, i.category, i.description, p.name, p.address, p.timezone"
        " FROM incidents i JOIN properties p ON p.id = i.property_id WHERE i.id = $1", req.incident_id)
    if job is None:
        raise not_found("incident", req.incident_id)
    if job["property_id"] != req.property_id:
        raise ToolFailure("invalid_argument", f"incident {req.incident_id} is not at property {req.property_id}")
    if job["status"] in transitions.TERMINAL:
        raise ToolFailure("conflict", f"incident {req.incident_id} is already {job['status']}")
    vendor = await conn.fetchrow("SELECT id, name, phone, service_area FROM vendors WHERE id = $1", req.vendor_id)
    if vendor is None:
        raise not_found("vendor", req.vendor_id)
    if req.property_id not in vendor["service_area"]:
        raise ToolFailure("invalid_argument", f"vendor {vendor['name']} does not serve this property")
    return job, vendor


def _utc_start(start: datetime, timezone: str) -> datetime:
    """A time without an offset is read in the property's time zone (what the caller meant)."""
    if start.tzinfo is None:
        try:
            start = start.replace(tzinfo=ZoneInfo(timezone))
        except ZoneInfoNotFoundError:
            start = start.replace(tzinfo=UTC)
    return start.astimezone(UTC)


def _event_body(event_id: str, job: asyncpg.Record, vendor: asyncpg.Record, start: datetime,
                end: datetime) -> dict:
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


async def schedule_repair(ctx: ToolContext, req: ScheduleRepair) -> RepairBooked:
    async with ctx.pool.acquire() as conn:
        job, vendor = await _load_job(conn, req)
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
    await _record_booking(ctx, req, booking_id, event_id, start, end)
    # already_booked = this call did not create the event (a retry, or a 409 for an event whose
    # booking row was lost: that row is written now, once). Of concurrent identical calls
    # exactly one created the event, whichever of them wrote the row.
    return RepairBooked(booking_id=booking_id, calendar_event_id=event_id, start=start, end=end,
                        already_booked=not event.created)


async def _record_booking(ctx: ToolContext, req: ScheduleRepair, booking_id: str, event_id: str,
                          start: datetime, end: datetime) -> bool:
    async with ctx.pool.acquire() as conn, conn.transaction():
        incident = await lock_incident(conn, req.incident_id)
        inserted = await conn.fetchval(
            "INSERT INTO repair_bookings (id, incident_id, vendor_id, property_id, calendar_event_id,"
            " starts_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (calendar_event_id) DO NOTHING RETURNING true",
            booking_id, req.incident_id, req.vendor_id, req.property_id, event_id, start, end)
        if not inserted:
            return False
        await enqueue(conn, RepairScheduled(
            property_id=req.property_id, incident_id=req.incident_id, booking_id=booking_id,
            vendor_id=req.vendor_id, calendar_event_id=event_id, start=start, end=end))
        if transitions.can_move(incident["status"], "scheduled"):
            await move_incident(conn, incident, "scheduled", f"repair booked with {req.vendor_id}")
    return True
