"""AudioTap: plain model-audio frames reach the call straight from websockets' parser while
the receive loop waits with nothing queued; whatever arrives while it is busy, or behind a
queued message, goes through websockets' queue — the call sees the wire's order either way."""

from __future__ import annotations

import asyncio
import base64
import json
from types import SimpleNamespace

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from services.bridge import live_fast
from services.bridge.live_fast import AudioChunk


def audio(n: int) -> str:
    data = base64.b64encode(bytes([n]) * 96).decode()
    return json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": data}}]}}})


INTERRUPTED = json.dumps({"serverContent": {"interrupted": True}})


async def test_audio_is_tapped_when_the_loop_is_idle_and_queued_behind_anything_else():
    seen: list[object] = []
    start, go = asyncio.Event(), asyncio.Event()

    async def server(ws):
        await start.wait()
        await ws.send(audio(1))  # the loop is idle: tapped
        await go.wait()
        # a message the loop handles slowly, then audio while it is busy (the queue empty): it
        # must wait for that message to be handled, and what comes behind it queues too
        await ws.send(INTERRUPTED)
        await asyncio.sleep(0.03)
        await ws.send(audio(2))
        await ws.send(audio(3))
        await asyncio.sleep(0.3)
        await ws.send(audio(4))  # idle again: tapped
        await ws.wait_closed()

    async with serve(server, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as ws:
            session = SimpleNamespace(_ws=ws)
            assert live_fast.AudioTap.supports(session), "websockets moved Assembler.frames: the tap is off"
            tap = live_fast.AudioTap(ws, lambda chunk: seen.append(chunk.pcm[0][0]))

            async def loop():
                async for msg in live_fast.receive(session):
                    if isinstance(msg, AudioChunk):
                        seen.append(msg.pcm[0][0])
                    else:
                        await asyncio.sleep(0.1)  # busy, like a barge-in awaiting its clear
                        seen.append("interrupted")  # handled: only now may later audio reach the call

            reader = asyncio.create_task(loop())
            await asyncio.sleep(0.05)  # the loop now waits in recv()
            start.set()
            for _ in range(200):
                if seen:
                    break
                await asyncio.sleep(0.01)
            go.set()
            for _ in range(200):
                if len(seen) == 5:
                    break
                await asyncio.sleep(0.01)
            reader.cancel()
    assert seen == [1, "interrupted", 2, 3, 4]
    assert tap.tapped == 2  # 1 and 4; 2 and 3 arrived while the loop was busy


async def test_a_failure_in_the_call_surfaces_in_the_receive_loop():
    start = asyncio.Event()

    async def server(ws):
        await start.wait()
        await ws.send(audio(1))
        await ws.wait_closed()

    def broken(chunk):
        raise ValueError("bug in on_audio")

    async with serve(server, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as ws:
            session = SimpleNamespace(_ws=ws)
            live_fast.AudioTap(ws, broken)
            first = asyncio.ensure_future(anext(live_fast.receive(session)))
            await asyncio.sleep(0.05)  # the loop now waits in recv()
            start.set()
            try:
                await asyncio.wait_for(first, 5)
            except ValueError as exc:
                assert "bug in on_audio" in str(exc)
            else:
                raise AssertionError("the failure was swallowed")
