"""record_quote (one per incident+vendor, re-recording updates) and record_decision."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fixline_proto.tools import DecisionRecorded, QuoteRecorded, ToolError
from services.common.work_hours import WorkHours, next_slot, zone

from .conftest import row_counts, unique_phone

P1_TZ = "America/Los_Angeles"


def working_slot(after_hours: float) -> datetime:
    """A start inside the seeded vendors' working hours (08:00-18:00 local), ``after_hours`` from now."""
    return next_slot(WorkHours(), datetime.now(UTC) + timedelta(hours=after_hours), P1_TZ, timedelta(hours=1))


async def _incident(tools):
    created = await tools.call("create_incident", property_id="p1", category="plumbing", severity="high",
                               description="Water heater leaking", caller_phone=unique_phone())
    return created.incident_id


async def test_quote_is_recorded_and_re_recording_updates_it(tools, pool):
    incident_id = await _incident(tools)
    first = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=420.0,
                             earliest_start=working_slot(24).isoformat(), notes="replace valve", call_id="c-q1")
    assert isinstance(first, QuoteRecorded)
    again = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=380.5,
                             notes="found a cheaper part")
    assert isinstance(again, QuoteRecorded) and again.quote_id == first.quote_id
    other = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-2", price=455)
    assert other.quote_id != first.quote_id
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT vendor_id, price, notes, call_id FROM quotes WHERE incident_id = $1"
                                " ORDER BY vendor_id", incident_id)
        events = await conn.fetchval("SELECT count(*) FROM outbox WHERE subject = 'events.p1.quote.received'"
                                     " AND convert_from(payload, 'UTF8') LIKE $1", f"%{incident_id}%")
    assert [(r["vendor_id"], r["price"], r["notes"], r["call_id"]) for r in rows] == [
        ("v-plumb-1", Decimal("380.50"), "found a cheaper part", "c-q1"), ("v-plumb-2", Decimal("455.00"), "", None)]
    assert events == 3


async def test_quote_for_unknown_incident_or_vendor_changes_nothing(tools, pool):
    incident_id = await _incident(tools)
    before = await row_counts(pool)
    for args, what in (({"incident_id": "inc-missing", "vendor_id": "v-plumb-1"}, "incident"),
                       ({"incident_id": incident_id, "vendor_id": "v-ghost"}, "vendor")):
        result = await tools.call("record_quote", price=100, **args)
        assert isinstance(result, ToolError) and result.code == "not_found" and what in result.message
    assert await row_counts(pool) == before


async def test_decision_is_recorded_once_per_call(tools, pool):
    incident_id = await _incident(tools)
    first = await tools.call("record_decision", incident_id=incident_id, approved=True, vendor_id="v-plumb-1",
                             notes="go with Tideline", call_id="c-landlord-1")
    assert isinstance(first, DecisionRecorded)
    before = await row_counts(pool)
    retry = await tools.call("record_decision", incident_id=incident_id, approved=True, vendor_id="v-plumb-1",
                             notes="go with Tideline", call_id="c-landlord-1")
    assert retry.decision_id == first.decision_id
    assert await row_counts(pool) == before
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE subject = 'events.p1.decision.made'"
                                   " AND convert_from(payload, 'UTF8') LIKE $1", f"%{incident_id}%") == 1


async def test_approval_without_a_vendor_is_refused(tools, pool):
    incident_id = await _incident(tools)
    before = await row_counts(pool)
    result = await tools.call("record_decision", incident_id=incident_id, approved=True)
    assert isinstance(result, ToolError) and result.code == "invalid_argument"
    declined = await tools.call("record_decision", incident_id=incident_id, approved=False, notes="too expensive")
    assert isinstance(declined, DecisionRecorded)
    assert (await row_counts(pool))["approval_decisions"] == before["approval_decisions"] + 1


def _local(days: int, at: str) -> str:
    local = datetime.now(UTC).astimezone(zone(P1_TZ)) + timedelta(days=days)
    return f"{local.date().isoformat()}T{at}"  # no offset: read in the property's time zone


@pytest.mark.parametrize(("earliest_start", "why"), [
    (lambda: (datetime.now(UTC) - timedelta(days=4)).isoformat(), "in the past"),
    (lambda: _local(1, "22:00:00"), "outside Tideline Plumbing's working hours, 08:00-18:00 every day"),
    (lambda: _local(2, "06:30:00"), "outside Tideline Plumbing's working hours"),
])
async def test_a_quote_nobody_could_book_is_refused_and_nothing_changes(tools, pool, earliest_start, why):
    incident_id = await _incident(tools)
    before = await row_counts(pool)
    result = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=200.0,
                              earliest_start=earliest_start(), call_id="c-bad-slot")
    assert isinstance(result, ToolError) and result.code == "invalid_argument" and why in result.message
    assert await row_counts(pool) == before


async def test_a_quote_in_working_hours_without_offset_is_read_in_the_property_time_zone(tools, pool):
    incident_id = await _incident(tools)
    result = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=200.0,
                              earliest_start=_local(2, "10:00:00"))
    assert isinstance(result, QuoteRecorded)
    stored = await pool.fetchval("SELECT earliest_start FROM quotes WHERE id = $1", result.quote_id)
    assert stored.astimezone(zone(P1_TZ)).hour == 10
