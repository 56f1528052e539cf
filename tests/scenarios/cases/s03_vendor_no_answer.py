"""A plumber does not pick up: the next plumber serving the property is phoned instead."""
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes, voicemail
from ..story import GuestCall, Scenario

SCENARIO = Scenario(
    name="vendor no answer",
    story="Bay Rooter hangs up before anyone speaks; Harbor Pipe (third plumber of p1) is called and quotes.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor:v-plumb-1": [vendor_quotes(260.0)],
            "vendor:v-plumb-2": [voicemail()], "vendor:v-plumb-5": [vendor_quotes(190.0, days=2)],
            "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-5"]: HUMAN_SAYS_SURE,
             VENDOR_PHONE["v-plumb-2"]: {"steps": [{"hangup": True, "at": 0.2}], "max_duration_s": 2},
             LANDLORD_PHONE["p1"]: caller("Yes.")},
    expect={"vendors": ["v-plumb-1", "v-plumb-2", "v-plumb-5"], "quotes": 2, "status": "scheduled",
            "dialled": {"vendor": 3, "landlord": 1, "guest": 1}, "booked_in_hours": True, "calls_open": 0,
            "reports": ["guest/inbound:incident_opened", "guest/outbound:update_given", "landlord/outbound:decision",
                        "vendor/outbound:no_answer", "vendor/outbound:quote", "vendor/outbound:quote"]},
)
