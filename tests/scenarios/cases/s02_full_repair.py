"""The whole story: guest -> incident (the model only states the facts) -> two plumbers quote ->
the owner approves -> the visit is booked inside working hours -> the guest is called back."""
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, VENDOR_PHONE, caller, guest_callback, guest_reports, \
    landlord_decides, vendor_quotes, LEAK, STILL
from ..story import GuestCall, Scenario

SCENARIO = Scenario(
    name="full repair",
    story="Leak not fixed by the valve; outreach gets two quotes, the owner approves, booked, guest told.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor:v-plumb-1": [vendor_quotes(240.0, days=1, at="10:00")],
            "vendor:v-plumb-2": [vendor_quotes(180.0, days=2, at="14:00")],
            "landlord": [landlord_decides(True, "go ahead")], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: caller("Yes."), },
    expect={"status": "scheduled", "urgency": "today",
            "history": ["open", "awaiting_quotes", "awaiting_approval", "scheduled"],
            "dialled": {"vendor": 2, "landlord": 1, "guest": 1}, "quotes": 2, "bookings": 1,
            "booked_in_hours": True, "calls_open": 0, "live_calls": 0,
            "dashboard": {"status": "scheduled", "outreach": "done"},
            "reports": ["guest/inbound:incident_opened", "guest/outbound:update_given", "landlord/outbound:decision",
                        "vendor/outbound:quote", "vendor/outbound:quote"]},
)
