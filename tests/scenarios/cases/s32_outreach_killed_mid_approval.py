"""SIGKILL outreach when the incident reaches awaiting_approval: the workflow has just asked the
tools to move it and is about to phone the owner. Recovery replays the status step (an
already-made transition is reported, not retried) and the landlord call (one child workflow,
one call id): the owner's phone rings once."""
from ..crashes import Crash, awaiting_approval
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario

CRASH = Crash("outreach", at=(awaiting_approval,))

SCENARIO = Scenario(
    name="outreach killed mid-approval",
    story="kill -9 outreach as the incident reaches awaiting_approval; restart; the owner is phoned once.",
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
