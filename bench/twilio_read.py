"""Thread CPU per Twilio media message delivered to the call: aiohttp's ``receive()`` loop vs
``TwilioSocket``'s tap (the frame handled as it is parsed). Server and a raw client in one
uvloop thread (the client's write is in both figures alike), media frames of Twilio's size,
decoded with the project's codec; medians of alternated rounds.

    python -m bench.twilio_read [--rounds 8] [--messages 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import time

import uvloop
from aiohttp import web

from bench import ws_frames
from services.bridge.codecs import twilio as wire
from services.bridge.twilio_socket import TwilioSocket

MEDIA = json.dumps({"event": "media", "sequenceNumber": "3", "streamSid": "MZ" + "0" * 32,
                    "media": {"track": "inbound", "chunk": "2", "timestamp": "40",
                              "payload": base64.b64encode(b"\xff" * 160).decode()}}).encode()


class Receiver:
    def __init__(self, tapped: bool, expected: int) -> None:
        self.tapped, self.expected, self.got = tapped, expected, 0
        self.done = asyncio.Event()

    def take(self, data: bytes) -> bool:
        self._count(wire.decode(data))
        return True

    def _count(self, msg: object) -> None:
        if isinstance(msg, wire.Media):
            self.got += 1
            if self.got == self.expected:
                self.done.set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = TwilioSocket(max_msg_size=65536)
        await ws.prepare(request)
        tap = ws.media_tap
        assert tap is not None
        while not self.done.is_set():
            if self.tapped:
                tap.take = self.take
            msg = await ws.receive()
            tap.take = None
            if msg.data is None:
                break
            self._count(wire.decode(msg.data))
        return ws


async def one_round(tapped: bool, messages: int) -> float:
    receiver = Receiver(tapped, messages)
    app = web.Application()
    app.router.add_get("/", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(b"0123456789abcdef").decode()
    writer.write(f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    await reader.readuntil(b"\r\n\r\n")
    frame = ws_frames.encode(MEDIA, masked=True)
    t0 = time.thread_time_ns()
    for _ in range(messages):
        writer.write(frame)
        await asyncio.sleep(0)  # the server reads it: one TCP read per frame, as Twilio paces them
    await receiver.done.wait()
    cpu_us = (time.thread_time_ns() - t0) / 1000 / messages
    writer.close()
    await runner.cleanup()
    return cpu_us


async def main_async(rounds: int, messages: int) -> dict[str, float]:
    results: dict[str, list[float]] = {"receive() loop": [], "tap": []}
    for _ in range(rounds):
        results["receive() loop"].append(await one_round(False, messages))
        results["tap"].append(await one_round(True, messages))
    return {name: statistics.median(values) for name, values in results.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--messages", type=int, default=4000)
    args = parser.parse_args(argv)
    medians = uvloop.run(main_async(args.rounds, args.messages))
    for name, us in medians.items():
        print(f"{name:>16}: {us:6.2f} µs of thread CPU per media message (median of {args.rounds})")
    return medians


if __name__ == "__main__":
    main()
