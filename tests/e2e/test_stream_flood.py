"""Signed upgrades that never send ``start`` (the upgrade signature is the same for every
call, so anyone who saw one can replay it): closed at the start deadline, never counted
against capacity or readiness, and a real call during the flood connects."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from .harness import World, scenario, world_running
from .wire_client import bridge_url, closed_with, upgrade_headers

START_TIMEOUT_S = 1.0
MAX_PENDING = 10
MAX_CALLS = 2


@pytest.fixture(scope="module")
async def world(e2e_database, nats_url) -> AsyncIterator[World]:
    async with world_running(e2e_database, nats_url, media_start_timeout_s=START_TIMEOUT_S,
                             media_max_pending=MAX_PENDING, max_calls=MAX_CALLS) as w:
        yield w


async def idle_upgrade(http: aiohttp.ClientSession, world: World) -> aiohttp.ClientWebSocketResponse:
    url = bridge_url(world.bridge_port)
    ws = await http.ws_connect(url, headers=upgrade_headers(url))
    await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    return ws


async def ready(world: World) -> bool:
    async with aiohttp.ClientSession() as http, http.get(f"{world.bridge.url}/readyz") as resp:
        return resp.status == 200


async def test_idle_upgrades_are_closed_at_the_deadline_and_never_count(world: World):
    server = world.bridge.service.server
    evicted = world.metrics.rejected_upgrades.labels("evicted")._value.get()
    async with aiohttp.ClientSession() as http:
        t0 = asyncio.get_running_loop().time()
        idle = [await idle_upgrade(http, world) for _ in range(3 * MAX_PENDING)]
        assert len(server.pending) <= MAX_PENDING
        assert world.metrics.rejected_upgrades.labels("evicted")._value.get() - evicted >= 2 * MAX_PENDING
        assert server.active == 0 and server.capacity().active_calls == 0 and await ready(world)
        codes = await asyncio.gather(*(closed_with(ws, timeout=5 * START_TIMEOUT_S) for ws in idle))
        assert codes == [1008] * len(idle)
        assert asyncio.get_running_loop().time() - t0 < START_TIMEOUT_S + 3.0
        for ws in idle:
            await ws.close()
    await _until(lambda: not server.pending)
    assert world.ingress.service.capacity.snapshot().free_slots == MAX_CALLS


async def test_a_real_call_connects_during_a_flood_of_idle_upgrades(world: World):
    async with aiohttp.ClientSession() as http, flooding(http, world) as opened:
        await _until(lambda: opened[0] > 2 * MAX_PENDING)
        assert await ready(world)
        before = opened[0]
        call = await world.call(scenario({"say": "Hello, how can I help?"}), {"steps": [], "max_duration_s": 3},
                                timeout=20)
        assert call.streams and call.stream.received_audio, "the real call was bridged, not sent to overflow"
        assert opened[0] > before + MAX_PENDING, "the flood was still on during the call"
    outcomes = await world.events(call.streams[0].custom_parameters["call_id"], "call.outcome")
    assert len(outcomes) == 1


@contextlib.asynccontextmanager
async def flooding(http: aiohttp.ClientSession, world: World):
    """Keep opening idle upgrades (about one per 10 ms) until the block ends."""
    opened = [0]
    sockets: list[aiohttp.ClientWebSocketResponse] = []

    async def flood() -> None:
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                sockets.append(await idle_upgrade(http, world))
                opened[0] += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(flood())
    try:
        yield opened
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for ws in sockets:
            await ws.close()


async def _until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
