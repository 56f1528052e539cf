"""A smell of gas at night: the guest is told the safety steps (and the tools' result carries
them, whatever the model said), the incident is an emergency, and although it is the
property's quiet hours the emergency heating vendor and the owner are phoned at once; the
manager's alert is on the dashboard until someone handles it; the call-out is booked for now."""
from fixline_proto import subjects
from services.notifier.state import DashboardState
from tests.support.events import stream_events

from ..parts import LANDLORD_PHONE, VENDOR_PHONE, caller, guest_callback, guest_reports_emergency, \
    landlord_decides, no_quiet_hours, quiet_hours_around_now, vendor_comes_now
from ..story import GuestCall, Scenario

GAS = "There is a strong smell of gas in the kitchen."


async def _quiet_now(world, run) -> None:
    run.notes["quiet_until"] = await quiet_hours_around_now(world, "p2", ends_in_s=3600)


async def _facts(world, run) -> dict:
    ids = [r["id"] for r in await world.pool.fetch("SELECT id FROM incidents WHERE caller_phone = ANY($1)",
                                                   run.guests)]
    told = any("Gas: leave the property now" in str(r.get("response")) and any(i in str(r) for i in ids)
               for s in world.gemini.sessions for r in s.tool_responses)
    first_dial = await world.pool.fetchval("SELECT min(created_at) FROM calls WHERE direction = 'outbound'"
                                           " AND incident_id = ANY($1)", ids)
    state = DashboardState()
    for seq, event in enumerate(await stream_events(world.nc, subjects.EVENTS_ALL, idle_s=0.5), 1):
        if getattr(event, "incident_id", None) in ids:
            state.apply(event, seq)
    alerts = [a for i in ids if i in state.incidents for a in state.incidents[i].alerts]
    return {"safety_in_tool_result": told, "alerts_open": sum(not a.handled for a in alerts),
            "dialled_in_quiet_hours": first_dial is not None and first_dial < run.notes["quiet_until"]}


async def _restore(world, run) -> None:
    await no_quiet_hours(world, "p2")


SCENARIO = Scenario(
    name="emergency: gas at night",
    story="Gas smell in quiet hours: safety first, emergency vendor + owner phoned at once, alert stays, booked now.",
    calls=[GuestCall(caller(GAS, "Okay, I am outside."), property_id="p2")],
    agents={"guest": [guest_reports_emergency("hvac", GAS)],
            "vendor:v-hvac-2": [vendor_comes_now(450.0)],
            "landlord": [landlord_decides(True, "send them now")], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-hvac-2"]: caller("Yes, we can come now."), LANDLORD_PHONE["p2"]: caller("Yes.")},
    before=_quiet_now, extra=_facts, after=_restore,
    expect={"status": "scheduled", "urgency": "emergency", "vendors": ["v-hvac-2"],
            "dialled": {"vendor": 1, "landlord": 1, "guest": 1}, "quotes": 1, "bookings": 1, "calls_open": 0,
            "stages": ["started", "emergency", "calling_landlord", "calling_vendor", "quote_received", "approved",
                       "scheduled", "calling_guest", "done"],
            "safety_in_tool_result": True, "alerts_open": 1, "dialled_in_quiet_hours": True},
)
