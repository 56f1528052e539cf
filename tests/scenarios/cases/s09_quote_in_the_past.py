"""The vendor agent first records a start four days ago: refused with a reason it can speak
about; it asks again and records tomorrow 10:00; the booking lands inside working hours."""
from ..parts import END, HUMAN_SAYS_SURE, LA, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario
from ..world import agent


def quote(days: int, at: str) -> dict:
    return {"tool_call": {"name": "record_quote", "args": {
        "price": 150.0, "currency": "USD", "earliest_start": {"$time": {"days": days, "at": at, "tz": LA}}}},
        "wait": True}


SCENARIO = Scenario(
    name="quote in the past",
    story="Tideline's first slot is four days ago (refused) then 22:00 (refused), then tomorrow 10:00.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()],
            "vendor:v-plumb-1": [agent({"say": "Hello, Fixline. Could you quote?"}, {"listen": "Sure."},
                                       quote(-4, "10:00"), quote(1, "22:00"), quote(1, "10:00"),
                                       {"say": "Thanks. Goodbye."}, END)],
            "vendor:v-plumb-2": [vendor_quotes(400.0, days=3)],
            "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: caller("Yes.")},
    expect={"quotes": 2, "quotes_recorded": 2, "status": "scheduled", "bookings": 1, "booked_in_hours": True,
            "dialled": {"vendor": 2, "landlord": 1, "guest": 1}, "calls_open": 0},
)
