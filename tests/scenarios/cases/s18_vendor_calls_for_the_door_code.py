"""A booked electrician phones the property's number on the way to the job. Ingress types the
call vendor (the carrier-verified number is the vendor's, with a booking there now), so the
vendor persona gets get_vendor_code; the code needs the booking reference too (caller ID is
spoofable): asked without it the tool refuses, with the reference the vendor was given it
releases the code. Both decisions are audited."""
from datetime import UTC, datetime, timedelta

import msgspec

from fixline_proto import subjects
from tests.tools.call_rows import insert_call

from ..parts import END, VENDOR_PHONE, caller
from ..story import GuestCall, Scenario
from ..world import agent

VENDOR = "v-elec-1"
ASKS = "Hi, Brightwire Electric here, I need the door code."


async def _tool(world, subject: str, name: str, **args) -> dict:
    reply = await world.nc.request(subject, msgspec.json.encode({"tool": name, **args}), timeout=10)
    return msgspec.json.decode(reply.data)


async def booked_within_the_hour(world, run) -> None:
    """What the story did earlier: a guest reported it, the owner approved the electrician and
    outreach booked the visit at p2 in 30 minutes; the vendor was given the booking reference."""
    guest_call = await insert_call(world.pool, property_id="p2")
    made = await _tool(world, subjects.tool("create_incident"), "create_incident", property_id="p2",
                       category="electrical", severity="medium", description="Hallway lights flicker",
                       call_id=guest_call, needs_professional=False)
    owner_call = await insert_call(world.pool, call_type="landlord", property_id="p2", incident_id=made["incident_id"])
    decided = await _tool(world, subjects.tool("record_decision"), "record_decision",
                          incident_id=made["incident_id"], approved=True, vendor_id=VENDOR, call_id=owner_call)
    assert "decision_id" in decided, decided
    start = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0).isoformat()
    booked = await _tool(world, subjects.workflow_tool("schedule_repair"), "schedule_repair",
                         incident_id=made["incident_id"], vendor_id=VENDOR, property_id="p2", start=start)
    reference = booked["booking_reference"]
    run.scenario.calls[0].caller["steps"] = [{"say": ASKS}, {"say": f"It is {reference}."}]
    world.agents[f"vendor:{VENDOR}"] = [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"},
        {"listen": ASKS},
        {"tool_call": {"name": "get_vendor_code", "args": {}}, "wait": True},  # refused: no reference
        {"say": "What is the booking reference you were given?"},
        {"listen": f"It is {reference}."},
        {"tool_call": {"name": "get_vendor_code", "args": {"booking_reference": reference}}, "wait": True},
        {"say": "I have sent it through. Goodbye."}, END)]


SCENARIO = Scenario(
    name="vendor calls in for the door code",
    story="Brightwire Electric calls Market Street Loft's number; booked there now, with its booking "
          "reference it gets the code (asked without one it is refused).",
    calls=[GuestCall(caller(ASKS), property_id="p2", from_number=VENDOR_PHONE[VENDOR])],
    agents={},  # set by `before`: the script needs the booking reference
    before=booked_within_the_hour,
    expect={"codes_released": 1, "code_refusals": ["reference_required"], "calls_open": 0, "incidents": 0},
)
