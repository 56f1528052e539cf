"""SIGKILL outreach twice: when the owner's DecisionMade is recorded (just before
schedule_repair) and when the booking row appears (just after it, before the guest is called).
The decision reaches the recovered landlord call through the durable consumer; the booking is
idempotent (deterministic calendar event id), so one visit; the guest is called back once."""
from ..crashes import Crash, booked, decision_made
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario

CRASH = Crash("outreach", at=(decision_made, booked,))

SCENARIO = Scenario(
    name="outreach killed around booking",
    story="kill -9 outreach when the owner's decision is in, and again when the visit is booked.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor:v-plumb-1": [vendor_quotes(240.0, days=1, at="10:00")],
            "vendor:v-plumb-2": [vendor_quotes(180.0, days=2, at="14:00")],
            "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: caller("Yes.")},
    before=CRASH.before, extra=CRASH.extra, after=CRASH.after,
    expect={"crash": CRASH.expected(), "status": "scheduled",
            "history": ["open", "awaiting_quotes", "awaiting_approval", "scheduled"],
            "dials": {"v-plumb-1": 1, "v-plumb-2": 1, "landlord:p1": 1, "guest": 1},
            "dialled": {"vendor": 2, "landlord": 1, "guest": 1}, "quotes": 2, "bookings": 1, "calendar_visits": 1,
            "calls_open": 0, "dashboard": {"status": "scheduled", "outreach": "done"}},
    timeout_s=150.0,
)
