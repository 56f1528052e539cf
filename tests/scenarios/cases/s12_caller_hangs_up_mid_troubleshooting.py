"""The guest hangs up while the agent is still walking them through the guide: the call ends
(no phantom), nothing is opened, nobody is phoned."""
from ..story import GuestCall, Scenario
from ..world import agent

SCENARIO = Scenario(
    name="caller hangs up mid-troubleshooting",
    story="The guest describes the problem, hears the first step and hangs up mid-sentence.",
    calls=[GuestCall({"steps": [{"say": "The heating is off."}, {"hangup": True, "delay": 1.5}],
                      "max_duration_s": 30})],
    agents={"guest": [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"}, {"listen": "The heating is off."},
        {"tool_call": {"name": "search_maintenance", "args": {"query": "heating off"}}, "wait": True},
        {"say": "Let us check the thermostat first: it is on the wall in the hallway, next to the front door, "
                "and it should show the room temperature. Can you see it?"},
        {"listen": "Yes."})]},
    expect={"incidents": 0, "calls_open": 0, "live_calls": 0, "outcomes": ["caller_hangup"],
            "dialled": {"vendor": 0, "landlord": 0, "guest": 0}},
)
