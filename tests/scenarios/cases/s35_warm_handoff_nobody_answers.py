"""The guest asks for a person; the person on duty does not pick up: the caller comes back to the
agent (a second stream, briefed that the manager did not answer), which promises a call-back;
outreach phones the guest back. The hand-off's stages are recorded on the call."""
from ..callback_facts import callback_facts
from ..parts import END, caller, guest_callback
from ..story import GuestCall, Scenario
from ..world import PERSON_ON_DUTY, agent

ASK = "Can I talk to a human please?"


async def facts(world, run) -> dict:
    found = await callback_facts(world, run)
    rows = await world.pool.fetch(
        "SELECT h.stage FROM call_handoffs h JOIN calls c ON c.id = h.call_id"
        " WHERE c.direction = 'inbound' AND c.from_number = $1 ORDER BY h.at", run.guests[0])
    return {**found, "handoff": [r["stage"] for r in rows]}


async def nobody_on_duty_answers(world, run) -> None:
    world.twilio.set_callee(PERSON_ON_DUTY, {"dialled": "no-answer"})


async def restore(world, run) -> None:
    world.twilio._callees.pop(PERSON_ON_DUTY, None)  # back to the emulator's default callee


SCENARIO = Scenario(
    name="warm hand-off, nobody answers",
    story="'Can I talk to a human?' -> the person on duty does not answer -> back to the agent -> call-back.",
    calls=[GuestCall(caller(ASK, "Yes please.", max_duration_s=90))],
    agents={"guest": [
        agent({"say": "Hi, Fixline maintenance. How can I help?"}, {"listen": ASK},
              {"say": "Of course, I am transferring you now."},
              {"tool_call": {"name": "transfer_to_human", "args": {"reason": "caller asked for a person"}},
               "wait": True}),
        agent({"say": "Sorry, nobody picked up. Shall the team call you back?"}, {"listen": "Yes please."},
              {"tool_call": {"name": "schedule_callback", "args": {"reason": "manager did not answer"}},
               "wait": True},
              {"say": "Done, they will call you shortly. Goodbye."}, END)],
        "guest_callback": [guest_callback()]},
    before=nobody_on_duty_answers, after=restore, extra=facts,
    expect={"incidents": 0, "calls_open": 0, "live_calls": 0, "outcomes": ["transferred", "agent_hangup"],
            "promised": ["agent_request"], "called_back": 1, "called_back_reached": 1,
            "callback_on_dashboard": "done", "handoff": ["unanswered"]},
    timeout_s=120.0,
)
