"""SIGKILL outreach right after it recorded its first vendor call (outreach_calls row) and asked
ingress to dial; started again a second later with the same DBOS executor id. Recovery replays
place_call: the re-published DialCall is a JetStream duplicate (and ingress dials a call id
once), so each plumber's phone rings exactly once, the owner once, the guest once; one visit."""
from ..crashes import Crash, outreach_dialling
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario

CRASH = Crash("outreach", at=(outreach_dialling,))

SCENARIO = Scenario(
    name="outreach killed while dialling",
    story="kill -9 outreach as it asks ingress to dial the first plumber; restart; the story goes on.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor": [vendor_quotes(260.0)],
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
