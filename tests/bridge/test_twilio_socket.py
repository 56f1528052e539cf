"""TwilioSocket: text frames handed to ``take`` as aiohttp parses them, only while the reader
waits with nothing queued; whatever ``take`` declines, or whatever arrives while something is
queued, reaches ``receive()`` in wire order. A real aiohttp server and client over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from services.bridge.twilio_socket import MediaTap, TwilioSocket


def media(n: int) -> str:
    return json.dumps({"event": "media", "media": {"payload": "AAAA"}, "n": n})


def mark(n: int) -> str:
    return json.dumps({"event": "mark", "n": n})


class Server:
    """One TwilioSocket per connection; ``sockets`` has them as they are prepared."""

    def __init__(self) -> None:
        self.sockets: asyncio.Queue[TwilioSocket] = asyncio.Queue()
        self.done = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = TwilioSocket(max_msg_size=4096)
        await ws.prepare(request)
        await self.sockets.put(ws)
        await self.done.wait()
        await ws.close()
        return ws


@contextlib.asynccontextmanager
async def connected():
    server = Server()
    app = web.Application()
    app.router.add_get("/", server.handle)
    async with TestServer(app) as http_server, aiohttp.ClientSession() as session:
        async with session.ws_connect(http_server.make_url("/")) as client:
            ws = await asyncio.wait_for(server.sockets.get(), 5)
            try:
                yield client, ws
            finally:
                server.done.set()


async def settle(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def n_of(data: bytes | str) -> int:
    return json.loads(data)["n"]


async def test_the_queue_is_a_media_tap_and_text_comes_as_bytes():
    async with connected() as (client, ws):
        assert isinstance(ws.media_tap, MediaTap)
        await client.send_str(mark(1))
        msg = await ws.receive(timeout=5)
        assert msg.type is WSMsgType.TEXT and msg.data == mark(1).encode()


async def test_media_is_taken_while_the_reader_waits_and_the_rest_is_received_in_order():
    taken: list[int] = []

    def take(data: bytes) -> bool:
        if b'"media"' not in data:
            return False
        taken.append(n_of(data))
        return True

    async with connected() as (client, ws):
        tap = ws.media_tap
        assert tap is not None
        tap.take = take
        reading = asyncio.ensure_future(ws.receive(timeout=5))
        for n in range(5):
            await client.send_str(media(n))
        await client.send_str(mark(5))
        msg = await reading
        assert n_of(msg.data) == 5 and taken == [0, 1, 2, 3, 4] and tap.taken == 5
        tap.take = None  # the reader is busy with the mark: frames queue behind it
        for n in range(6, 9):
            await client.send_str(media(n))
        await settle(lambda: len(tap._buffer) == 3)
        tap.take = take  # waiting again, but three frames are queued: nothing may jump them
        await client.send_str(media(9))
        await settle(lambda: len(tap._buffer) == 4)
        received = [n_of((await ws.receive(timeout=5)).data) for _ in range(4)]
        assert received == [6, 7, 8, 9] and taken == [0, 1, 2, 3, 4]
        await client.send_str(media(10))
        await settle(lambda: taken[-1] == 10)  # queue empty again: taken on arrival


async def test_without_take_every_frame_is_received():
    async with connected() as (client, ws):
        for n in range(3):
            await client.send_str(media(n))
        assert [n_of((await ws.receive(timeout=5)).data) for _ in range(3)] == [0, 1, 2]
        assert ws.media_tap is not None and ws.media_tap.taken == 0


async def test_a_failure_in_take_ends_the_stream_and_is_kept():
    def take(data: bytes) -> bool:
        raise ValueError("resampler bug")

    async with connected() as (client, ws):
        tap = ws.media_tap
        assert tap is not None
        tap.take = take
        await client.send_str(media(1))
        msg = await ws.receive(timeout=5)
        assert msg.type is WSMsgType.ERROR and isinstance(tap.error, ValueError) and tap.taken == 0


async def test_an_oversized_frame_still_closes_with_1009():
    async with connected() as (client, ws):
        tap = ws.media_tap
        assert tap is not None
        tap.take = lambda data: True
        await client.send_str(json.dumps({"event": "media", "pad": "x" * 5000}))
        msg = await ws.receive(timeout=5)
        assert msg.type is WSMsgType.ERROR and msg.data.code == 1009 and tap.taken == 0
