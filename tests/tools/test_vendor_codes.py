"""get_vendor_code: released only to a vendor booked now at an open incident; always audited."""

import uuid
from datetime import timedelta

import msgspec

from fixline_proto.events import VendorCodeRefused, VendorCodeReleased
from fixline_proto.tools import ToolError, VendorCode

from .conftest import in_minutes, row_counts, unique_phone

VENDOR_PHONE = "+15550201001"  # v-plumb-1, serves p1 and p2


async def _booking(tools, pool, starts_in_min: float, hours: float = 2, property_id="p1", vendor="v-plumb-1"):
    incident = await tools.call("create_incident", property_id=property_id, category="plumbing", severity="high",
                                description="Leaking pipe under the sink", caller_phone=unique_phone())
    start = in_minutes(starts_in_min)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO repair_bookings (id, incident_id, vendor_id, property_id, calendar_event_id, starts_at,"
            " ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            f"bk-{uuid.uuid4().hex}", incident.incident_id, vendor, property_id, uuid.uuid4().hex, start,
            start + timedelta(hours=hours))
    return incident.incident_id


async def _audit(pool, call_id):
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT granted, reason, vendor_id, caller_phone FROM access_code_releases"
                                " WHERE call_id = $1", call_id)
        events = await conn.fetch("SELECT subject, payload FROM outbox WHERE convert_from(payload, 'UTF8') LIKE $1",
                                  f'%"call_id":"{call_id}"%')
    return rows, events


async def _clear_bookings(pool, property_id):
    """Bookings of other tests would otherwise make the vendor eligible."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE incidents SET status = 'resolved' WHERE property_id = $1 AND id IN"
                           " (SELECT incident_id FROM repair_bookings WHERE vendor_id = 'v-plumb-1')", property_id)


async def test_booked_vendor_gets_the_code_and_the_release_is_audited(tools, pool):
    await _clear_bookings(pool, "p2")
    await _booking(tools, pool, starts_in_min=30, property_id="p2")  # within the hour before the start
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    result = await tools.call("get_vendor_code", property_id="p2", caller_phone="+1 (555) 020-1001", call_id=call_id)
    assert isinstance(result, VendorCode) and result.code == "7305"
    assert result.valid_until > in_minutes(60)
    rows, events = await _audit(pool, call_id)
    assert [(r["granted"], r["vendor_id"], r["caller_phone"]) for r in rows] == [(True, "v-plumb-1", VENDOR_PHONE)]
    assert [e["subject"] for e in events] == ["events.p2.vendor.code.released"]
    released = msgspec.json.decode(events[0]["payload"], type=VendorCodeReleased)
    assert released.vendor_id == "v-plumb-1"
    assert b"7305" not in bytes(events[0]["payload"])


async def test_unknown_caller_is_refused_and_audited(tools, pool):
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    result = await tools.call("get_vendor_code", property_id="p1", caller_phone=unique_phone(), call_id=call_id)
    assert isinstance(result, ToolError) and result.code == "forbidden"
    assert "number we have on file" in result.message and "4812" not in result.message
    rows, events = await _audit(pool, call_id)
    assert [(r["granted"], r["reason"]) for r in rows] == [(False, "unknown_caller")]
    refused = msgspec.json.decode(events[0]["payload"], type=VendorCodeRefused)
    assert refused.reason == "unknown_caller" and refused.vendor_id is None


async def test_vendor_outside_the_booking_window_is_refused(tools, pool):
    await _clear_bookings(pool, "p1")
    await _booking(tools, pool, starts_in_min=3 * 60)  # starts in 3 h: too early
    await _booking(tools, pool, starts_in_min=-5 * 60, hours=2)  # ended 3 h ago
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    result = await tools.call("get_vendor_code", property_id="p1", caller_phone=VENDOR_PHONE, call_id=call_id)
    assert isinstance(result, ToolError) and result.code == "forbidden" and "one hour before" in result.message
    rows, _ = await _audit(pool, call_id)
    assert [(r["granted"], r["reason"]) for r in rows] == [(False, "no_active_booking")]


async def test_booking_of_a_resolved_incident_gives_no_code(tools, pool):
    await _clear_bookings(pool, "p1")
    incident_id = await _booking(tools, pool, starts_in_min=-10)
    assert isinstance(await tools.call("get_vendor_code", property_id="p1", caller_phone=VENDOR_PHONE), VendorCode)
    await tools.call("update_incident_status", incident_id=incident_id, status="resolved")
    result = await tools.call("get_vendor_code", property_id="p1", caller_phone=VENDOR_PHONE)
    assert isinstance(result, ToolError) and result.code == "forbidden"


async def test_booking_at_another_property_gives_no_code(tools, pool):
    await _clear_bookings(pool, "p1")
    await _clear_bookings(pool, "p2")
    await _booking(tools, pool, starts_in_min=0, property_id="p2")
    result = await tools.call("get_vendor_code", property_id="p1", caller_phone=VENDOR_PHONE)
    assert isinstance(result, ToolError) and result.code == "forbidden"


async def test_unknown_property_changes_nothing(tools, pool):
    before = await row_counts(pool)
    result = await tools.call("get_vendor_code", property_id="p-nowhere", caller_phone=VENDOR_PHONE)
    assert isinstance(result, ToolError) and result.code == "not_found"
    assert await row_counts(pool) == before
