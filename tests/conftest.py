"""Session fixtures: a real nats-server and a real PostgreSQL (embedded unless
NATS_URL / DATABASE_URL are set), migrated and seeded once per session."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from emulators.calendar import CalendarEmulator
from fixline.db.provision import provision_database
from fixline.devstack import DevStack
from services.common import bus, db
from tests.support.bus import connect_as

# Stories must not depend on the hour the suite runs at: no default quiet hours in tests.
# The quiet-hours tests give a property its own window (properties.quiet_start/quiet_end).
os.environ.setdefault("OUTREACH_QUIET_HOURS", "off")


if os.environ.get("TEST_EVENT_LOOP") == "uvloop":  # the services' production loop (runtime.py EVENT_LOOP)
    import uvloop

    def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], object]]:
        return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    state = tmp_path_factory.mktemp("devstack")
    started = DevStack(state).start(fsync=False, with_harness=True)
    os.environ["NATS_CREDENTIALS_DIR"] = started.nats_credentials_dir
    yield started
    started.stop()


@pytest.fixture(scope="session")
async def database_url(stack: DevStack) -> str:
    """A database of its own for this session, migrated and seeded."""
    url = await provision_database(stack.database_url, f"fixline_test_{uuid.uuid4().hex[:8]}")
    os.environ["DATABASE_URL"] = url
    return url


@pytest.fixture(scope="session")
async def nats_url(stack: DevStack) -> str:
    os.environ["NATS_URL"] = stack.nats_url
    nc = await connect_as("harness", stack.nats_url)
    await bus.ensure_streams(nc)
    await nc.close()
    return stack.nats_url


@pytest.fixture
async def empty_database(stack: DevStack) -> AsyncIterator[str]:
    """A brand-new empty database (for migration tests)."""
    yield await provision_database(stack.database_url, f"fixline_empty_{uuid.uuid4().hex[:8]}", migrated=False)


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(database_url, max_size=5)
    yield created
    await created.close()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[nats.aio.client.Client]:
    client = await connect_as("harness", nats_url)
    yield client
    await client.close()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
async def calendar(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CalendarEmulator]:
    """The Google Calendar emulator with a registered service account (its JSON on disk)."""
    async with CalendarEmulator() as cal:
        cal.create_service_account(str(tmp_path_factory.mktemp("calendar") / "service-account.json"))
        yield cal
