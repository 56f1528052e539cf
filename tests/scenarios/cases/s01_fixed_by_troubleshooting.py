"""The guest's problem is fixed by the property's own guide: no incident, nobody phoned."""
from ..parts import END, caller
from ..story import GuestCall, Scenario
from ..world import agent

SCENARIO = Scenario(
    name="fixed by troubleshooting",
    story="Wi-fi down; the agent walks the guest through restarting the router; it works; no outreach.",
    calls=[GuestCall(caller("The wifi is not working.", "Yes, it works now, thanks!"))],
    agents={"guest": [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"},
        {"listen": "The wifi is not working."},
        {"tool_call": {"name": "search_maintenance", "args": {"query": "wifi not working"}}, "wait": True},
        {"say": "Please unplug the router for ten seconds and plug it back in. Is it back?"},
        {"listen": "Yes, it works now, thanks!"},
        {"say": "Great. Goodbye."}, END)]},
    expect={"incidents": 0, "dialled": {"vendor": 0, "landlord": 0, "guest": 0}, "calls_open": 0,
            "live_calls": 0, "reports": ["guest/inbound:resolved_by_troubleshooting"]},
)
