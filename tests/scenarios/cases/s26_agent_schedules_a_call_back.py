"""The guest has to go before the problem is sorted: the agent promises a call-back with its
``schedule_callback`` tool (the tool call is the promise, not the words), and outreach phones
the guest back with the agent's reason in the briefing."""
from ..callback_facts import callback_facts
from ..parts import END, caller, guest_callback
from ..story import GuestCall, Scenario
from ..world import agent

PROBLEM = "The wifi keeps dropping, but I have to leave right now. Can you call me back?"
REASON = "guest had to leave; wifi keeps dropping, not troubleshot yet"


async def facts(world, run) -> dict:
    found = await callback_facts(world, run)
    briefings = await world.pool.fetch("SELECT briefing FROM calls WHERE direction = 'outbound'"
                                       " AND to_number = $1", run.guests[0])
    return {**found, "briefing_has_reason": bool(briefings) and all(REASON in b["briefing"] for b in briefings)}


SCENARIO = Scenario(
    name="agent schedules a call-back",
    story="The guest must leave; schedule_callback; goodbye; the guest is called back with the reason.",
    calls=[GuestCall(caller(PROBLEM))],
    agents={"guest": [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"}, {"listen": PROBLEM},
        {"tool_call": {"name": "schedule_callback", "args": {"reason": REASON}}, "wait": True},
        {"say": "Of course. We will call you back shortly. Goodbye."}, END)],
        "guest_callback": [guest_callback()]},
    extra=facts,
    expect={"incidents": 0, "calls_open": 0, "live_calls": 0, "outcomes": ["agent_hangup"],
            "promised": ["agent_request"], "called_back": 1, "called_back_reached": 1,
            "callback_on_dashboard": "done", "briefing_has_reason": True},
    timeout_s=90.0,
)
