"""SIGKILL the tools service once schedule_repair has put the visit in the calendar (the
booking row and the reply to outreach may not exist yet). Outreach's book_repair step times out
and retries against the restarted service; the deterministic event id makes the retry find the
existing event, so the calendar holds one visit and there is one booking row."""
from ..crashes import Crash, in_calendar
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario

CRASH = Crash("tools", at=(in_calendar,))

SCENARIO = Scenario(
    name="tools killed mid-schedule_repair",
    story="kill -9 the tools service once the calendar holds the visit; outreach retries; one booking.",
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
