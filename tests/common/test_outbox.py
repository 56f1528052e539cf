"""The outbox against real PostgreSQL and a real nats-server that we stop and restart."""

import asyncio
import uuid

import pytest

from fixline.db.provision import provision_database
from fixline.devstack import EmbeddedNats
from fixline_proto import subjects
from fixline_proto.events import CallStarted, IncidentUpdated
from services.common import bus, db
from services.common.outbox import OutboxRelay, add
from tests.support.bus import connect_as
from tests.support.events import stream_events


def _event(property_id: str, n: int) -> IncidentUpdated:
    return IncidentUpdated(property_id=property_id, incident_id=f"inc-{n}", status="troubleshooting",
                           previous_status="open")


@pytest.fixture
async def own_pool(stack):
    """A database of this test's own: a relay publishes every pending row it can see."""
    url = await provision_database(stack.database_url, f"fixline_outbox_{uuid.uuid4().hex[:8]}", seeded=False)
    created = await db.create_pool(url, max_size=3)
    yield created
    await created.close()


async def test_events_written_while_nats_is_down_arrive_exactly_once(tmp_path, own_pool):
    pool = own_pool
    server = EmbeddedNats(tmp_path / "nats", with_harness=True).start()
    nc = await bus.connect(server.url, "outbox-test", bus.BusIdentity("harness", str(server.credentials_dir)))
    await bus.ensure_streams(nc)
    relay = OutboxRelay(pool, nc, poll_interval_s=0.1)
    task = asyncio.create_task(relay.run())
    property_id = f"px{uuid.uuid4().hex[:8]}"
    try:
        server.stop()
        async with pool.acquire() as conn:
            for n in range(20):
                async with conn.transaction():
                    await add(conn, _event(property_id, n))
        await asyncio.sleep(0.5)
        assert await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL AND subject LIKE $1", f"events.{property_id}.%"
        ) == 20
        server.start()
        for _ in range(100):
            pending = await pool.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL AND subject LIKE $1", f"events.{property_id}.%")
            if pending == 0:
                break
            await asyncio.sleep(0.1)
        # A second relay pass over already-published ids (as after a crash) must not duplicate.
        await pool.execute("UPDATE outbox SET published_at = NULL WHERE subject LIKE $1", f"events.{property_id}.%")
        await relay.publish_pending()
        events = await stream_events(nc, subjects.events_of_property(property_id))
        assert sorted(e.incident_id for e in events) == sorted(f"inc-{n}" for n in range(20))
    finally:
        task.cancel()
        await nc.close()
        server.stop()


async def test_a_rolled_back_write_publishes_nothing(pool, nats_url):
    property_id = f"px{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await add(conn, _event(property_id, 1))
            raise RuntimeError("the row write failed")
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE subject LIKE $1", f"events.{property_id}.%") == 0


async def test_two_databases_publishing_into_one_stream_never_collide(stack, nats_url, nc):
    """Outbox ids restart at 1 in every database; the message id must not (it is the event id)."""
    property_id = f"px{uuid.uuid4().hex[:8]}"
    pools = []
    for _ in range(2):
        url = await provision_database(stack.database_url, f"fixline_outbox_{uuid.uuid4().hex[:8]}", seeded=False)
        pools.append(await db.create_pool(url, max_size=2))
    try:
        for n, pool in enumerate(pools):
            async with pool.acquire() as conn, conn.transaction():
                await add(conn, _event(property_id, n))
            assert await pool.fetchval("SELECT min(id) FROM outbox") == 1
            await OutboxRelay(pool, nc).publish_pending()
        events = await stream_events(nc, subjects.events_of_property(property_id))
        assert sorted(e.incident_id for e in events) == ["inc-0", "inc-1"]
    finally:
        for pool in pools:
            await pool.close()


async def test_a_relay_publishes_only_the_event_types_its_role_may(own_pool, nats_url, nc):
    """Ingress and tools share the outbox table; each relay takes only rows its bus role may publish."""
    property_id = f"px{uuid.uuid4().hex[:8]}"
    started = CallStarted(property_id=property_id, call_id="c-1", call_type="guest", direction="inbound",
                          from_number="+15550000001", to_number="+15550000002")
    async with own_pool.acquire() as conn, conn.transaction():
        await add(conn, _event(property_id, 1))
        await add(conn, started)
    tools_nc = await connect_as("tools", nats_url)
    try:
        assert await OutboxRelay(own_pool, tools_nc, role="tools").publish_pending() == 1
    finally:
        await tools_nc.close()
    left = await own_pool.fetch("SELECT subject FROM outbox WHERE published_at IS NULL")
    assert [r["subject"] for r in left] == [subjects.event(property_id, "call.started")]
    events = await stream_events(nc, subjects.events_of_property(property_id))
    assert [type(e) for e in events] == [IncidentUpdated]
