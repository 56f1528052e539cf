"""Gemini fails for good mid-call (1011 on the session and on every resumption) and nobody is on
duty to take a transfer: the caller hears the recorded apology ("we will call you back"), the
bridge records that promise, and outreach phones the guest back after OUTREACH_CALLBACK_DELAY_S."""
import asyncio
import dataclasses

from ..callback_facts import callback_facts
from ..parts import caller, guest_callback
from ..story import GuestCall, Scenario
from ..world import agent

PROBLEM = "The fridge is making a loud noise."
RETRIES = 4  # the bridge's GEMINI_RECONNECT_ATTEMPTS in the story world (the default)
SAVED: dict = {}


async def gemini_gone_and_nobody_on_duty(world, run) -> None:
    server = world.services["bridge"].service.server
    SAVED["deps"] = server.deps
    server.deps = dataclasses.replace(server.deps, settings=dataclasses.replace(
        server.deps.settings, fallback_transfer_number=""))
    count = len(world.gemini.sessions)

    async def kill() -> None:
        session = await world.gemini.wait_for_session(count + 1, timeout=20)
        while not (any(h.get("text") == PROBLEM for h in session.state.history)
                   and session.kinds().count("sessionResumptionUpdate")):
            await asyncio.sleep(0.02)
        await session.close(1011, "Internal error encountered.")
        for n in range(RETRIES):  # every resumption fails too
            resumed = await world.gemini.wait_for_session(count + 2 + n, timeout=20)
            await resumed.close(1011, "Internal error encountered.")

    SAVED["task"] = asyncio.create_task(kill())


async def restore(world, run) -> None:
    world.services["bridge"].service.server.deps = SAVED.pop("deps")
    task = SAVED.pop("task")
    if not task.done():
        task.cancel()


SCENARIO = Scenario(
    name="Gemini gone: call-back",
    story="Gemini dies for good after the guest's first sentence; apology, promise, call-back two seconds later.",
    calls=[GuestCall(caller(PROBLEM, "Hello?"))],
    agents={"guest": [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"}, {"listen": PROBLEM},
        {"say": "I am sorry to hear that. Is the fridge level on the floor?"}, {"listen": "Hello?"})],
        "guest_callback": [guest_callback()]},
    before=gemini_gone_and_nobody_on_duty, after=restore, extra=callback_facts,
    expect={"incidents": 0, "calls_open": 0, "live_calls": 0, "outcomes": ["agent_unavailable_callback"],
            "promised": ["agent_unavailable"], "called_back": 1, "called_back_reached": 1,
            "callback_on_dashboard": "done"},
    timeout_s=90.0,
)
