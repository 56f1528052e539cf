"""Two guests at two properties at the same time: two incidents, two outreach stories, each
with its own owner; the same plumbers serve both and are phoned once per incident."""
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario

SCENARIO = Scenario(
    name="two properties at once",
    story="Leaks at Seaside Cottage (p1) and Market Street Loft (p2) reported simultaneously.",
    calls=[GuestCall(caller(LEAK, STILL), property_id="p1"), GuestCall(caller(LEAK, STILL), property_id="p2")],
    agents={"guest": [guest_reports(), guest_reports()], "vendor": [vendor_quotes(230.0)],
            "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: caller("Yes."), LANDLORD_PHONE["p2"]: caller("Yes.")},
    expect={"incidents": 2, "dialled": {"vendor": 4, "landlord": 2, "guest": 2}, "bookings": 2,
            "booked_in_hours": True, "calls_open": 0, "live_calls": 0},
    timeout_s=180.0,
)
