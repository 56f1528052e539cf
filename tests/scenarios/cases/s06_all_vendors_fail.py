"""Every appliance repairer serving the property declines: the manager is alerted on the
dashboard (escalated); the owner is not phoned about nothing."""
from ..parts import VENDOR_PHONE, caller, guest_reports, vendor_declines
from ..story import GuestCall, Scenario

DRYER = "The dryer does not heat."
SCENARIO = Scenario(
    name="all vendors fail",
    story="Both appliance repairers of p1 decline; outreach escalates to the manager.",
    calls=[GuestCall(caller(DRYER, "No, still cold."))],
    agents={"guest": [guest_reports("appliance", problem=DRYER, answer="No, still cold.")],
            "vendor": [vendor_declines()]},
    callees={VENDOR_PHONE["v-appl-1"]: caller("Sorry, we are fully booked."),
             VENDOR_PHONE["v-appl-2"]: caller("Sorry, we are fully booked.")},
    expect={"vendors": ["v-appl-1", "v-appl-2"], "quotes": 0, "status": "awaiting_quotes",
            "dialled": {"vendor": 2, "landlord": 0, "guest": 0}, "calls_open": 0,
            "dashboard": {"status": "awaiting_quotes", "outreach": "escalated"}},
)
