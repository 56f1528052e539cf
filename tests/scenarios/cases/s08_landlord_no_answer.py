"""The owner does not pick up: called again after OUTREACH_RETRY_DELAY_S, still nothing:
escalated to the manager; nothing booked."""
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_reports, \
    vendor_quotes, voicemail
from ..story import GuestCall, Scenario

SCENARIO = Scenario(
    name="landlord no answer",
    story="Two quotes; the owner's phone hangs up at once, twice; outreach escalates; nothing booked.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor": [vendor_quotes(300.0)], "landlord": [voicemail()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: {"steps": [{"hangup": True, "at": 0.2}], "max_duration_s": 2}},
    expect={"status": "awaiting_approval", "dialled": {"vendor": 2, "landlord": 2, "guest": 0}, "bookings": 0,
            "calls_open": 0, "dashboard": {"status": "awaiting_approval", "outreach": "escalated"}},
)
