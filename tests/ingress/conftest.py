"""Ingress fixtures: a private database (admission counts every open call in it, so other
tests' calls must not leak in), a running ingress, a signing Twilio-side HTTP client and
bridge capacity reports over real NATS."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from twilio.request_validator import RequestValidator

from fixline.db.provision import provision_database
from fixline_proto import encode, subjects
from fixline_proto.commands import BridgeCapacity
from services.common import db
from services.ingress.app import IngressService
from tests.support.events import stream_events
from tests.support.services import RunningService, running, settings_for

AUTH_TOKEN = "ingress-test-auth-token"
MEDIA_SECRET = "ingress-test-media-secret"
PUBLIC = "https://ingress.fixline.test"
P1_NUMBER = "+15550100001"


@pytest.fixture(scope="session")
async def ingress_database_url(stack) -> str:
    return await provision_database(stack.database_url, f"fixline_ingress_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
async def ingress_pool(ingress_database_url) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(ingress_database_url, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def no_open_calls(ingress_pool) -> None:
    """Admission tests start with no reserved slots (our private database only)."""
    await ingress_pool.execute("UPDATE calls SET ended_at = now() WHERE ended_at IS NULL")


@pytest.fixture
async def prop(ingress_pool) -> tuple[str, str]:
    """A property of its own (id, phone number), so this test's events are easy to find."""
    property_id = f"px{uuid.uuid4().hex[:10]}"
    number = "+1555" + str(uuid.uuid4().int)[:7]
    async with ingress_pool.acquire() as conn:
        await conn.execute("INSERT INTO properties (id, name) VALUES ($1, $2)", property_id, "Test Flat")
        await conn.execute("INSERT INTO property_phone_numbers (phone_number, property_id) VALUES ($1, $2)",
                           number, property_id)
    return property_id, number


class TwilioSide:
    """Posts webhooks the way Twilio does: form-encoded, signed over the public URL."""

    def __init__(self, http: aiohttp.ClientSession, local_url: str, token: str = AUTH_TOKEN) -> None:
        self.http = http
        self.local_url = local_url
        self.validator = RequestValidator(token)

    def sign(self, path_qs: str, params: dict[str, str]) -> str:
        return self.validator.compute_signature(PUBLIC + path_qs, params)

    async def post(self, path_qs: str, params: dict[str, str], *, signature: str | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, str]:
        sig = self.sign(path_qs, params) if signature is None else signature
        hdrs = {"X-Twilio-Signature": sig} if sig else {}
        hdrs.update(headers or {})
        async with self.http.post(self.local_url + path_qs, data=params, headers=hdrs) as resp:
            return resp.status, await resp.text()

    async def voice(self, sid: str, to: str = P1_NUMBER, from_: str = "+15557770000", query: str = "",
                    **extra: str) -> tuple[int, str]:
        params = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": from_, "To": to,
                  "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01", **extra}
        return await self.post("/twilio/voice" + query, params)


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


@contextlib.asynccontextmanager
async def ingress_running(nats_url: str, database_url: str, **overrides: object) -> AsyncIterator[RunningService]:
    values = {"nats_url": nats_url, "database_url": database_url, "public_base_url": PUBLIC,
              "twilio_auth_token": AUTH_TOKEN, "media_token_secret": MEDIA_SECRET, "twilio_account_sid": "",
              "outbox_poll_interval_s": 0.2, **overrides}
    port = values.pop("http_port", 0)
    settings = dataclasses.replace(settings_for("ingress", **values), http_port=port)
    async with running(IngressService(), settings) as svc:
        yield svc


@pytest.fixture
async def ingress(nats_url, ingress_database_url) -> AsyncIterator[RunningService]:
    async with ingress_running(nats_url, ingress_database_url) as svc:
        yield svc


@pytest.fixture
async def twilio(ingress) -> AsyncIterator[TwilioSide]:
    async with aiohttp.ClientSession() as http:
        yield TwilioSide(http, ingress.url)


async def report_capacity(nc, svc: RunningService, *, active: int, max_calls: int, draining: bool = False,
                          bridge_id: str | None = None) -> str:
    """Publish a bridge report and wait until the ingress has taken it in."""
    bridge_id = bridge_id or f"bridge-{uuid.uuid4().hex[:6]}"
    report = BridgeCapacity(bridge_id=bridge_id, active_calls=active, max_calls=max_calls, draining=draining)
    table = svc.service.capacity
    before = table._latest.get(bridge_id)
    await nc.publish(subjects.BRIDGE_CAPACITY, encode(report))
    await nc.flush()
    for _ in range(200):
        seen = table._latest.get(bridge_id)
        if seen is not None and seen is not before:
            return bridge_id
        await asyncio.sleep(0.01)
    raise AssertionError("the ingress never saw the capacity report")


async def events_for_call(nc, property_id: str, call_id: str, want: int, timeout: float = 5.0) -> list:
    """Events of one call from JetStream (waits until ``want`` arrived, then a little longer for extras)."""
    deadline = asyncio.get_running_loop().time() + timeout
    found: list = []
    while True:
        found = await _read_events(nc, property_id, call_id)
        if len(found) >= want or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    return await _read_events(nc, property_id, call_id)


async def _read_events(nc, property_id: str, call_id: str) -> list:
    events = await stream_events(nc, subjects.events_of_property(property_id))
    return [e for e in events if getattr(e, "call_id", None) == call_id]
