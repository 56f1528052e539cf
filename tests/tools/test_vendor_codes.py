"""get_vendor_code: released only on a vendor call, for that vendor's booking at the call's
property inside its window, with the booking reference; every answer audited; wrong
references limited per call."""

import uuid
from datetime import timedelta

import msgspec

from fixline_proto.events import VendorCodeRefused, VendorCodeReleased
from fixline_proto.tools import ToolError, VendorCode
from services.tools import references
from services.tools.vendor_codes import MAX_WRONG_REFERENCES

from .call_rows import end_call, insert_call
from .conftest import in_minutes, row_counts

VENDOR_PHONE = "+15550201001"  # v-plumb-1, serves p1 and p2


async def _booking(tools, pool, starts_in_min: float, hours: float = 2, property_id="p1", vendor="v-plumb-1"):
    """A booking as schedule_repair writes it (without the calendar): (incident id, reference)."""
    incident_id, _ = await tools.open_incident(property_id=property_id, description="Leaking pipe under the sink")
    start, reference = in_minutes(starts_in_min), references.new_reference()
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO repair_bookings (id, incident_id, vendor_id, property_id, calendar_event_id, starts_at,"
            " ends_at, reference) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            f"bk-{uuid.uuid4().hex}", incident_id, vendor, property_id, uuid.uuid4().hex, start,
            start + timedelta(hours=hours), reference)
    return incident_id, reference


async def _vendor_call(pool, property_id="p1", vendor="v-plumb-1", **extra):
    return await insert_call(pool, call_type="vendor", property_id=property_id, vendor_id=vendor, **extra)


async def _ask(tools, call_id, property_id="p1", reference=""):
    return await tools.call("get_vendor_code", property_id=property_id, call_id=call_id, booking_reference=reference)


async def _audit(pool, call_id):
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT granted, reason, vendor_id, caller_phone FROM access_code_releases"
                                " WHERE call_id = $1 ORDER BY id", call_id)
        events = await conn.fetch("SELECT subject, payload FROM outbox WHERE convert_from(payload, 'UTF8') LIKE $1"
                                  " ORDER BY id", f'%"call_id":"{call_id}"%')
    return rows, events


async def _clear_bookings(pool, property_id, vendor="v-plumb-1"):
    """Bookings of other tests would otherwise be current for the vendor."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE incidents SET status = 'resolved' WHERE property_id = $1 AND id IN"
                           " (SELECT incident_id FROM repair_bookings WHERE vendor_id = $2)", property_id, vendor)


async def test_booked_vendor_with_the_reference_gets_the_code_and_the_release_is_audited(tools, pool):
    await _clear_bookings(pool, "p2")
    _, reference = await _booking(tools, pool, starts_in_min=30, property_id="p2")  # within the hour before
    call_id = await _vendor_call(pool, property_id="p2")
    result = await _ask(tools, call_id, "p2", references.spoken(reference).replace("-", " "))  # as said aloud
    assert isinstance(result, VendorCode) and result.code == "7305"
    assert result.valid_until > in_minutes(60)
    rows, events = await _audit(pool, call_id)
    assert [(r["granted"], r["vendor_id"], r["caller_phone"]) for r in rows] == [(True, "v-plumb-1", VENDOR_PHONE)]
    assert [e["subject"] for e in events] == ["events.p2.vendor.code.released"]
    released = msgspec.json.decode(events[0]["payload"], type=VendorCodeReleased)
    assert released.vendor_id == "v-plumb-1"
    assert b"7305" not in bytes(events[0]["payload"])


async def test_no_reference_is_a_request_for_it(tools, pool):
    await _clear_bookings(pool, "p1")
    await _booking(tools, pool, starts_in_min=10)
    call_id = await _vendor_call(pool)
    result = await _ask(tools, call_id)
    assert isinstance(result, ToolError) and result.code == "forbidden" and "booking reference" in result.message
    rows, _ = await _audit(pool, call_id)
    assert [(r["granted"], r["reason"]) for r in rows] == [(False, "reference_required")]


async def test_wrong_references_are_refused_audited_and_limited_per_call(tools, pool):
    await _clear_bookings(pool, "p1")
    _, reference = await _booking(tools, pool, starts_in_min=10)
    call_id = await _vendor_call(pool)
    wrong = f"{(int(reference) + 1) % 10 ** 8:08d}"
    for _ in range(MAX_WRONG_REFERENCES):
        refused = await _ask(tools, call_id, reference=wrong)
        assert isinstance(refused, ToolError) and refused.code == "forbidden" and "does not match" in refused.message
        assert "4812" not in refused.message
    locked = await _ask(tools, call_id, reference=reference)  # the right one, too late on this call
    assert isinstance(locked, ToolError) and locked.code == "forbidden" and "4812" not in locked.message
    rows, events = await _audit(pool, call_id)
    assert [(r["granted"], r["reason"]) for r in rows] == (
        [(False, "wrong_reference")] * MAX_WRONG_REFERENCES + [(False, "too_many_attempts")])
    assert {e["subject"] for e in events} == {"events.p1.vendor.code.refused"}
    reasons = [msgspec.json.decode(e["payload"], type=VendorCodeRefused).reason for e in events]
    assert reasons[-1] == "too_many_attempts"
    granted = await _ask(tools, await _vendor_call(pool), reference=reference)  # a new call is not locked
    assert isinstance(granted, VendorCode) and granted.code == "4812"


async def test_vendor_outside_the_booking_window_is_refused(tools, pool):
    await _clear_bookings(pool, "p1")
    _, early = await _booking(tools, pool, starts_in_min=3 * 60)  # starts in 3 h: too early
    _, late = await _booking(tools, pool, starts_in_min=-5 * 60, hours=2)  # ended 3 h ago
    call_id = await _vendor_call(pool)
    for reference in (early, late):
        result = await _ask(tools, call_id, reference=reference)
        assert isinstance(result, ToolError) and result.code == "forbidden" and "one hour before" in result.message
    rows, _ = await _audit(pool, call_id)
    assert [(r["granted"], r["reason"]) for r in rows] == [(False, "no_active_booking")] * 2


async def test_booking_of_a_resolved_incident_gives_no_code(tools, pool):
    await _clear_bookings(pool, "p1")
    incident_id, reference = await _booking(tools, pool, starts_in_min=-10)
    assert isinstance(await _ask(tools, await _vendor_call(pool), reference=reference), VendorCode)
    await tools.workflow("update_incident_status", incident_id=incident_id, status="resolved")
    result = await _ask(tools, await _vendor_call(pool), reference=reference)
    assert isinstance(result, ToolError) and result.code == "forbidden"


async def test_a_booking_at_another_property_or_of_another_vendor_gives_no_code(tools, pool):
    for property_id in ("p1", "p2"):
        await _clear_bookings(pool, property_id)
    _, reference = await _booking(tools, pool, starts_in_min=0, property_id="p2")
    before = (await row_counts(pool))["outbox"]
    at_p1 = await _ask(tools, await _vendor_call(pool, property_id="p1"), "p1", reference)
    other_vendor = await _ask(tools, await _vendor_call(pool, property_id="p2", vendor="v-plumb-2"), "p2", reference)
    for result in (at_p1, other_vendor):
        assert isinstance(result, ToolError) and result.code == "forbidden" and "one hour before" in result.message
    assert (await row_counts(pool))["outbox"] == before + 2  # two refusals, no release


async def test_ended_vendor_call_gets_nothing(tools, pool):
    await _clear_bookings(pool, "p1")
    _, reference = await _booking(tools, pool, starts_in_min=0)
    call_id = await _vendor_call(pool)
    await end_call(pool, call_id, s_ago=60)
    before = await row_counts(pool)
    result = await _ask(tools, call_id, reference=reference)
    assert isinstance(result, ToolError) and result.code == "forbidden" and "ended" in result.message
    assert await row_counts(pool) == before


async def test_a_vendor_call_that_names_no_vendor_gets_nothing(tools, pool):
    await _clear_bookings(pool, "p1")
    _, reference = await _booking(tools, pool, starts_in_min=0)
    call_id = await insert_call(pool, call_type="vendor", property_id="p1", phone=VENDOR_PHONE)  # no vendor_id
    result = await _ask(tools, call_id, reference=reference)
    assert isinstance(result, ToolError) and result.code == "forbidden" and "4812" not in result.message
    rows, _ = await _audit(pool, call_id)
    assert [(r["granted"], r["reason"]) for r in rows] == [(False, "not_a_vendor_call")]
