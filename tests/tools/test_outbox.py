"""Events are never lost: with NATS down they wait in the outbox; after a restart each
arrives exactly once (JetStream dedupes on Nats-Msg-Id = the event id)."""

import asyncio
import contextlib

import asyncpg
import msgspec
import nats
import pytest

from fixline.db.migrate import migrate
from fixline.db.seed import seed
from fixline.devstack import EmbeddedNats
from fixline_proto import subjects
from fixline_proto.events import IncidentCreated
from fixline_proto.tools import IncidentRef
from services.common.bus import BusIdentity
from services.tools.app import ToolsService
from tests.support.services import running, settings_for

from .call_rows import insert_call


@pytest.fixture
async def own_database(empty_database):
    """A database only this test's relay publishes from."""
    conn = await asyncpg.connect(empty_database)
    try:
        await migrate(conn)
        await seed(conn)
    finally:
        await conn.close()
    return empty_database


async def _create(service: ToolsService, n: int) -> list[str]:
    """Straight into the handlers (NATS is down, so not over the bus)."""
    ids = []
    for i in range(n):
        call_id = await insert_call(service.server.ctx.pool)
        body = msgspec.json.encode({"property_id": "p1", "category": "plumbing", "severity": "low",
                                    "description": f"drip #{i}", "call_id": call_id})
        result = await service.server.call("create_incident", body)
        assert isinstance(result, IncidentRef)
        ids.append(result.incident_id)
    return ids


async def _unpublished(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    finally:
        await conn.close()


async def _wait_until_published(database_url: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await _unpublished(database_url):
        assert asyncio.get_running_loop().time() < deadline, "outbox not drained"
        await asyncio.sleep(0.1)


async def _stream_messages(server: EmbeddedNats) -> list[tuple[str, str, IncidentCreated]]:
    nc = await nats.connect(server.url, **BusIdentity("harness", str(server.credentials_dir)).options())
    try:
        js = nc.jetstream()
        info = await js.stream_info(subjects.EVENTS_STREAM)
        messages = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                msg = await js.get_msg(subjects.EVENTS_STREAM, seq)
                messages.append((msg.headers["Nats-Msg-Id"], msg.subject,
                                 msgspec.json.decode(msg.data, type=IncidentCreated)))
        return messages
    finally:
        await nc.close()


async def test_events_wait_for_nats_and_arrive_exactly_once(tmp_path, own_database):
    bus = EmbeddedNats(tmp_path / "nats", with_harness=True).start()
    service = ToolsService()
    settings = settings_for("tools", nats_url=bus.url, nats_credentials_dir=str(bus.credentials_dir),
                            database_url=own_database, outbox_poll_interval_s=0.2,
                            kb_embed_on_start=False)
    async with running(service, settings):
        online = await _create(service, 5)
        await _wait_until_published(own_database)
        bus.stop()
        offline = await _create(service, 20)
        await asyncio.sleep(1.0)  # the relay keeps failing meanwhile
        assert await _unpublished(own_database) == 20
        bus = EmbeddedNats(tmp_path / "nats", port=bus.port, monitor_port=bus.monitor_port, with_harness=True).start()
        await _wait_until_published(own_database)
        # A relay that crashed after publishing but before stamping re-publishes: deduped.
        conn = await asyncpg.connect(own_database)
        await conn.execute("UPDATE outbox SET published_at = NULL WHERE id IN"
                           " (SELECT id FROM outbox ORDER BY id DESC LIMIT 10)")
        await conn.close()
        await _wait_until_published(own_database)
        messages = await _stream_messages(bus)
    bus.stop()
    msg_ids = [msg_id for msg_id, _, _ in messages]
    incident_ids = [event.incident_id for _, _, event in messages]
    assert len(msg_ids) == len(set(msg_ids)) == 25
    assert sorted(incident_ids) == sorted(online + offline)
    assert {subject for _, subject, _ in messages} == {"events.p1.incident.created"}
