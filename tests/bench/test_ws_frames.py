"""The load generators' WebSocket framing: frames split anywhere across reads come out
whole, masked frames unmask to what was sent, and pre-encoded client frames (zero mask)
are what a real server reads."""

from __future__ import annotations

import asyncio
import os

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from bench import ws_frames as wsf


def test_frames_split_across_reads_come_out_whole():
    messages = [b"x" * 5, b"y" * 300, b"z" * 70_000]  # the three length encodings
    wire = b"".join(wsf.encode(m) for m in messages) + wsf.encode(b"\x03\xe8", wsf.CLOSE)
    reader, got = wsf.FrameReader(), []
    for i in range(0, len(wire), 7):
        got += reader.feed(wire[i:i + 7])
    assert [(op, payload) for op, payload, _ in got] == [(wsf.TEXT, m) for m in messages] + [(wsf.CLOSE, b"\x03\xe8")]


def test_masked_frames_unmask_to_the_payload():
    payload, key = os.urandom(333), b"\x01\x02\x03\x04"
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    frame = bytes((0x81, 0x80 | 126)) + len(payload).to_bytes(2, "big") + key + masked
    [(opcode, data, got_key)] = wsf.FrameReader().feed(frame)
    assert opcode == wsf.TEXT and got_key == key and wsf.unmask(data, got_key) == payload


async def test_a_pre_encoded_zero_mask_frame_is_read_by_a_real_server():
    received = []

    async def handler(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            received.append((msg.type, msg.data))
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    async with TestServer(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        key = wsf.client_key()
        writer.write(f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101") and wsf.accept_for(key).encode() in head
        writer.write(wsf.encode(b'{"event":"media"}', masked=True) + wsf.encode(b"\x03\xe8", wsf.CLOSE, masked=True))
        await reader.read()  # the server answers the close and hangs up
        writer.close()
    assert received == [(WSMsgType.TEXT, '{"event":"media"}')]
