"""The same guest calls again about the same leak: one incident, outreach once (each plumber
phoned once), the story finishes once."""
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario

SCENARIO = Scenario(
    name="guest calls again",
    story="Two calls from one guest about one leak, 3 s apart: deduplicated to one incident and one outreach.",
    calls=[GuestCall(caller(LEAK, STILL)), GuestCall(caller(LEAK, STILL), after_s=3.0, same_caller_as=0)],
    agents={"guest": [guest_reports(), guest_reports()], "vendor": [vendor_quotes(250.0)],
            "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: caller("Yes.")},
    expect={"incidents": 1, "dialled": {"vendor": 2, "landlord": 1, "guest": 1}, "bookings": 1,
            "status": "scheduled", "calls_open": 0},
)
