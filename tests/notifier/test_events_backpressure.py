"""A client that cannot keep up is closed; the others keep receiving. Partials coalesce."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import aiohttp

from fixline_proto import events as ev

from .support import ADMIN_TOKEN, create_stream, notifier, open_stream, payload

BIG = "x" * 32_000


async def _stalled_client(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Opens /events and never reads: a tiny receive buffer fills after a few frames."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(f"GET /events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                 f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


def _dropped(svc, reason: str) -> float:
    return svc.runtime.registry.get_sample_value("notifier_sse_dropped_total", {"reason": reason}) or 0.0


async def test_slow_client_is_dropped_while_a_fast_client_receives_everything(nc):
    stream = await create_stream(nc)
    async with notifier(stream, sse_client_queue=8) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url) as fast:
            await fast.events(1)  # snapshot
            slow_reader, slow_writer = await _stalled_client(svc.url)
            while len(svc.service.hub.clients) < 2:
                await asyncio.sleep(0.01)
            published = [await stream.publish(ev.IncidentCreated(
                property_id="p1", incident_id=f"big-{n}", category="other", severity="low", description=BIG))
                for n in range(150)]
            received = await fast.events(150, timeout=20)
            assert [int(m.id) for m in received] == published
            assert _dropped(svc, "slow") == 1
            assert len(svc.service.hub.clients) == 1
            # the stalled socket is closed by the server: draining it ends in EOF (or a reset)
            try:
                async with asyncio.timeout(10):
                    while await slow_reader.read(65536):
                        pass
            except ConnectionResetError:
                pass
            slow_writer.close()


async def test_partial_transcripts_have_no_id_and_finals_do(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url) as reader:
            await reader.events(1)
            for text in ("My", "My sink", "My sink is"):
                await stream.publish(ev.TranscriptTurn(property_id="p1", call_id="c1", role="caller",
                                                       text=text, turn=1, final=False))
            final = await stream.publish(ev.TranscriptTurn(property_id="p1", call_id="c1", role="caller",
                                                           text="My sink is leaking.", turn=1))
            messages = []
            while not messages or messages[-1].id != str(final):
                messages += await reader.events(1)
            partials, last = messages[:-1], messages[-1]
            assert 1 <= len(partials) <= 3 and all(m.id is None for m in partials)
            assert [payload(m)["text"] for m in partials][-1] == "My sink is"
            assert payload(last)["final"] is True
        # a resume never replays partials: only the final turn comes back
        async with open_stream(http, svc.url, params={"since": "0"}) as reader:
            (replayed,) = await reader.events(1)
            assert (replayed.id, payload(replayed)["text"]) == (str(final), "My sink is leaking.")


async def test_heartbeat_comments_keep_an_idle_stream_open(nc):
    stream = await create_stream(nc)
    async with notifier(stream, sse_heartbeat_s=0.2) as svc, aiohttp.ClientSession() as http:
        async with open_stream(http, svc.url) as reader:
            await reader.events(1)
            message = await reader.next(timeout=3, skip_comments=False)
            while message.data is not None:  # skip service heartbeats relayed meanwhile
                message = await reader.next(timeout=3, skip_comments=False)
            assert message.comments == ["ping"]
