"""record_quote (on the vendor call; one per incident+vendor, re-recording updates) and
record_decision (on the landlord call; once per call). Refusals: test_authz_records.py."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fixline_proto.tools import DecisionRecorded, QuoteRecorded, ToolError
from services.common.work_hours import WorkHours, next_slot, zone

from .call_rows import insert_call
from .conftest import row_counts

P1_TZ = "America/Los_Angeles"


def working_slot(after_hours: float) -> datetime:
    """A start inside the seeded vendors' working hours (08:00-18:00 local), ``after_hours`` from now."""
    return next_slot(WorkHours(), datetime.now(UTC) + timedelta(hours=after_hours), P1_TZ, timedelta(hours=1))


async def _vendor_call(tools, incident_id, vendor_id):
    return await insert_call(tools.pool, call_type="vendor", incident_id=incident_id, vendor_id=vendor_id)


async def test_quote_is_recorded_and_re_recording_updates_it(tools, pool):
    incident_id, _ = await tools.open_incident(description="Water heater leaking")
    call_1, call_2 = await _vendor_call(tools, incident_id, "v-plumb-1"), await _vendor_call(tools, incident_id,
                                                                                              "v-plumb-2")
    first = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=420.0,
                             earliest_start=working_slot(24).isoformat(), notes="replace valve", call_id=call_1)
    assert isinstance(first, QuoteRecorded)
    again = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=380.5,
                             notes="found a cheaper part", call_id=call_1)
    assert isinstance(again, QuoteRecorded) and again.quote_id == first.quote_id
    other = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-2", price=455, call_id=call_2)
    assert other.quote_id != first.quote_id
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT vendor_id, price, notes, call_id FROM quotes WHERE incident_id = $1"
                                " ORDER BY vendor_id", incident_id)
        events = await conn.fetchval("SELECT count(*) FROM outbox WHERE subject = 'events.p1.quote.received'"
                                     " AND convert_from(payload, 'UTF8') LIKE $1", f"%{incident_id}%")
    assert [(r["vendor_id"], r["price"], r["notes"], r["call_id"]) for r in rows] == [
        ("v-plumb-1", Decimal("380.50"), "found a cheaper part", call_1), ("v-plumb-2", Decimal("455.00"), "", call_2)]
    assert events == 3


async def test_quote_for_an_unknown_incident_changes_nothing(tools, pool):
    incident_id, _ = await tools.open_incident(description="Water heater leaking")
    call_id = await _vendor_call(tools, incident_id, "v-plumb-1")
    before = await row_counts(pool)
    result = await tools.call("record_quote", incident_id="inc-missing", vendor_id="v-plumb-1", price=100,
                              call_id=call_id)
    assert isinstance(result, ToolError) and result.code == "not_found" and "incident" in result.message
    assert await row_counts(pool) == before


async def test_decision_is_recorded_once_per_call(tools, pool):
    incident_id, _ = await tools.open_incident(description="Water heater leaking")
    call_id = await insert_call(pool, call_type="landlord", incident_id=incident_id, vendor_id="v-plumb-1")
    args = dict(incident_id=incident_id, approved=True, vendor_id="v-plumb-1", notes="go with Tideline",
                call_id=call_id)
    first = await tools.call("record_decision", **args)
    assert isinstance(first, DecisionRecorded)
    before = await row_counts(pool)
    retry = await tools.call("record_decision", **args)
    assert retry.decision_id == first.decision_id
    assert await row_counts(pool) == before
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE subject = 'events.p1.decision.made'"
                                   " AND convert_from(payload, 'UTF8') LIKE $1", f"%{incident_id}%") == 1


async def test_approval_without_a_vendor_is_refused(tools, pool):
    incident_id, _ = await tools.open_incident(description="Water heater leaking")
    call_id = await insert_call(pool, call_type="landlord", incident_id=incident_id)
    before = await row_counts(pool)
    result = await tools.call("record_decision", incident_id=incident_id, approved=True, call_id=call_id)
    assert isinstance(result, ToolError) and result.code == "invalid_argument"
    declined = await tools.call("record_decision", incident_id=incident_id, approved=False, notes="too expensive",
                                call_id=call_id)
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
    incident_id, _ = await tools.open_incident(description="Water heater leaking")
    call_id = await _vendor_call(tools, incident_id, "v-plumb-1")
    before = await row_counts(pool)
    result = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=200.0,
                              earliest_start=earliest_start(), call_id=call_id)
    assert isinstance(result, ToolError) and result.code == "invalid_argument" and why in result.message
    assert await row_counts(pool) == before


async def test_a_quote_in_working_hours_without_offset_is_read_in_the_property_time_zone(tools, pool):
    incident_id, _ = await tools.open_incident(description="Water heater leaking")
    call_id = await _vendor_call(tools, incident_id, "v-plumb-1")
    result = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=200.0,
                              earliest_start=_local(2, "10:00:00"), call_id=call_id)
    assert isinstance(result, QuoteRecorded)
    stored = await pool.fetchval("SELECT earliest_start FROM quotes WHERE id = $1", result.quote_id)
    assert stored.astimezone(zone(P1_TZ)).hour == 10
