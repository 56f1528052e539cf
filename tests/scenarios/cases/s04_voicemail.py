"""A plumber's answering machine picks up: the agent is told to leave a short voicemail (who,
which property, the number to call back) and the next plumber is phoned. Two plumbers quote, so
the story no longer needs the machine's vendor: no later retry (that is s23, where nobody quoted)."""
from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes, voicemail
from ..story import GuestCall, Scenario

SCENARIO = Scenario(
    name="voicemail",
    story="Bay Rooter's machine answers; the voicemail persona plays; Harbor Pipe is called instead.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor:v-plumb-1": [vendor_quotes(260.0)],
            "voicemail": [voicemail()], "vendor:v-plumb-5": [vendor_quotes(190.0, days=2)],
            "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-5"]: HUMAN_SAYS_SURE,
             VENDOR_PHONE["v-plumb-2"]: {"answered_by": "machine_end_beep", "steps": [], "max_duration_s": 8},
             LANDLORD_PHONE["p1"]: caller("Yes.")},
    expect={"machine": ["v-plumb-2"], "vendors": ["v-plumb-1", "v-plumb-2", "v-plumb-5"], "quotes": 2,
            "status": "scheduled", "dialled": {"vendor": 3, "landlord": 1, "guest": 1}, "calls_open": 0,
            "reports": ["guest/inbound:incident_opened", "guest/outbound:update_given", "landlord/outbound:decision",
                        "vendor/outbound:quote", "vendor/outbound:quote", "vendor/outbound:voicemail"]},
)
