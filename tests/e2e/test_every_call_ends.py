"""Every call ends: an inbound call whose number sends no status callback is ended once its
media stream is over (no phantom live call); a status callback, when it comes, still wins."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from fixline.devstack import free_port

from .harness import AUTH_TOKEN, GUEST_NUMBER, P1_NUMBER, World, call_id_of, scenario, world_running

GRACE_S = 1.0
SHORT_CALL = scenario({"say": "Hello, Fixline here. Goodbye."},
                      {"tool_call": {"name": "end_call", "args": {"reason": "done"}}, "wait": True})


@pytest.fixture(scope="module")
async def world(e2e_database, nats_url) -> AsyncIterator[World]:
    overrides = {"stream_end_grace_s": GRACE_S, "stream_end_consumer": f"stream-end-{uuid.uuid4().hex[:8]}"}
    async with world_running(e2e_database, nats_url, ingress_overrides=overrides) as w:
        yield w


async def _row_when_ended(world: World, call_id: str, timeout: float = 15.0):
    for _ in range(int(timeout / 0.1)):
        row = await world.pool.fetchrow("SELECT status, started_at, ended_at, end_reason FROM calls WHERE id = $1",
                                        call_id)
        if row and row["ended_at"] is not None:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {call_id} is still live in `calls`: {dict(row) if row else None}")


async def test_an_inbound_call_without_status_callback_ends_when_its_stream_stops(world: World):
    call = await world.call(SHORT_CALL, {"steps": [], "max_duration_s": 20}, timeout=20)
    call_id = call_id_of(call)
    assert [c["kind"] for c in call.callbacks if c["kind"] == "status"] == []  # the number sends none
    row = await _row_when_ended(world, call_id)
    assert row["end_reason"] == "stream-ended" and row["status"] == "completed"
    assert row["started_at"] is not None and row["ended_at"] >= row["started_at"]
    ended = await world.events(call_id, "call.ended")
    assert len(ended) == 1 and ended[0].reason == "stream-ended" and ended[0].duration_s > 0


async def _late_relay(target: str, delay_s: float) -> tuple[web.AppRunner, str]:
    """Status callbacks reach ingress ``delay_s`` late (Twilio does not promise an order);
    re-signed for ingress's URL as Twilio would sign a callback sent there."""
    async def relay(request: web.Request) -> web.Response:
        form = dict(await request.post())
        await asyncio.sleep(delay_s)
        signature = RequestValidator(AUTH_TOKEN).compute_signature(target, form)
        async with aiohttp.ClientSession() as http:
            await http.post(target, data=form, headers={"X-Twilio-Signature": signature})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/status", relay)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/status"


async def test_a_status_callback_still_wins(world: World):
    """The callback comes after the stream ended but within the grace: its reason is kept."""
    runner, relay_url = await _late_relay(f"{world.ingress.url}/twilio/status", delay_s=GRACE_S * 0.6)
    world.gemini.queue_scenario(SHORT_CALL)
    try:
        call = await world.twilio.place_inbound_call(
            to=P1_NUMBER, from_=GUEST_NUMBER, voice_url=f"{world.ingress.url}/twilio/voice",
            callee_script={"steps": [], "max_duration_s": 20}, status_callback=relay_url)
        await call.wait(20)
        await world.idle()
        await asyncio.sleep(GRACE_S)
    finally:
        await runner.cleanup()
    call_id = call_id_of(call)
    assert [c["params"]["CallStatus"] for c in call.callbacks if c["kind"] == "status"] == ["completed"]
    await _row_when_ended(world, call_id)
    await asyncio.sleep(GRACE_S + 1.5)  # the stream-end path had its turn and did nothing
    row = await world.pool.fetchrow("SELECT status, end_reason FROM calls WHERE id = $1", call_id)
    assert (row["status"], row["end_reason"]) == ("completed", "completed")
    ended = await world.events(call_id, "call.ended")
    assert [e.reason for e in ended] == ["completed"]
