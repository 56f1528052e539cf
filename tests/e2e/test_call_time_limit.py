"""Every call ends inside MAX_CALL_S: the agent is asked to wrap up (and offer a call-back)
CALL_WRAP_UP_S before, then the call is hung up even if nobody says goodbye."""

from __future__ import annotations

import asyncio
import time

import pytest

from .harness import GUEST_NUMBER, World, call_id_of, scenario, world_running

MAX_CALL_S, WRAP_UP_S = 4.0, 1.5


@pytest.fixture(scope="module")
async def short_calls(e2e_database, nats_url):
    async with world_running(e2e_database, nats_url, max_call_s=MAX_CALL_S, call_wrap_up_s=WRAP_UP_S) as w:
        yield w


async def test_a_call_that_runs_long_is_wrapped_up_then_ended(short_calls: World):
    world = short_calls
    sc = scenario({"say": "Tell me everything about the leak."}, {"listen": {"transcript": "", "timeout_s": 60}})
    callee = {"steps": [], "max_duration_s": 60}   # a caller who never hangs up
    opened = len(world.gemini.sessions)
    started = time.monotonic()
    call = await world.call(sc, callee, wait=False)
    while not call.streams:
        await asyncio.sleep(0.02)
    call_id = call_id_of(call)
    session = await world.gemini.wait_for_session(opened + 1)
    await call.wait(MAX_CALL_S + 10)
    elapsed = time.monotonic() - started
    await world.idle()
    outcome = await world.events(call_id, "call.outcome")
    assert outcome[0].outcome == "time_limit"
    assert elapsed < MAX_CALL_S + 5, elapsed
    texts = [h.get("text") or "" for h in session.state.history]
    assert any("reached its time limit" in t and "call them back" in t for t in texts), texts
    promised = await world.events(call_id, "callback.promised")  # the wrap-up's offer is the system's promise
    assert [(p.reason, p.to_number) for p in promised] == [("time_limit", GUEST_NUMBER)]
