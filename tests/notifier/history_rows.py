"""Rows of a finished incident as the services leave them in PostgreSQL (incident, its guest
and vendor calls with transcripts and reports, status history, quote, decision, booking, a
door-code release), for the dashboard history tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from fixline_proto import encode
from fixline_proto.events import CallCost, CallReport


@dataclass(frozen=True)
class Story:
    property_id: str
    incident_id: str
    guest_call: str
    vendor_call: str
    marker: str          # a word only this story's texts contain


async def _report(conn: asyncpg.Connection, story_prop: str, call_id: str, incident_id: str, summary: str,
                  total: float, call_type: str, direction: str) -> None:
    event = CallReport(property_id=story_prop, report_id=uuid.uuid4().hex, call_id=call_id, call_type=call_type,  # type: ignore[arg-type]
                       direction=direction, outcome="incident_opened" if call_type == "guest" else "quote",  # type: ignore[arg-type]
                       summary=summary, incident_id=incident_id, turns=2, caller_turns=1,
                       tools=["create_incident"] if call_type == "guest" else ["record_quote"],
                       cost=CallCost(billed_minutes=2, telephony=0.02, gemini=total - 0.02, total=total))
    await conn.execute(
        "INSERT INTO call_reports (call_id, report_id, property_id, incident_id, outcome, summary, source,"
        " cost_total, report) VALUES ($1, $2, $3, $4, $5, $6, 'fallback', $7, $8::jsonb)",
        call_id, event.report_id, story_prop, incident_id, event.outcome, summary, total, encode(event).decode())


async def _call(conn: asyncpg.Connection, property_id: str, incident_id: str, call_type: str, at: datetime,
                vendor_id: str | None = None) -> str:
    call_id = f"call-{uuid.uuid4().hex[:16]}"
    direction = "inbound" if call_type == "guest" else "outbound"
    await conn.execute(
        "INSERT INTO calls (id, property_id, incident_id, call_type, direction, from_number, to_number, vendor_id,"
        " status, created_at, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, '+15550001111', '+15550100999',"
        " $6, 'completed', $7::timestamptz, $7::timestamptz, $7::timestamptz + interval '2 minutes')",
        call_id, property_id, incident_id, call_type, direction, vendor_id, at)
    return call_id


async def story(pool: asyncpg.Pool, property_id: str, marker: str | None = None,
                at: datetime | None = None, guest_report: bool = True) -> Story:
    """``guest_report=False``: the guest call has no report yet (the test has it built)."""
    marker = marker or f"zq{uuid.uuid4().hex[:8]}"
    at = at or datetime.now(UTC) - timedelta(hours=3)
    incident_id = f"inc-{uuid.uuid4().hex[:12]}"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO incidents (id, property_id, category, severity, description, caller_phone, status,"
            " created_at) VALUES ($1, $2, 'plumbing', 'high', $3, '+15550001111', 'scheduled', $4)",
            incident_id, property_id, f"Leak under the sink ({marker} desc)", at)
        guest = await _call(conn, property_id, incident_id, "guest", at)
        await conn.execute("UPDATE incidents SET call_id = $2 WHERE id = $1", incident_id, guest)
        vendor = await _call(conn, property_id, incident_id, "vendor", at + timedelta(minutes=10), "v-plumb-1")
        await conn.executemany(
            "INSERT INTO transcript_turns (call_id, turn, role, text, at) VALUES ($1, $2, $3, $4, $5)",
            [(guest, 0, "caller", f"The sink drips, say {marker}-guest.", at),
             (guest, 1, "agent", "I opened a ticket.", at),
             (vendor, 0, "caller", f"I can do it for 180, {marker}-vendor.", at + timedelta(minutes=10))])
        if guest_report:
            await _report(conn, property_id, guest, incident_id, f"Guest reported a leak ({marker} summary).",
                          0.05, "guest", "inbound")
        await _report(conn, property_id, vendor, incident_id, "Vendor quoted 180.", 0.07, "vendor", "outbound")
        await conn.execute(
            "INSERT INTO incident_status_history (incident_id, from_status, to_status, note, at) VALUES"
            " ($1, 'open', 'awaiting_approval', 'quote in', $2), ($1, 'awaiting_approval', 'scheduled', '', $3)",
            incident_id, at + timedelta(minutes=11), at + timedelta(minutes=30))
        await conn.execute("INSERT INTO quotes (id, incident_id, vendor_id, call_id, price, created_at)"
                           " VALUES ($1, $2, 'v-plumb-1', $3, 180, $4)",
                           f"q-{uuid.uuid4().hex[:10]}", incident_id, vendor, at + timedelta(minutes=11))
        await conn.execute("INSERT INTO approval_decisions (id, incident_id, approved, vendor_id, notes, created_at)"
                           " VALUES ($1, $2, true, 'v-plumb-1', 'go ahead', $3)",
                           f"d-{uuid.uuid4().hex[:10]}", incident_id, at + timedelta(minutes=20))
        await conn.execute(
            "INSERT INTO repair_bookings (id, incident_id, vendor_id, property_id, calendar_event_id, starts_at,"
            " ends_at, created_at) VALUES ($1, $2, 'v-plumb-1', $3, $4, $5::timestamptz,"
            " $5::timestamptz + interval '2 hours', $6)",
            f"b-{uuid.uuid4().hex[:10]}", incident_id, property_id, f"evt-{uuid.uuid4().hex}",
            at + timedelta(days=1), at + timedelta(minutes=30))
        await conn.execute(
            "INSERT INTO access_code_releases (property_id, vendor_id, caller_phone, call_id, granted, reason, at)"
            " VALUES ($1, 'v-plumb-1', '+15550201001', NULL, true, 'booked', $2)",
            property_id, at + timedelta(minutes=40))
    return Story(property_id, incident_id, guest, vendor, marker)
