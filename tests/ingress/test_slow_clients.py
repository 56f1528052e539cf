"""Slow and vanishing clients against the real ingress: a body must arrive by the deadline
(408, connection closed), one address may hold only a few unverified requests (429), a
client that disconnects mid-body is one log line — never a traceback — and none of them
keeps a well-behaved sender from being served."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp

from tests.ingress.conftest import TwilioSide, ingress_running, new_sid, report_capacity

DEADLINE_S = 1.0
PER_SOURCE = 4
ATTACKER = "127.0.0.2"   # all of 127/8 is loopback: a second source address on one machine


async def slow_sender(port: int, body_bytes: int = 600) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Headers announcing a form body, then only its first bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
    writer.write(b"POST /twilio/voice HTTP/1.1\r\nHost: ingress\r\nX-Twilio-Signature: x\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: %d\r\n\r\nCallSid=CA" % body_bytes)
    await writer.drain()
    return reader, writer


async def dribble(writers: list[asyncio.StreamWriter]) -> None:
    """One byte every 200 ms per connection: alive, never finished."""
    while True:
        await asyncio.sleep(0.2)
        for w in writers:
            with contextlib.suppress(ConnectionError):
                w.write(b"0")
                await w.drain()


def status_line(raw: bytes) -> str:
    return raw.split(b"\r\n", 1)[0].decode()


def tracebacks(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_slow_bodies_are_cut_at_the_deadline_and_bounded_per_source(nats_url, ingress_database_url, nc,
                                                                         ingress_pool, prop, no_open_calls, caplog):
    caplog.set_level(logging.INFO)
    calls = await ingress_pool.fetchval("SELECT count(*) FROM calls")
    async with ingress_running(nats_url, ingress_database_url, webhook_body_timeout_s=DEADLINE_S,
                               webhook_max_unverified_per_source=PER_SOURCE) as svc:
        slow = [await slow_sender(svc.runtime.port) for _ in range(PER_SOURCE)]
        keep_alive = asyncio.create_task(dribble([w for _, w in slow]))  # noqa: RUF006 - cancelled in finally
        try:
            await asyncio.sleep(0.2)
            reader, writer = await slow_sender(svc.runtime.port)      # one too many from that address
            assert status_line(await asyncio.wait_for(reader.read(), 2)) == "HTTP/1.1 429 Too Many Requests"
            writer.close()
            await report_capacity(nc, svc, active=0, max_calls=5)    # a real sender is served meanwhile
            async with aiohttp.ClientSession() as http:
                status, body = await TwilioSide(http, svc.url).voice(new_sid(), to=prop[1])
            assert status == 200 and "<Connect>" in body
            t0 = asyncio.get_running_loop().time()
            answers = await asyncio.gather(*(asyncio.wait_for(r.read(), DEADLINE_S + 3) for r, _ in slow))
            assert asyncio.get_running_loop().time() - t0 < DEADLINE_S + 2
        finally:
            keep_alive.cancel()
            for _, w in slow:
                w.close()
        assert [status_line(a) for a in answers] == ["HTTP/1.1 408 Request Timeout"] * PER_SOURCE
        assert svc.service.webhooks.sources.in_flight == {}
    assert await ingress_pool.fetchval("SELECT count(*) FROM calls") == calls + 1   # only the real one
    faults = [r for r in caplog.records if r.getMessage() == "webhook dropped: client fault"]
    assert len(faults) == PER_SOURCE
    assert len([r for r in caplog.records if "too many unverified" in r.getMessage()]) == 1
    assert tracebacks(caplog) == []


async def test_a_client_that_disconnects_mid_body_is_one_line_without_a_traceback(ingress, caplog):
    caplog.set_level(logging.INFO)
    _, writer = await slow_sender(ingress.runtime.port)
    await asyncio.sleep(0.1)
    writer.close()
    for _ in range(40):
        faults = [r for r in caplog.records if r.getMessage() == "webhook dropped: client fault"]
        if faults:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    assert len(faults) == 1 and faults[0].reason == "client disconnected while sending the body"
    assert tracebacks(caplog) == []
    assert ingress.service.webhooks.sources.in_flight == {}
