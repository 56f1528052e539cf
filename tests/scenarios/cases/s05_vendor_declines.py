"""The best-rated plumber declines the job: the next one of the trade is phoned."""
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_declines, vendor_quotes
from ..story import GuestCall, Scenario

SCENARIO = Scenario(
    name="vendor declines",
    story="Tideline is fully booked and declines; Bay Rooter and Harbor Pipe quote; the owner approves.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor:v-plumb-1": [vendor_declines()],
            "vendor:v-plumb-2": [vendor_quotes(210.0)], "vendor:v-plumb-5": [vendor_quotes(190.0, days=2)],
            "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: caller("Sorry, we are fully booked."),
             VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-5"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: caller("Yes.")},
    expect={"vendors": ["v-plumb-1", "v-plumb-2", "v-plumb-5"], "quotes": 2, "status": "scheduled",
            "dialled": {"vendor": 3, "landlord": 1, "guest": 1}, "calls_open": 0},
)
