"""The owner declines: the incident records it (cancelled, with the owner's words) and the guest
is called and told; nothing is booked."""
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario

SCENARIO = Scenario(
    name="landlord declines",
    story="Two quotes; the owner says no; the guest hears it from us; the dashboard shows it.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor": [vendor_quotes(300.0)],
            "landlord": [landlord_decides(False, "too expensive")], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: caller("No.")},
    expect={"status": "cancelled", "history": ["open", "awaiting_quotes", "awaiting_approval", "cancelled"],
            "dialled": {"vendor": 2, "landlord": 1, "guest": 1}, "bookings": 0, "calls_open": 0,
            "dashboard": {"status": "cancelled", "outreach": "guest_told"}},
)
