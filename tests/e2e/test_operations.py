"""Operating the bridge: call control over NATS, DTMF, transfer to a human, and drain on
SIGTERM (no new streams, live calls finish)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from fixline_proto import codec, subjects
from fixline_proto.commands import BridgeCapacity, CommandAck, HangUp, Say

from .harness import AUTH_TOKEN, World, call_id_of, scenario, world_running

FALLBACK = "+15550009999"


async def control(world: World, call_id: str, command) -> CommandAck:
    reply = await world.nc.request(subjects.call_control(call_id), codec.encode(command), timeout=5)
    return codec.decode(reply.data, CommandAck)


async def test_dtmf_and_operator_commands_reach_the_call(world: World):
    sc = scenario({"say": "Press four, then hash."}, {"listen": {"transcript": "", "timeout_s": 10}},
                  {"say": "Thank you."}, {"listen": {"transcript": "", "timeout_s": 10}}, {"say": "Noted."})
    callee = {"steps": [{"dtmf": "4#"}], "max_duration_s": 20}
    opened = len(world.gemini.sessions)
    call = await world.call(sc, callee, wait=False)
    while not call.streams:
        await asyncio.sleep(0.02)
    call_id = call_id_of(call)
    session = await world.gemini.wait_for_session(opened + 1)
    while not any(h.get("text") == "Thank you." for h in session.state.history):
        await asyncio.sleep(0.05)
    history = [h.get("text") or "" for h in session.state.history]
    assert any("4 #" in text for text in history), "DTMF reached the model as text"

    bad = await world.nc.request(subjects.call_control(call_id), b'{"command": "self.destruct"}', timeout=5)
    assert codec.decode(bad.data, CommandAck).ok is False
    assert (await control(world, call_id, Say(call_id=call_id, text="Tell them a plumber is on the way."))).ok
    while not any(h.get("text") == "Noted." for h in session.state.history):
        await asyncio.sleep(0.05)
    assert any("plumber is on the way" in (h.get("text") or "") for h in session.state.history)
    assert (await control(world, call_id, HangUp(call_id=call_id, reason="operator"))).ok
    await call.wait(15)
    await world.idle()
    outcome = await world.events(call_id, "call.outcome")
    assert outcome[0].outcome == "operator_hangup"
    assert any(r[2].get("Status") == "completed" for r in world.twilio.rest_requests if "Calls/" in r[1])


@pytest.fixture(scope="module")
async def private_world(e2e_database, nats_url):
    async with world_running(e2e_database, nats_url, fallback_transfer_number=FALLBACK) as w:
        yield w


async def test_transfer_to_human_redirects_the_call_after_the_message(private_world: World):
    world = private_world
    sc = scenario({"say": "Let me get you a colleague."},
                  {"tool_call": {"name": "transfer_to_human", "args": {"reason": "asked"}}, "wait": True})
    call = await world.call(sc, {"steps": [], "max_duration_s": 20}, timeout=20)
    redirects = [r[2].get("Twiml", "") for r in world.twilio.rest_requests if "Calls/" in r[1]]
    assert redirects and f">{FALLBACK}</Number>" in redirects[-1]  # a warm hand-off (tests/e2e/test_warm_handoff.py)
    assert [e.detail.get("numbers") for e in call.events("dial")] or call.events("redirect")
    assert (await world.events(call_id_of(call), "call.outcome"))[0].outcome == "transferred"


async def test_sigterm_drain_refuses_new_streams_and_lets_live_calls_finish(private_world: World):
    world = private_world
    reports: list[BridgeCapacity] = []

    async def on_report(msg) -> None:
        reports.append(codec.decode(msg.data, BridgeCapacity))

    sub = await world.nc.subscribe(subjects.BRIDGE_CAPACITY, cb=on_report)
    sc = scenario({"say": "Hello, I am still here with you."}, {"listen": "Great."},
                  {"say": "Goodbye for now."}, {"tool_call": {"name": "end_call", "args": {}}, "wait": True})
    call = await world.call(sc, {"steps": [{"say": "Great."}], "max_duration_s": 20}, wait=False)
    while not world.bridge.service.server.calls:
        await asyncio.sleep(0.02)
    world.bridge.stopping.set()  # what SIGTERM does
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(f"{world.bridge.url}/readyz") as resp:
                if resp.status == 503:
                    break
            await asyncio.sleep(0.02)
        url = f"ws://127.0.0.1:{world.bridge_port}/twilio/media"
        sig = RequestValidator(AUTH_TOKEN).compute_signature(url, {})
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await http.ws_connect(url, headers={"X-Twilio-Signature": sig})
        assert exc.value.status == 503
    assert not world.bridge.task.done(), "the bridge waits for its live call"
    await call.wait(20)
    await asyncio.wait_for(world.bridge.task, 10)  # then it stops
    await sub.unsubscribe()
    assert any(r.draining for r in reports)
    outcome = await world.events(call_id_of(call), "call.outcome")
    assert outcome and outcome[0].outcome == "agent_hangup"  # the live call ended normally
    said = [t.text for t in await world.events(call_id_of(call), "transcript.turn") if t.role == "agent"]
    assert "Goodbye for now." in said
