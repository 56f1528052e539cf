"""A booked electrician phones the property's number on the way to the job: the call is typed
guest (inbound), the agent asks get_vendor_code, and the code is released because the caller's
carrier-verified number belongs to a vendor with a booking there now (never on the model's word)."""
from datetime import UTC, datetime, timedelta

import msgspec

from fixline_proto import subjects

from ..parts import END, VENDOR_PHONE, caller
from ..story import GuestCall, Scenario
from ..world import agent


async def _tool(world, name: str, **args) -> dict:
    reply = await world.nc.request(subjects.tool(name), msgspec.json.encode({"tool": name, **args}), timeout=10)
    return msgspec.json.decode(reply.data)


async def booked_within_the_hour(world, run) -> None:
    """What outreach would have done earlier: the electrician is booked at p2 in 30 minutes."""
    made = await _tool(world, "create_incident", property_id="p2", category="electrical", severity="medium",
                       description="Hallway lights flicker", caller_phone="+15550188001", needs_professional=False)
    start = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0).isoformat()
    booked = await _tool(world, "schedule_repair", incident_id=made["incident_id"], vendor_id="v-elec-1",
                         property_id="p2", start=start)
    assert "booking_id" in booked, booked


SCENARIO = Scenario(
    name="vendor calls in for the door code",
    story="Brightwire Electric calls Market Street Loft's number; booked there now, it gets the code.",
    calls=[GuestCall(caller("Hi, Brightwire Electric here, I need the door code."), property_id="p2",
                     from_number=VENDOR_PHONE["v-elec-1"])],
    agents={"guest": [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"},
        {"listen": "Hi, Brightwire Electric here, I need the door code."},
        {"tool_call": {"name": "get_vendor_code", "args": {}}, "wait": True},
        {"say": "I have sent it through. Goodbye."}, END)]},
    before=booked_within_the_hour,
    expect={"codes_released": 1, "calls_open": 0, "incidents": 0},
)
