"""The agent records the problem but says no professional is needed: the incident is open
(for the manager to see) and nobody is phoned: the system acts on the facts, not the words."""
from ..parts import caller, guest_reports
from ..story import GuestCall, Scenario

LIGHT = "A light bulb in the bedroom is out."
SCENARIO = Scenario(
    name="no professional needed",
    story="A bulb is out; spare bulbs are in the closet; incident noted with needs_professional=false.",
    calls=[GuestCall(caller(LIGHT, "I will change it myself."))],
    agents={"guest": [guest_reports("electrical", needs_professional=False, urgency="flexible", problem=LIGHT,
                                    answer="I will change it myself.")]},
    expect={"incidents": 1, "status": "open", "urgency": "flexible", "history": ["open"],
            "dialled": {"vendor": 0, "landlord": 0, "guest": 0}, "calls_open": 0,
            "dashboard": {"status": "open", "outreach": None}},
)
