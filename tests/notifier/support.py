"""Helpers for notifier tests: a dedicated events stream, a running notifier, an SSE reader."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import msgspec
from nats.aio.client import Client as NATS
from nats.js.api import StorageType, StreamConfig

from fixline.nats_auth import credentials_acting_as
from fixline_proto import encode
from fixline_proto.base import Event
from services.notifier import sse
from services.notifier.app import NotifierService
from tests.support.services import running, settings_for

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
SCOPED_P2 = "scoped-token-for-p2-only"


@dataclass
class EventStream:
    """A stream of its own per test: the production code path, an isolated history."""

    nc: NATS
    name: str
    prefix: str

    async def publish(self, event: Event) -> int:
        subject = f"{self.prefix}.{event.property_id}.{event.__struct_config__.tag}"
        ack = await self.nc.jetstream().publish(subject, encode(event), stream=self.name)
        return ack.seq

    async def publish_raw(self, subject_tail: str, data: bytes) -> int:
        """Anything at all on ``<prefix>.<subject_tail>``: what a forger with bus access could send."""
        ack = await self.nc.jetstream().publish(f"{self.prefix}.{subject_tail}", data, stream=self.name)
        return ack.seq


async def create_stream(nc: NATS, max_msgs: int = -1) -> EventStream:
    suffix = uuid.uuid4().hex[:10]
    name, prefix = f"NT_{suffix}", f"nt{suffix}"
    await nc.jetstream().add_stream(StreamConfig(name=name, subjects=[f"{prefix}.>"], storage=StorageType.MEMORY,
                                                 max_msgs=max_msgs))
    return EventStream(nc, name, prefix)


def _harness_credentials_as_notifier() -> str:
    """The notifier's own role may read only EVENTS; on a throw-away stream it runs with the
    harness's key instead (its real permissions are exercised by the browser and security tests)."""
    return str(credentials_acting_as(Path(os.environ["NATS_CREDENTIALS_DIR"]), "notifier", "harness"))


@contextlib.asynccontextmanager
async def notifier(stream: EventStream, **overrides: object) -> AsyncIterator:
    options = {"dashboard_token": ADMIN_TOKEN, "sse_heartbeat_s": 0.5, "sse_retry_ms": 1500,
               "nats_credentials_dir": _harness_credentials_as_notifier()} | overrides
    settings = settings_for("notifier", notifier_stream=stream.name, notifier_subject_prefix=stream.prefix, **options)
    async with running(NotifierService(), settings) as svc:
        yield svc


def bearer(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class SseReader:
    """Reads SSE messages from an open aiohttp response."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.parser = sse.Parser()
        self.pending: list[sse.Message] = []

    async def next(self, timeout: float = 5.0, *, skip_comments: bool = True) -> sse.Message:
        async with asyncio.timeout(timeout):
            while True:
                while self.pending:
                    message = self.pending.pop(0)
                    if skip_comments and message.data is None and message.retry is None:
                        continue
                    return message
                chunk = await self.response.content.readany()
                if not chunk:
                    raise EOFError("the server closed the stream")
                self.pending.extend(self.parser.feed(chunk))

    async def events(self, count: int, timeout: float = 5.0, *, health: bool = False) -> list[sse.Message]:
        """The next ``count`` messages that carry data (service heartbeats skipped unless ``health``)."""
        found: list[sse.Message] = []
        while len(found) < count:
            message = await self.next(timeout)
            if message.data is not None and (health or message.event != "service.heartbeat"):
                found.append(message)
        return found


@contextlib.asynccontextmanager
async def open_stream(http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None,
                      params: dict[str, str] | None = None) -> AsyncIterator[SseReader]:
    async with http.get(f"{url}/events", headers=headers or bearer(), params=params,
                        timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as response:
        assert response.status == 200, await response.text()
        yield SseReader(response)


def payload(message: sse.Message) -> dict:
    return msgspec.json.decode(message.data)
