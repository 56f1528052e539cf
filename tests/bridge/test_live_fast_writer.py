"""AudioWriter: caller audio written straight to the Gemini connection's transport is the
very message websockets' ``send`` would deliver, and it steps aside whenever websockets
must do the sending (flow control, a close under way)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from services.bridge import live_fast

MIME = "audio/pcm;rate=16000"
PCM = bytes(range(256)) * 2 + b"\xfb\xff" * 64  # every byte value; '+' and '/' in plain base64


async def received_messages(actions) -> list[str | bytes]:
    """Run ``actions(session)`` against a real websockets server; return what it received."""
    got: list[str | bytes] = []
    done = asyncio.Event()

    async def handler(ws):
        async for message in ws:
            got.append(message)
        done.set()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as ws:
            await actions(SimpleNamespace(_ws=ws))
        await asyncio.wait_for(done.wait(), 5)
    return got


async def test_written_frames_are_the_sdk_message_exactly():
    async def actions(session):
        writer = live_fast.AudioWriter(session, MIME)
        assert live_fast.AudioWriter.supports(session)
        assert writer.write(PCM) and writer.write(PCM[:40])
        await live_fast.send_audio(session, PCM, MIME)  # websockets' own path, for comparison

    got = await received_messages(actions)
    assert got == [live_fast.audio_frame(PCM, MIME), live_fast.audio_frame(PCM[:40], MIME),
                   live_fast.audio_frame(PCM, MIME)]
    assert "-" in got[0] and "+" not in got[0]  # url-safe base64, like the SDK


async def test_steps_aside_under_flow_control_and_when_closing():
    async def actions(session):
        writer = live_fast.AudioWriter(session, MIME)
        session._ws.paused = True  # the transport's buffer is full: websockets must drain first
        assert not writer.write(PCM)
        session._ws.paused = False
        assert writer.write(PCM)
        await session._ws.close()
        assert not writer.write(PCM)

    got = await received_messages(actions)
    assert got == [live_fast.audio_frame(PCM, MIME)]


async def test_masks_differ_from_frame_to_frame():
    written: list[bytes] = []
    ws = SimpleNamespace(protocol=SimpleNamespace(state=websockets.protocol.OPEN), paused=False,
                         send_in_progress=None, transport=SimpleNamespace(write=written.append))
    writer = live_fast.AudioWriter(SimpleNamespace(_ws=ws), MIME)
    for _ in range(3):
        writer.write(PCM)
    masks = {frame[4:8] for frame in written}  # 2-byte header + 2-byte length, then the key
    assert len(masks) == 3 and all(frame[1] & 0x80 for frame in written)
