"""Gemini sends goAway while the agent is speaking: the bridge hands over to a resumed session
at the next turn boundary (before Gemini's deadline) and the call carries on to its end."""
from ..parts import END, caller
from ..story import GuestCall, Scenario
from ..world import agent

BEFORE: dict = {}


async def remember(world, run) -> None:
    BEFORE["n"] = world.services["bridge"].service.metrics.handovers.labels("ok")._value.get()


async def handovers(world, run) -> dict:
    # every connection of the emulator ages (goAway 5 s after it opened): at least one handover
    return {"handed_over": world.services["bridge"].service.metrics.handovers.labels("ok")._value.get()
            > BEFORE["n"]}


SCRIPT = {**agent(
    {"say": "Hi, Fixline maintenance. How can I help?"}, {"listen": "The fridge is warm."},
    {"say": "Please check that the dial inside the fridge is not on zero and that the door closes well, "
            "then wait a minute. Is it colder?", "duration_s": 4.0},
    {"listen": "Yes, it is cold now."},
    {"say": "Great, glad that fixed it. Goodbye."}, END), "go_away_after_s": 5.0, "go_away_time_left_s": 3.0}

SCENARIO = Scenario(
    name="goAway mid-sentence",
    story="goAway (3 s left) arrives during a 4 s sentence; the rest happens on the resumed session.",
    calls=[GuestCall(caller("The fridge is warm.", "Yes, it is cold now."))],
    agents={"guest": [SCRIPT]}, before=remember, extra=handovers,
    expect={"incidents": 0, "calls_open": 0, "live_calls": 0, "handed_over": True, "outcomes": ["agent_hangup"]},
)
