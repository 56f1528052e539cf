"""Hostile requests on the call-tool subjects (``tools.<name>``), as anyone on the bus could
send them: no call, a made-up call, an ended call, a call of the wrong type, claims that
disagree with the call row. Each is refused and changes nothing."""

import pytest

from fixline_proto.tools import CALL_TYPES_OF_TOOL, IncidentRef, QuoteRecorded, ToolError

from .call_rows import end_call, insert_call
from .conftest import in_minutes, row_counts

CALL_TYPES = ("guest", "vendor", "landlord")


def _valid_args(incident_id: str) -> dict[str, dict]:
    """Arguments each tool would accept on the right call (p1, plumbing, v-plumb-1)."""
    return {
        "search_maintenance": {"property_id": "p1", "query": "no hot water"},
        "get_vendor_code": {"property_id": "p1", "booking_reference": "1234-5678"},
        "create_incident": {"property_id": "p1", "category": "plumbing", "severity": "high",
                            "description": "The kitchen tap is leaking"},
        "update_incident_status": {"incident_id": incident_id, "status": "cancelled"},
        "schedule_repair": {"incident_id": incident_id, "vendor_id": "v-plumb-1", "property_id": "p1",
                            "start": in_minutes(24 * 60).isoformat()},
        "record_quote": {"incident_id": incident_id, "vendor_id": "v-plumb-1", "price": 10},
        "record_decision": {"incident_id": incident_id, "approved": True, "vendor_id": "v-plumb-1"},
    }


async def _refused(tools, pool, tool: str, args: dict, mentions: str) -> None:
    before = await row_counts(pool)
    result = await tools.call(tool, **args)
    assert isinstance(result, ToolError) and result.code == "forbidden", result
    assert mentions in result.message, result.message
    assert await row_counts(pool) == before


@pytest.mark.parametrize("tool", sorted(CALL_TYPES_OF_TOOL))
async def test_a_request_without_a_call_is_refused(tools, pool, tool):
    incident_id, _ = await tools.open_incident()
    await _refused(tools, pool, tool, _valid_args(incident_id)[tool], "only be used on a call")


@pytest.mark.parametrize("tool", sorted(CALL_TYPES_OF_TOOL))
async def test_a_made_up_call_is_refused(tools, pool, tool):
    incident_id, _ = await tools.open_incident()
    args = {**_valid_args(incident_id)[tool], "call_id": "call-made-up-by-an-attacker"}
    await _refused(tools, pool, tool, args, "not a call we know")


@pytest.mark.parametrize("tool", sorted(CALL_TYPES_OF_TOOL))
async def test_an_ended_call_acts_for_nobody(tools, pool, tool):
    incident_id, _ = await tools.open_incident()
    allowed = sorted(CALL_TYPES_OF_TOOL[tool])[0]
    call_id = await insert_call(pool, call_type=allowed, incident_id=incident_id, vendor_id="v-plumb-1")
    await end_call(pool, call_id, s_ago=60)
    await _refused(tools, pool, tool, {**_valid_args(incident_id)[tool], "call_id": call_id}, "has ended")


async def test_a_tool_call_in_flight_as_the_call_ends_still_lands(tools, pool):
    """The grace after the hang-up (calls.ENDED_GRACE_S): a quote the model records as the
    vendor hangs up is not lost."""
    incident_id, _ = await tools.open_incident()
    call_id = await insert_call(pool, call_type="vendor", incident_id=incident_id, vendor_id="v-plumb-1")
    await end_call(pool, call_id, s_ago=1)
    result = await tools.call("record_quote", incident_id=incident_id, vendor_id="v-plumb-1", price=99,
                              call_id=call_id)
    assert isinstance(result, QuoteRecorded)


WRONG_TYPE = [(tool, call_type) for tool in sorted(CALL_TYPES_OF_TOOL) for call_type in CALL_TYPES
              if call_type not in CALL_TYPES_OF_TOOL[tool]]


@pytest.mark.parametrize(("tool", "call_type"), WRONG_TYPE, ids=[f"{t}-on-{c}" for t, c in WRONG_TYPE])
async def test_a_tool_on_the_wrong_kind_of_call_is_refused(tools, pool, tool, call_type):
    incident_id, _ = await tools.open_incident()
    call_id = await insert_call(pool, call_type=call_type, incident_id=incident_id, vendor_id="v-plumb-1")
    args = {**_valid_args(incident_id)[tool], "call_id": call_id}
    await _refused(tools, pool, tool, args, f"not available on a {call_type} call")


async def test_a_property_other_than_the_calls_is_refused(tools, pool):
    call_id = await insert_call(pool, property_id="p1")
    args = {**_valid_args("-")["create_incident"], "property_id": "p2", "call_id": call_id}
    await _refused(tools, pool, "create_incident", args, "about property p1, not p2")


async def test_a_caller_phone_other_than_the_calls_is_refused(tools, pool):
    call_id = await insert_call(pool, phone="+15550123000")
    args = {**_valid_args("-")["create_incident"], "caller_phone": "+15550201001", "call_id": call_id}
    await _refused(tools, pool, "create_incident", args, "not the number on this call")


async def test_the_number_and_property_recorded_are_the_call_rows(tools, pool):
    call_id = await insert_call(pool, property_id="p2", phone="+15550123001")
    created = await tools.call("create_incident", property_id="p2", category="locks", severity="low",
                               description="The fob reader blinks red", caller_phone="+1 (555) 012-3001",
                               call_id=call_id)
    assert isinstance(created, IncidentRef)
    row = await pool.fetchrow("SELECT property_id, caller_phone, call_id FROM incidents WHERE id = $1",
                              created.incident_id)
    assert tuple(row) == ("p2", "+15550123001", call_id)
