"""Fixtures of the end-to-end suite (the harness itself is in harness.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from fixline.db.provision import provision_database

from .harness import World, world_running


@pytest.fixture(scope="module")
async def e2e_database(stack) -> str:
    return await provision_database(stack.database_url, f"fixline_e2e_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
async def world(e2e_database, nats_url) -> AsyncIterator[World]:
    async with world_running(e2e_database, nats_url) as w:
        yield w
