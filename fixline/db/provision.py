"""Databases of their own, on a shared server: for tests, benchmarks and ``make run``."""

from __future__ import annotations

import asyncpg

from .migrate import ensure_database, migrate
from .seed import seed


def database_url(server_url: str, name: str) -> str:
    """``server_url`` with its database replaced by ``name`` (query string kept)."""
    head, _, tail = server_url.rpartition("/")
    query = "?" + tail.split("?", 1)[1] if "?" in tail else ""
    return f"{head}/{name}{query}"


async def provision_database(server_url: str, name: str, *, migrated: bool = True,
                             seeded: bool = True) -> str:
    """Create database ``name`` if missing, migrate and seed it; return its URL."""
    await ensure_database(server_url, name)
    url = database_url(server_url, name)
    if migrated:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
            if seeded:
                await seed(conn)
        finally:
            await conn.close()
    return url
