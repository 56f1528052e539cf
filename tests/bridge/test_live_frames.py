"""ServerFrames: whole plain data frames read off the Gemini connection before websockets'
parser. For any byte stream a server sends — hostile or not — a connection with it installed
(through ``AudioTap``, the product path) must end exactly like a connection with websockets
alone: the same messages in the same order, the same close codes and reasons both ways, the
same exception; and the frames it reads itself must really be read there (``taken``)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable

import pytest
import uvloop
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from emulators.tls import TlsBundle
from services.bridge import live_fast
from services.bridge.live_fast import AudioChunk

MAX_SIZE = 4096


def frame(payload: bytes, first: int = 0x81, *, length_form: int = 0, mask: bytes | None = None) -> bytes:
    """A server frame: ``first`` byte (FIN/RSV/opcode), 7/16/64-bit length (forced with
    ``length_form`` 126 or 127 even when shorter would do), optionally masked."""
    n = len(payload)
    if length_form == 127 or n > 65535:
        head = bytes((first, 127 | (0x80 if mask else 0))) + n.to_bytes(8, "big")
    elif length_form == 126 or n > 125:
        head = bytes((first, 126 | (0x80 if mask else 0))) + n.to_bytes(2, "big")
    else:
        head = bytes((first, n | (0x80 if mask else 0)))
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def close(code: int = 1000, reason: bytes = b"bye") -> bytes:
    return frame(code.to_bytes(2, "big") + reason, 0x88)


A, B, C = frame(b'{"a":1}'), frame(b'{"b":2}' * 30), frame(b"\x00\x01binary", 0x82)
P = frame(b"\x81\x03abc" * 40, 0x82)  # a payload that reads like frames
HUGE = bytes((0x81, 127)) + (2**62).to_bytes(8, "big")  # 4 EiB announced, nothing follows

CASES: dict[str, list[bytes]] = {  # chunks the server writes, each on its own after a pause
    "plain frames, 7/16/64-bit lengths, then a close": [A + B + C + frame(b"x" * 9, length_form=127), close()],
    "a frame split across writes at the header and in the payload": [A + B[:1], B[1:3], B[3:50], B[50:] + C, close()],
    "a frame short by two bytes, the rest in the next write": [A + B[:-2], B[-2:], C, close()],
    "a payload that reads like frames, starting a write": [A + P[:4], P[4:], C, close()],
    "truncated header, then the connection ends": [A + b"\x81"],
    "truncated payload, then the connection ends": [A + B[:40]],
    "huge announced length": [A + HUGE],
    "length just above max_size": [A + frame(b"y" * (MAX_SIZE + 1)), close()],
    "masked server frame": [A + frame(b"masked", mask=b"\x01\x02\x03\x04") + B + C, close()],
    "reserved bit 1": [A + frame(b"rsv", 0xC1) + C, close()],
    "reserved bit 3": [A + frame(b"rsv", 0x91), close()],
    "unknown opcode": [A + frame(b"what", 0x83), close()],
    "fragments with a ping between them": [A + frame(b"abc", 0x01) + frame(b"", 0x89) + frame(b"def", 0x80) + C,
                                           close()],
    "a whole data frame inside a fragmented message": [frame(b"abc", 0x01) + A + frame(b"def", 0x80), close()],
    "a whole data frame opening the next write, inside a fragmented message": [frame(b"abc", 0x01),
                                                                               A + frame(b"def", 0x80), close()],
    "continuation without a start": [A + frame(b"def", 0x80), close()],
    "fragments across writes": [frame(b"abc", 0x01), frame(b"def", 0x80) + A, close()],
    "close in the middle of a chunk": [A + close(4000, b"mid") + B + C],
    "close with a bad code": [A + close(999)],
    "oversized ping": [A + frame(b"p" * 126, 0x89), close()],
    "fragmented ping": [A + frame(b"p", 0x09), close()],
    "pong, unsolicited": [A + frame(b"?", 0x8A) + C, close()],
    "non-minimal 16-bit length of a short frame": [frame(b'{"c":3}', length_form=126) + A, close()],
}


async def outcome(chunks: list[bytes], with_frames: bool, tls: TlsBundle | None) -> tuple[list, tuple, int]:
    """What a websockets client gets from a server that writes ``chunks`` raw after the
    handshake: its messages, how it closed, and how many frames ServerFrames read."""
    server_saw: list = []

    async def handler(ws):
        await ws.recv()  # the client is ready (ServerFrames installed or not)
        for chunk in chunks:
            ws.transport.write(chunk)
            await asyncio.sleep(0.02)
        try:
            await asyncio.wait_for(ws.wait_closed(), 1)
        except TimeoutError:
            ws.transport.close()  # the stream ends without a close frame
        server_saw.append(ws.close_code)

    async with serve(handler, "127.0.0.1", 0, ssl=tls.server_context() if tls else None) as server:
        port = server.sockets[0].getsockname()[1]
        url = f"{'wss' if tls else 'ws'}://127.0.0.1:{port}"
        async with connect(url, compression=None, max_size=MAX_SIZE, ssl=tls.client_context() if tls else None) as ws:
            tap = live_fast.AudioTap(ws, lambda chunk: None) if with_frames else None
            assert tap is None or tap.server_frames is not None, "ServerFrames not installed"
            await ws.send("go")
            messages: list = []
            try:
                while True:
                    messages.append(await asyncio.wait_for(ws.recv(), 3))  # text as str: the opcode counts
            except Exception as exc:  # noqa: BLE001 - the ending is what is compared
                ending = (type(exc).__name__, str(exc), ws.close_code, ws.close_reason)
        await asyncio.sleep(0.05)
    return messages, (ending, server_saw), tap.server_frames.taken if tap and tap.server_frames else 0


LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop,
                                                             "uvloop": uvloop.new_event_loop}


@pytest.mark.parametrize("case", CASES)
def test_any_server_stream_ends_exactly_as_with_websockets_alone(case):
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        alone, ending_alone, _ = runner.run(outcome(CASES[case], False, None))
        fast, ending_fast, taken = runner.run(outcome(CASES[case], True, None))
    assert fast == alone
    assert ending_fast == ending_alone
    assert ending_alone[0][0] in ("ConnectionClosedOK", "ConnectionClosedError")
    leading_whole = CASES[case][0][:1] == b"\x81"
    assert (taken > 0) == leading_whole, f"{taken} frame(s) read by ServerFrames"


@pytest.mark.parametrize("loop", LOOPS)
def test_over_tls_on_either_loop_frames_are_read_before_websockets(tmp_path, loop):
    tls = TlsBundle.create(str(tmp_path))
    chunks = CASES["a frame split across writes at the header and in the payload"]
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        alone, ending_alone, _ = runner.run(outcome(chunks, False, tls))
        fast, ending_fast, taken = runner.run(outcome(chunks, True, tls))
    assert fast == alone and ending_fast == ending_alone
    assert len(alone) == 3 and taken >= 1  # A at least (how TCP groups the rest is the OS's)


async def test_after_a_frame_split_across_chunks_websockets_finishes_it_then_frames_are_read_here_again():
    """Chunk by chunk, without the network's timing: a chunk that starts or ends inside a
    frame goes to websockets whole (with what follows it in the chunk); the next chunk that
    finds websockets' parser between frames is read here again."""
    async def handler(ws):
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None, max_size=MAX_SIZE) as ws:
            tap = live_fast.AudioTap(ws, lambda chunk: None)
            frames = tap.server_frames
            assert frames is not None
            # A; B in pieces, then A behind B's end; C alone; A + C; P's frame-like payload from its
            # start (websockets reads it: P is mid-frame), then C
            expected_taken = (1, 1, 1, 1, 2, 4, 4, 4, 5)
            chunks = (A + B[:1], B[1:3], B[3:50], B[50:] + A, C, A + C, P[:4], P[4:], C)
            for chunk, taken in zip(chunks, expected_taken, strict=True):
                ws.data_received(chunk)
                assert frames.taken == taken
            received = [await ws.recv(decode=False) for _ in range(8)]
    a, b, c = b'{"a":1}', b'{"b":2}' * 30, b"\x00\x01binary"
    assert received == [a, b, a, c, a, c, b"\x81\x03abc" * 40, c]


async def test_installed_while_websockets_is_inside_a_frame_it_waits_for_the_frame_to_end():
    async def handler(ws):
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None, max_size=MAX_SIZE) as ws:
            ws.data_received(B[:100])  # websockets now holds half a frame
            tap = live_fast.AudioTap(ws, lambda chunk: None)
            assert tap.server_frames is not None
            ws.data_received(B[100:] + A)
            assert tap.server_frames.taken == 0
            ws.data_received(C)
            assert tap.server_frames.taken == 1
            received = [await ws.recv(decode=False) for _ in range(3)]
    assert received == [b'{"b":2}' * 30, b'{"a":1}', b"\x00\x01binary"]


def audio(n: int) -> bytes:
    data = base64.b64encode(bytes([n]) * 96).decode()
    return json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": data}}]}}}).encode()


async def test_model_audio_read_here_reaches_the_call_and_a_busy_loop_still_gets_wire_order():
    delivered: list[object] = []
    start = asyncio.Event()

    async def handler(ws):
        await start.wait()
        ws.transport.write(frame(audio(1)) + frame(audio(2)))  # the loop idles: both to the call
        await asyncio.sleep(0.05)
        ws.transport.write(frame(b'{"setupComplete": {}}') + frame(audio(3)))  # audio 3 queues behind it
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as ws:
            tap = live_fast.AudioTap(ws, lambda chunk: delivered.append(chunk.pcm[0][0]))
            messages = live_fast.receive(type("Session", (), {"_ws": ws})())
            first = asyncio.ensure_future(anext(messages))
            await asyncio.sleep(0.05)
            start.set()
            setup = await asyncio.wait_for(first, 5)
            delivered.append("setup")
            third = await asyncio.wait_for(anext(messages), 5)
            assert isinstance(third, AudioChunk)
            delivered.append(third.pcm[0][0])
    assert setup.setup_complete is not None
    assert delivered == [1, 2, "setup", 3]
    assert tap.server_frames is not None and tap.server_frames.taken == 4 and tap.tapped == 2
