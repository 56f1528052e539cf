"""On a model without NON_BLOCKING tools (GEMINI_NON_BLOCKING_TOOLS=off, as for 3.1 flash
live) the caller's audio is held while a function call is pending and let through once it
is answered: the caller's next words still reach Gemini and the call goes on."""

from __future__ import annotations

import pytest

from .harness import World, call_id_of, scenario, world_running

QUESTION = "Is the engineer coming today?"


@pytest.fixture(scope="module")
async def blocking_tools(e2e_database, nats_url):
    async with world_running(e2e_database, nats_url, gemini_non_blocking_tools="off") as w:
        yield w


async def test_audio_held_during_a_blocking_call_flows_again_after_its_answer(blocking_tools: World):
    world = blocking_tools
    sc = scenario(
        {"say": "Hello, how can I help?"},
        {"listen": "My kitchen sink is leaking."},
        {"tool_call": {"name": "search_maintenance", "args": {"query": "kitchen sink leak"}}, "wait": True},
        {"say": "Please turn off the valve under the sink."},
        {"listen": QUESTION},
        {"say": "Yes, this afternoon."},
    )
    callee = {"steps": [{"say": "My kitchen sink is leaking."}, {"say": QUESTION}], "max_duration_s": 30}
    call = await world.call(sc, callee, timeout=40)
    await world.idle()
    session = next(s for s in world.gemini.sessions if s.state.scenario.name == sc["name"])
    assert [r["name"] for r in session.tool_responses] == ["search_maintenance"]
    turns = [(t.role, t.text) for t in await world.events(call_id_of(call), "transcript.turn")]
    assert ("caller", QUESTION) in turns, turns  # heard after the answer: the gate reopened
    assert ("agent", "Yes, this afternoon.") in turns, turns
