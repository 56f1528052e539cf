"""PostgreSQL pool with the pgvector codec registered on every connection."""

from __future__ import annotations

import asyncpg
from pgvector.asyncpg import register_vector


async def create_pool(url: str, statement_cache_size: int = 100, min_size: int = 1,
                      max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, statement_cache_size=statement_cache_size,
        init=register_vector, command_timeout=30,
    )


async def ping(pool: asyncpg.Pool, timeout: float = 1.0) -> bool:
    try:
        async with pool.acquire(timeout=timeout) as conn:
            return bool(await conn.fetchval("SELECT 1", timeout=timeout) == 1)
    except (OSError, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError):
        return False
