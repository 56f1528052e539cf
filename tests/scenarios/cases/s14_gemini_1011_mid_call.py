"""Gemini closes the session with 1011 mid-call: the bridge resumes it with the handle and the
conversation carries on (the incident is still opened); one reconnect, no second greeting."""
import asyncio

from ..parts import END, caller
from ..story import GuestCall, Scenario
from ..world import agent

PROBLEM = "The oven does not turn on."
BEFORE: dict = {}


async def fail_after_first_answer(world, run) -> None:
    """A server fault between turns, once the session has handed out a resumption handle."""
    metrics = world.services["bridge"].service.metrics
    BEFORE["n"] = metrics.reconnects.labels("1011")._value.get()
    count = len(world.gemini.sessions)

    async def kill() -> None:
        session = await world.gemini.wait_for_session(count + 1, timeout=20)
        while not (any(h.get("text") == PROBLEM for h in session.state.history)
                   and session.kinds().count("sessionResumptionUpdate")):
            await asyncio.sleep(0.02)
        await session.close(1011, "Internal error encountered.")

    BEFORE["task"] = asyncio.create_task(kill())


async def reconnects(world, run) -> dict:
    metrics = world.services["bridge"].service.metrics
    return {"reconnects_1011": metrics.reconnects.labels("1011")._value.get() - BEFORE["n"]}


SCENARIO = Scenario(
    name="Gemini 1011 mid-call",
    story="After the caller's first sentence the Live session dies (1011); resumed, the agent opens the incident.",
    calls=[GuestCall(caller(PROBLEM, "No, nothing."))],
    agents={"guest": [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"}, {"listen": PROBLEM},
        {"say": "Sorry about that. Is the oven's breaker on?"}, {"listen": "No, nothing."},
        {"tool_call": {"name": "create_incident", "args": {
            "category": "appliance", "severity": "low", "description": "Oven does not turn on.",
            "needs_professional": False, "urgency": "flexible"}}, "wait": True},
        {"say": "Noted. Goodbye."}, END)]},
    before=fail_after_first_answer, extra=reconnects,
    expect={"incidents": 1, "status": "open", "calls_open": 0, "reconnects_1011": 1,
            "outcomes": ["agent_hangup"]},
)
