"""Every call ends: one guest's number sends no status callback, another's does; both calls
end in `calls` and on the dashboard (no phantom live call); the callback's reason wins."""
from ..parts import END, caller
from ..story import GuestCall, Scenario
from ..world import agent

SHORT = agent({"say": "Hi, Fixline maintenance. How can I help?"}, {"listen": "Just checking the line."},
              {"say": "All good. Goodbye."}, END)
SCENARIO = Scenario(
    name="call with no status callback",
    story="Two short calls, the first without status callbacks (ended by its stream), the second with.",
    calls=[GuestCall(caller("Just checking the line.")),
           GuestCall(caller("Just checking the line."), after_s=0.5, status_callback=True)],
    agents={"guest": [SHORT, SHORT]},
    expect={"calls_open": 0, "live_calls": 0, "guest_end_reasons": ["stream-ended", "completed"],
            "incidents": 0},
)
