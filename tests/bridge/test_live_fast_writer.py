"""AudioWriter: caller audio written straight to the Gemini connection's transport is the
very message websockets' ``send`` would deliver, and it steps aside whenever websockets
must do the sending (flow control, a close under way)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
import uvloop
import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from emulators.tls import TlsBundle
from services.bridge import live_fast
from services.common.runtime import running_loop_kind

MIME = "audio/pcm;rate=16000"
PCM = bytes(range(256)) * 2 + b"\xfb\xff" * 64  # every byte value; '+' and '/' in plain base64


async def received_messages(actions, tls: TlsBundle | None = None, into: list | None = None) -> list[str | bytes]:
    """Run ``actions(session)`` against a real websockets server (over TLS with ``tls``);
    return what it received (appended to ``into`` as it arrives, if given)."""
    got: list[str | bytes] = into if into is not None else []
    done = asyncio.Event()

    async def handler(ws):
        async for message in ws:
            got.append(message)
        done.set()

    async with serve(handler, "127.0.0.1", 0, ssl=tls.server_context() if tls else None) as server:
        port = server.sockets[0].getsockname()[1]
        url = f"{'wss' if tls else 'ws'}://127.0.0.1:{port}"
        async with connect(url, compression=None, ssl=tls.client_context() if tls else None) as ws:
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


LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.mark.parametrize("loop", LOOPS)
def test_over_tls_frames_arrive_exactly_and_interleave_with_websockets_sends_on_either_loop(tmp_path, loop):
    """On asyncio's loop the TLS shortcut (its SSLObject, then the socket transport) is taken
    — if asyncio's private TLS fields moved, ``tls`` is None and this fails by name. uvloop's
    TLS transport is its own (no asyncio ``SSLProtocol`` under it): the writer must see that
    and write the frame to the transport like websockets does. Either way what arrives is byte
    for byte what websockets' own sends deliver, in order. Each case runs on its own loop,
    whatever loop the suite runs on."""
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        received, shortcut, kind = runner.run(_tls_exchange(TlsBundle.create(str(tmp_path))))
    assert kind == loop
    assert shortcut == (loop == "asyncio"), f"TLS shortcut {'off' if loop == 'asyncio' else 'on'} on {loop}"
    assert received == [live_fast.audio_frame(PCM[:n], MIME) for n in (40, 640, 200) for _ in range(2)]


async def _tls_exchange(tls: TlsBundle) -> tuple[list, bool, str]:
    got: list = []
    seen: dict[str, object] = {}

    async def arrived(count: int) -> None:  # on the wire by itself, not flushed by a later send
        for _ in range(500):
            if len(got) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{count - len(got)} frame(s) never reached the server")

    async def actions(session):
        writer = live_fast.AudioWriter(session, MIME)
        seen["shortcut"] = writer.tls is not None
        for k, n in enumerate((40, 640, 200)):
            assert writer.write(PCM[:n])
            await arrived(2 * k + 1)
            await live_fast.send_audio(session, PCM[:n], MIME)

    received = await received_messages(actions, tls, into=got)
    return received, bool(seen["shortcut"]), running_loop_kind()
