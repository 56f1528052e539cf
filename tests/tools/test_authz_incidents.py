"""Incident tools are scoped to the call: an incident of another property does not exist
for it (``not_found``, word for word as for an id that exists nowhere); another incident of
the same property is not the call's to change; and a guest call can only move its own
incident along the guest transitions (never cancel, approve or schedule)."""

import pytest

from fixline_proto.tools import IncidentStatusChanged, ToolError

from .call_rows import insert_call
from .conftest import row_counts


async def _status(pool, incident_id: str) -> str:
    return await pool.fetchval("SELECT status FROM incidents WHERE id = $1", incident_id)


async def _refused(tools, pool, code: str, **args) -> ToolError:
    before = await row_counts(pool)
    result = await tools.call("update_incident_status", **args)
    assert isinstance(result, ToolError) and result.code == code, result
    assert await row_counts(pool) == before
    return result


async def test_an_incident_of_another_property_is_not_found(tools, pool):
    elsewhere, _ = await tools.open_incident(property_id="p2")
    call_id = await insert_call(pool, property_id="p1")
    hidden = await _refused(tools, pool, "not_found", incident_id=elsewhere, status="resolved", call_id=call_id)
    missing = await _refused(tools, pool, "not_found", incident_id="inc-nowhere", status="resolved", call_id=call_id)
    assert hidden.message == missing.message.replace("inc-nowhere", elsewhere)
    assert await _status(pool, elsewhere) == "open"


async def test_another_guests_incident_at_the_same_property_is_not_this_calls(tools, pool):
    theirs, _ = await tools.open_incident(property_id="p1")
    mine = await insert_call(pool, property_id="p1")
    refused = await _refused(tools, pool, "forbidden", incident_id=theirs, status="resolved", call_id=mine)
    assert "not opened on this call" in refused.message
    assert await _status(pool, theirs) == "open"


async def test_a_guest_calling_back_from_the_same_number_carries_on_with_their_incident(tools, pool):
    """Their first call dropped before asking for quotes; create_incident on the new call finds
    the same incident (same number), and the new call may move it along the guest transitions."""
    incident_id, _ = await tools.open_incident(phone="+15550123777")
    again = await insert_call(pool, property_id="p1", phone="+15550123777")
    moved = await tools.call("update_incident_status", incident_id=incident_id, status="awaiting_quotes",
                             call_id=again)
    assert isinstance(moved, IncidentStatusChanged) and moved.status == "awaiting_quotes"
    await _refused(tools, pool, "forbidden", incident_id=incident_id, status="cancelled", call_id=again)


async def test_a_call_about_one_incident_cannot_touch_another(tools, pool):
    """The guest call-back (outreach) names its incident in the call row."""
    called_about, _ = await tools.open_incident(property_id="p1")
    other, _ = await tools.open_incident(property_id="p1")
    call_id = await insert_call(pool, property_id="p1", incident_id=called_about, direction="outbound")
    refused = await _refused(tools, pool, "forbidden", incident_id=other, status="resolved", call_id=call_id)
    assert f"about incident {called_about}" in refused.message


@pytest.mark.parametrize(("path", "target"), [
    ([], "cancelled"), ([], "scheduled"), (["awaiting_quotes"], "awaiting_approval"),
    (["awaiting_quotes"], "cancelled"), (["awaiting_quotes", "awaiting_approval", "scheduled"], "cancelled"),
    (["awaiting_quotes", "awaiting_approval", "scheduled"], "resolved"),
])
async def test_a_guest_call_cannot_cancel_approve_or_schedule(tools, pool, path, target):
    incident_id, call_id = await tools.open_incident()
    for status in path:  # where the workflow has taken it meanwhile
        assert isinstance(await tools.workflow("update_incident_status", incident_id=incident_id, status=status),
                          IncidentStatusChanged)
    current = await _status(pool, incident_id)
    refused = await _refused(tools, pool, "forbidden", incident_id=incident_id, status=target, call_id=call_id)
    assert "guest call" in refused.message
    assert await _status(pool, incident_id) == current


@pytest.mark.parametrize("path", [["troubleshooting", "awaiting_quotes"], ["troubleshooting", "resolved"],
                                  ["resolved"]])
async def test_a_guest_call_moves_its_own_incident_along_the_guest_transitions(tools, pool, path):
    incident_id, call_id = await tools.open_incident()
    for status in path:
        moved = await tools.call("update_incident_status", incident_id=incident_id, status=status, call_id=call_id)
        assert isinstance(moved, IncidentStatusChanged) and moved.status == status, moved
    assert await _status(pool, incident_id) == path[-1]


async def test_quotes_and_decisions_for_an_incident_of_another_property_are_not_found(tools, pool):
    elsewhere, _ = await tools.open_incident(property_id="p2")
    vendor_call = await insert_call(pool, call_type="vendor", property_id="p1", vendor_id="v-plumb-1")
    landlord_call = await insert_call(pool, call_type="landlord", property_id="p1")
    before = await row_counts(pool)
    quote = await tools.call("record_quote", incident_id=elsewhere, vendor_id="v-plumb-1", price=1,
                             call_id=vendor_call)
    decision = await tools.call("record_decision", incident_id=elsewhere, approved=True, vendor_id="v-plumb-1",
                                call_id=landlord_call)
    for result in (quote, decision):
        assert isinstance(result, ToolError) and result.code == "not_found", result
    assert await row_counts(pool) == before
