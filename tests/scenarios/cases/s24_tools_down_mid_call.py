"""The tools service stops while a guest is on the line: the incident cannot be opened, so the
bridge (the system) promises a call-back and tells the agent; the agent says so and ends the
call cleanly; the tools come back and outreach phones the guest back (callback:<call id>)."""
import asyncio

from services.tools.app import ToolsService
from tests.support.services import running

from ..callback_facts import callback_facts
from ..parts import END, LEAK, caller, guest_callback
from ..story import GuestCall, Scenario
from ..world import agent

TASKS: list = []


async def stop_tools_after_the_problem(world, run) -> None:
    """As soon as the guest's call is up (its Live session opened), the tools service goes away
    (a drain: the greeting and the guest's description give it seconds to finish); it comes back
    after the guest's call has ended (before the call-back)."""
    count = len(world.gemini.sessions)

    async def outage() -> None:
        await world.gemini.wait_for_session(count + 1, timeout=20)
        tools = world.services["tools"]
        settings = tools.runtime.settings
        tools.stopping.set()
        await asyncio.wait_for(tools.task, 30)
        for _ in range(600):
            if await world.pool.fetchval("SELECT ended_at IS NOT NULL FROM calls WHERE direction = 'inbound'"
                                         " AND from_number = $1", run.guests[0]):
                break
            await asyncio.sleep(0.1)
        context = running(ToolsService(), settings)
        world.services["tools"] = await context.__aenter__()
        world.restarted.append(context)

    TASKS.append(asyncio.create_task(outage()))


async def facts(world, run) -> dict:
    back = bool(TASKS) and TASKS[-1].done() and TASKS[-1].exception() is None
    return {"tools_back": back, **await callback_facts(world, run)}


SCENARIO = Scenario(
    name="tools down mid-call",
    story="The tools stop once the guest's call is up; the agent says we will call back; the guest is called back.",
    calls=[GuestCall(caller(LEAK, "Okay."))],
    agents={"guest": [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"}, {"listen": LEAK},
        {"tool_call": {"name": "create_incident", "args": {
            "category": "plumbing", "severity": "medium", "description": LEAK,
            "needs_professional": True, "urgency": "today"}}, "wait": True},
        {"say": "I am sorry, I cannot record this right now. Our team will call you back shortly. Goodbye."},
        END)],
        "guest_callback": [guest_callback()]},
    before=stop_tools_after_the_problem, extra=facts,
    expect={"tools_back": True, "incidents": 0, "calls_open": 0, "live_calls": 0, "outcomes": ["agent_hangup"],
            "promised": ["tools_unavailable"], "called_back": 1, "called_back_reached": 1,
            "callback_on_dashboard": "done", "dialled": {"vendor": 0, "landlord": 0, "guest": 0}},
    timeout_s=90.0,
)
