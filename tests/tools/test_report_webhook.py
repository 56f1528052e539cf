"""The report webhook against a real local aiohttp receiver: signed, retried with back-off
after 5xx, and never sent twice once delivered (also across a restart of the sender)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from fixline_proto.base import new_id
from fixline_proto.events import CallReport
from services.tools.records.report import store
from services.tools.records.webhook import SIGNATURE_HEADER, WebhookSender, signature, verify
from services.tools.records.wiring import check_settings
from tests.support.services import settings_for

from .call_rows import insert_call

SECRET = "whsec-test-0123456789"


@dataclass
class Receiver:
    fail_first: int = 0                                     # answer 500 to this many requests
    requests: list[tuple[dict[str, str], bytes, float]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read(), time.monotonic()))
        if len(self.requests) <= self.fail_first:
            return web.json_response({"error": "try later"}, status=500)
        return web.json_response({"ok": True})

    def of(self, report_id: str) -> list[tuple[dict[str, str], bytes, float]]:
        return [r for r in self.requests if r[0].get("Idempotency-Key") == report_id]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/fixline", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.url = f"http://127.0.0.1:{port}/hooks/fixline"
    yield rec
    await runner.cleanup()


async def a_report(pool: asyncpg.Pool) -> CallReport:
    call_id = await insert_call(pool)
    event = CallReport(property_id="p1", report_id=new_id(), call_id=call_id, call_type="guest",
                       direction="inbound", outcome="resolved_by_troubleshooting", summary="Wifi reset explained.")
    assert await store(pool, event, deliver=True)
    return event


@contextlib.asynccontextmanager
async def sender_running(pool: asyncpg.Pool, url: str, **options: float) -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(pool, url, SECRET, max_attempts=int(options.pop("max_attempts", 8)),
                           backoff_s=options.pop("backoff_s", 0.2), poll_s=0.05,
                           counter=Counter("attempts", "webhook attempts", ["result"], registry=CollectorRegistry()))
    task = asyncio.create_task(sender.run())
    try:
        yield sender
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def delivery(pool: asyncpg.Pool, report_id: str) -> asyncpg.Record:
    async with pool.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM call_report_deliveries WHERE report_id = $1", report_id)


async def test_the_signature_verifies_and_the_body_is_the_report(pool, receiver: Receiver):
    report = await a_report(pool)
    async with sender_running(pool, receiver.url):
        await until(lambda: _delivered(pool, report.report_id))
    [(headers, body, _)] = receiver.of(report.report_id)
    assert json.loads(body)["report_id"] == report.report_id and json.loads(body)["type"] == "call.report"
    assert headers["Fixline-Report-Id"] == report.report_id
    assert verify(SECRET, headers[SIGNATURE_HEADER], body)
    assert not verify(SECRET, headers[SIGNATURE_HEADER], body.replace(b"Wifi", b"WiFi")), "a changed body fails"
    assert not verify("another-secret", headers[SIGNATURE_HEADER], body)
    stamp = int(headers[SIGNATURE_HEADER].split(",")[0][2:])
    assert not verify(SECRET, headers[SIGNATURE_HEADER], body, now=stamp + 3600), "an old signature is refused"
    assert not verify(SECRET, "t=abc,v1=00", body) and not verify(SECRET, "", body)
    assert signature(SECRET, stamp, body) == headers[SIGNATURE_HEADER]


async def _delivered(pool: asyncpg.Pool, report_id: str) -> bool:
    row = await delivery(pool, report_id)
    return row is not None and row["delivered_at"] is not None


async def test_5xx_is_retried_with_back_off_then_delivered_once(pool, receiver: Receiver):
    receiver.fail_first = 2
    report = await a_report(pool)
    async with sender_running(pool, receiver.url, backoff_s=0.3) as sender:
        await until(lambda: _delivered(pool, report.report_id))
        await asyncio.sleep(0.5)  # nothing more is sent after the 2xx
    attempts = receiver.of(report.report_id)
    assert len(attempts) == 3
    assert {h["Idempotency-Key"] for h, _, _ in attempts} == {report.report_id}
    gaps = [b[2] - a[2] for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= 0.25 and gaps[1] >= 0.55, f"back-off doubles: {gaps}"
    counter = sender.counter
    row = await delivery(pool, report.report_id)
    assert (row["attempts"], row["last_status"], row["last_error"]) == (3, 200, "")
    assert counter.labels("failed")._value.get() >= 2 and counter.labels("delivered")._value.get() >= 1


async def test_a_restart_does_not_resend_a_delivered_report(pool, receiver: Receiver):
    receiver.fail_first = 1
    report = await a_report(pool)
    async with sender_running(pool, receiver.url, backoff_s=0.3):   # first process: one 500, then stopped
        await until(lambda: _attempted(pool, report.report_id))
    assert len(receiver.of(report.report_id)) == 1
    async with sender_running(pool, receiver.url, backoff_s=0.3):   # restarted: retries, delivers
        await until(lambda: _delivered(pool, report.report_id))
    async with pool.acquire() as conn:   # long after (every lease and back-off has passed)
        await conn.execute("UPDATE call_report_deliveries SET next_attempt = now() - interval '1 hour'"
                           " WHERE report_id = $1", report.report_id)
    async with sender_running(pool, receiver.url, backoff_s=0.3):   # restarted again: nothing to send
        await asyncio.sleep(0.6)
    assert len(receiver.of(report.report_id)) == 2


async def _attempted(pool: asyncpg.Pool, report_id: str) -> bool:
    row = await delivery(pool, report_id)
    return row is not None and row["attempts"] >= 1


async def test_gives_up_after_the_attempts_and_survives_a_dead_receiver(pool, receiver: Receiver):
    report = await a_report(pool)
    dead = "http://127.0.0.1:9/nothing-listens"
    async with sender_running(pool, dead, backoff_s=0.05, max_attempts=3):
        await until(lambda: _attempts_are(pool, report.report_id, 3))
        await asyncio.sleep(0.4)
    row = await delivery(pool, report.report_id)
    assert row["attempts"] == 3 and row["delivered_at"] is None and row["last_status"] is None
    assert "Error" in row["last_error"]


async def _attempts_are(pool: asyncpg.Pool, report_id: str, n: int) -> bool:
    row = await delivery(pool, report_id)
    return row is not None and row["attempts"] >= n


def test_a_webhook_without_a_secret_is_refused_at_start():
    with pytest.raises(ValueError, match="REPORT_WEBHOOK_SECRET"):
        WebhookSender(None, "http://127.0.0.1:1/x", "")  # type: ignore[arg-type]



def test_the_tools_service_refuses_a_webhook_without_secret_or_scheme():
    with pytest.raises(ValueError, match="REPORT_WEBHOOK_SECRET"):
        check_settings(settings_for("tools", report_webhook_url="https://example.test/hook"))
    with pytest.raises(ValueError, match="http"):
        check_settings(settings_for("tools", report_webhook_url="ftp://x", report_webhook_secret=SECRET))
    check_settings(settings_for("tools", report_webhook_url="https://example.test/hook", report_webhook_secret=SECRET))
