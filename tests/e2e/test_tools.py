"""Tool calls in a live call: unknown tools, timeouts and cancellations all leave the
conversation going, and every function call id Gemini is owed gets its answer."""

from __future__ import annotations

import asyncio
import contextlib

from .harness import World, call_id_of, scenario

INCIDENT = {"category": "hvac", "severity": "medium", "description": "Heating makes a banging noise."}


async def call_with_stalled_incidents(world: World, sc: dict, callee: dict, timeout: float = 20.0):
    """Place the call; once its media stream is up, lock the incidents table (a real stall:
    create_incident blocks in PostgreSQL) until the call is over."""
    call = await world.call(sc, callee, wait=False)
    while not call.streams or not world.bridge.service.server.calls:
        await asyncio.sleep(0.01)
    async with incidents_locked(world):
        await call.wait(timeout)
    await world.idle()
    return call


@contextlib.asynccontextmanager
async def incidents_locked(world: World):
    async with world.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            await tx.rollback()


def session_for(world: World, sc: dict):
    return next(s for s in world.gemini.sessions if s.state.scenario.name == sc["name"])


async def said(world: World, call_id: str) -> list[str]:
    return [t.text for t in await world.events(call_id, "transcript.turn") if t.role == "agent"]


async def test_unknown_tool_is_answered_with_an_error_and_the_call_goes_on(world: World):
    sc = scenario({"tool_call": {"name": "order_pizza", "args": {"size": "large"}}, "wait": True},
                  {"say": "Sorry, I cannot do that."})
    call = await world.call(sc, {"steps": [], "max_duration_s": 4}, timeout=15)
    response = session_for(world, sc).tool_responses[0]
    assert response["name"] == "order_pizza"
    assert response["response"]["error"]["code"] == "unknown_tool"
    assert await said(world, call_id_of(call)) == ["Sorry, I cannot do that."]


async def test_a_stalled_tool_times_out_with_an_error_the_model_can_speak_about(world: World):
    sc = scenario({"tool_call": {"name": "create_incident", "args": INCIDENT}, "wait": True},
                  {"say": "I could not confirm that yet."})
    before = world.metrics.tool_latency.labels("create_incident", "timeout")._sum.get()
    call = await call_with_stalled_incidents(world, sc, {"steps": [], "max_duration_s": 5})
    response = session_for(world, sc).tool_responses[0]
    assert response["name"] == "create_incident"
    assert response["response"]["error"]["code"] == "timeout"
    assert response["response"]["error"]["retryable"] is True
    assert world.metrics.tool_latency.labels("create_incident", "timeout")._sum.get() - before >= 2.0
    assert await said(world, call_id_of(call)) == ["I could not confirm that yet."]


async def test_cancelled_tool_calls_are_stopped_and_never_answered(world: World):
    long = "While I log that, let me explain what usually causes banging noises in old radiators and pipes."
    sc = scenario({"tool_call": {"name": "create_incident", "args": INCIDENT}, "wait": False},
                  {"say": long}, {"listen": "Wait, it stopped."}, {"say": "Okay, good."})
    callee = {"steps": [{"say": "Wait, it stopped.", "barge_in": 1.0}], "max_duration_s": 8}
    cancelled = world.metrics.tool_cancelled._value.get()
    call = await call_with_stalled_incidents(world, sc, callee)  # still running at the barge-in
    session = session_for(world, sc)
    cancellation = [e.detail for e in session.events if e.kind == "toolCallCancellation"]
    assert cancellation, "Gemini cancelled the pending call on barge-in"
    ids = cancellation[0]["toolCallCancellation"]["ids"]
    assert world.metrics.tool_cancelled._value.get() == cancelled + len(ids)
    await asyncio.sleep(0.5)
    assert [r for r in session.tool_responses if r["id"] in ids] == []  # never answered, not even late
    assert (await said(world, call_id_of(call)))[-1] == "Okay, good."


async def test_the_incident_opened_mid_call_is_in_the_outcome_and_in_a_handed_over_setup(world: World):
    """One context, owned by the call: after create_incident, the session Gemini hands over to is
    set up with the incident in its prompt, and the call's outcome event names it."""
    sc = scenario({"tool_call": {"name": "create_incident", "args": INCIDENT}, "wait": True},
                  {"say": "I have logged the heating problem."}, {"go_away": {"time_left_s": 1.0}},
                  {"say": "Is there anything else?"})
    call = await world.call(sc, {"steps": [], "max_duration_s": 8}, timeout=20)
    incident_id = session_for(world, sc).tool_responses[0]["response"]["output"]["incident_id"]
    first, second = [s for s in world.gemini.sessions if s.state.scenario.name == sc["name"]][:2]
    assert second.state is first.state, "handed over, same conversation"
    assert incident_id not in first.cfg.system_instruction
    assert f"Incident being handled: {incident_id}" in second.cfg.system_instruction
    [outcome] = await world.events(call_id_of(call), "call.outcome")
    assert outcome.incident_id == incident_id
