"""A leak reported in the property's quiet hours (not an emergency): the incident is opened at
once but nobody is phoned until the quiet hours end; the dashboard shows outreach waiting
("waiting until <time>"); then the story runs as usual. The property's window is put around
"now" (quiet_start/quiet_end), so the case does not depend on the hour the suite runs."""
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, no_quiet_hours, quiet_hours_around_now, vendor_quotes
from ..story import GuestCall, Scenario

QUIET_FOR_S = 45  # the guest call opens the incident well inside this, even on a loaded machine


async def _quiet_now(world, run) -> None:
    run.notes["quiet_until"] = await quiet_hours_around_now(world, "p1", ends_in_s=QUIET_FOR_S)


async def _facts(world, run) -> dict:
    row = await world.pool.fetchrow(
        "SELECT i.created_at, (SELECT min(c.created_at) FROM calls c WHERE c.incident_id = i.id"
        " AND c.direction = 'outbound') AS first_dial FROM incidents i WHERE i.caller_phone = ANY($1)"
        " ORDER BY i.created_at DESC LIMIT 1", run.guests)
    until = run.notes["quiet_until"]
    return {"reported_in_quiet_hours": row is not None and row["created_at"] < until,
            "first_dial_after_quiet_hours": row is not None and row["first_dial"] is not None
            and row["first_dial"] >= until}


async def _restore(world, run) -> None:
    await no_quiet_hours(world, "p1")


SCENARIO = Scenario(
    name="quiet hours",
    story="Leak reported at night: incident at once, outreach waits for the end of quiet hours, then the full repair.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor:v-plumb-1": [vendor_quotes(240.0)],
            "vendor:v-plumb-2": [vendor_quotes(180.0, days=2, at="14:00")],
            "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: caller("Yes.")},
    before=_quiet_now, extra=_facts, after=_restore, timeout_s=180.0,
    expect={"status": "scheduled", "dialled": {"vendor": 2, "landlord": 1, "guest": 1}, "bookings": 1,
            "booked_in_hours": True, "calls_open": 0,
            "stages": ["started", "waiting", "calling_vendor", "calling_vendor", "quote_received", "quote_received",
                       "analysing", "recommended", "calling_landlord", "approved", "scheduled", "calling_guest",
                       "done"],
            "reported_in_quiet_hours": True, "first_dial_after_quiet_hours": True},
)
