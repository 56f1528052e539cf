"""Transactional outbox: events are written in the same transaction as the rows they
describe, and a relay publishes them to JetStream with ``Nats-Msg-Id`` = the event's id
(a UUID: outbox ids restart in every database, event ids never collide).

NATS down means events wait in the table, not vanish; the stream's duplicate window turns
a re-publish after a crash into a no-op, so every event lands exactly once. Several relays
(any service that writes) can share the table: rows are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from prometheus_client import CollectorRegistry, Counter, Gauge

from fixline_proto import Event, encode, subjects
from fixline_proto.base import tag_of

from .bus_permissions import ROLES, subject_regex

log = logging.getLogger(__name__)
CHANNEL = "fixline_outbox"
BATCH = 200


async def add(conn: asyncpg.Connection, event: Event) -> int:
    """Queue ``event``; call inside the transaction that writes the row it describes."""
    tag = tag_of(event)
    outbox_id: int = await conn.fetchval(
        "INSERT INTO outbox (subject, payload, msg_id) VALUES ($1, $2, $3) RETURNING id",
        subjects.event(event.property_id, tag), encode(event), event.id,
    )
    await conn.execute(f"NOTIFY {CHANNEL}")
    return outbox_id


class OutboxRelay:
    """Publishes pending rows; with ``role`` only the rows that role may publish (ingress and
    tools share the table, and each may publish only its own event types)."""

    def __init__(self, pool: asyncpg.Pool, nc: NATS, registry: CollectorRegistry | None = None,
                 poll_interval_s: float = 1.0, role: str | None = None) -> None:
        self.pool = pool
        self.subject_regex = subject_regex(ROLES[role].publish) if role else ".*"
        self.js = nc.jetstream(timeout=2.0)
        self.nc = nc
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self.published = Counter("outbox_published_total", "Outbox rows published to JetStream",
                                 registry=registry)
        self.backlog = Gauge("outbox_backlog", "Unpublished outbox rows at the last pass", registry=registry)

    async def run(self) -> None:
        listener = await self._listen()
        backoff = 0.1
        try:
            while True:
                try:
                    sent = await self.publish_pending()
                    backoff = 0.1
                    if sent == BATCH:
                        continue
                except Exception as exc:  # noqa: BLE001 - the relay must outlive any single failure; rows wait
                    log.warning("outbox relay pass failed; retrying", extra={"error": repr(exc), "retry_in_s": backoff})
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
                self._wake.clear()
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.remove_listener(CHANNEL, self._on_notify)
                await self.pool.release(listener)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            conn = await self.pool.acquire()
            await conn.add_listener(CHANNEL, self._on_notify)
            return conn
        except (OSError, asyncpg.PostgresError):
            return None  # polling still delivers, only later

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; return how many were published."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, subject, payload, msg_id FROM outbox WHERE published_at IS NULL AND subject ~ $2"
                " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", BATCH, self.subject_regex,
            )
            if not rows:
                self.backlog.set(0)
                return 0
            if not self.nc.is_connected:
                raise NatsError("nats not connected")
            for row in rows:
                msg_id = row["msg_id"] or f"outbox-{row['id']}"
                await self.js.publish(row["subject"], row["payload"], headers={"Nats-Msg-Id": msg_id})
            await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                               [row["id"] for row in rows])
        self.published.inc(len(rows))
        self.backlog.set(max(0, len(rows) - BATCH))
        return len(rows)
