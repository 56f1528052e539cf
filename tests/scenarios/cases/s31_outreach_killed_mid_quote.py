"""SIGKILL outreach the moment the first plumber's quote is recorded (QuoteReceived on its way,
the vendor still on the phone). The results consumer is durable and acks only after the DBOS
send, so the quote and the hang-up are delivered to the recovered call workflow; nobody is
phoned again, both quotes count, one visit."""
from ..crashes import Crash, quote_recorded
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario

CRASH = Crash("outreach", at=(quote_recorded,))

SCENARIO = Scenario(
    name="outreach killed mid-quote",
    story="kill -9 outreach as the first quote is recorded; restart; the quote still reaches the workflow.",
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
