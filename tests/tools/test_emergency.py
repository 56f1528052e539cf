"""Emergencies in the tools service: create_incident of an emergency returns the safety
instructions (the system decides, whatever the model said); an emergency vendor's quote for
"now" is not held to working hours. The hazard table itself: test_safety.py."""

from datetime import UTC, datetime, timedelta

from fixline_proto.tools import IncidentRef, QuoteRecorded, ToolError

from .call_rows import insert_call
from .conftest import row_counts, unique_phone


async def _report(tools, category: str, description: str, urgency: str | None, phone: str | None = None):
    call_id = await insert_call(tools.pool, property_id="p1", phone=phone or unique_phone())
    args = {"urgency": urgency, "needs_professional": True} if urgency else {}
    return await tools.call("create_incident", property_id="p1", category=category, severity="emergency",
                            description=description, call_id=call_id, **args)


async def test_an_emergency_incident_returns_the_safety_instructions(tools):
    gas = await _report(tools, "hvac", "Strong smell of gas in the kitchen at night", "emergency")
    assert isinstance(gas, IncidentRef) and gas.status == "awaiting_quotes"
    assert gas.safety_instructions and gas.safety_instructions.startswith("Gas: leave the property now")
    assert "call the gas company's emergency line" in gas.safety_instructions
    flood = await _report(tools, "plumbing", "Pipe burst, water everywhere in the hall", "emergency")
    assert "main water valve" in (flood.safety_instructions or "")


async def test_no_safety_instructions_unless_it_is_an_emergency(tools):
    for urgency in ("today", None):
        ref = await _report(tools, "hvac", "Strong smell of gas in the kitchen", urgency)
        assert isinstance(ref, IncidentRef) and ref.safety_instructions is None


async def test_a_repeat_report_of_an_emergency_gets_them_again(tools):
    phone = unique_phone()
    first = await _report(tools, "electrical", "Smoke coming out of the fuse box", "emergency", phone)
    again = await _report(tools, "electrical", "Smoke coming out of the fuse box", "emergency", phone)
    assert again.duplicate and again.incident_id == first.incident_id
    assert again.safety_instructions == first.safety_instructions and "call 911" in again.safety_instructions


async def _vendor_quote(tools, incident_id: str, vendor_id: str, start: datetime):
    call_id = await insert_call(tools.pool, call_type="vendor", incident_id=incident_id, vendor_id=vendor_id)
    return await tools.call("record_quote", incident_id=incident_id, vendor_id=vendor_id, price=450.0,
                            earliest_start=start.isoformat(), call_id=call_id)


def _tonight_at_23() -> datetime:
    """23:00 local at p1 (outside every seeded vendor's 08:00-18:00), in the future."""
    from services.common.work_hours import zone
    local = datetime.now(UTC).astimezone(zone("America/Los_Angeles")) + timedelta(days=1)
    return local.replace(hour=23, minute=0, second=0, microsecond=0)


async def test_an_emergency_quote_outside_working_hours_is_recorded(tools):
    ref = await _report(tools, "plumbing", "Burst pipe, flooding the basement", "emergency")
    result = await _vendor_quote(tools, ref.incident_id, "v-plumb-2", _tonight_at_23())
    assert isinstance(result, QuoteRecorded)
    now_ish = await _vendor_quote(tools, ref.incident_id, "v-plumb-2", datetime.now(UTC) - timedelta(minutes=1))
    assert isinstance(now_ish, QuoteRecorded)  # "we are on our way": a moment ago counts as now


async def test_the_same_quote_on_a_non_emergency_is_still_refused(tools, pool):
    ref = await _report(tools, "plumbing", "Burst pipe, flooding the basement", "today")
    before = await row_counts(pool)
    result = await _vendor_quote(tools, ref.incident_id, "v-plumb-2", _tonight_at_23())
    assert isinstance(result, ToolError) and "working hours" in result.message
    stale = await _vendor_quote(tools, ref.incident_id, "v-plumb-2", datetime.now(UTC) - timedelta(minutes=1))
    assert isinstance(stale, ToolError) and "in the past" in stale.message
    assert await row_counts(pool) == before
