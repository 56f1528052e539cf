"""Versioned SQL migrations, applied at start.

Each ``NNNN_name.sql`` file runs in its own transaction together with its row in
``schema_migrations``: a failing file leaves the database as it was. A session-level
advisory lock keeps concurrent starters from racing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger("fixline.migrate")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_KEY = 0x46_49_58_4C  # "FIXL"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"bad migration file name: {path.name}")
        found.append(Migration(int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {directory}")
    return found


async def applied_versions(conn: asyncpg.Connection) -> dict[int, str]:
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    return {row["version"]: row["checksum"] for row in rows}


async def migrate(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is missing; return the versions applied now."""
    migrations = load_migrations() if migrations is None else migrations
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text NOT NULL,"
        " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        done = await applied_versions(conn)
        applied = []
        for migration in migrations:
            if migration.version in done:
                _check_unchanged(migration, done[migration.version])
                continue
            await _apply(conn, migration)
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


def _check_unchanged(migration: Migration, checksum: str) -> None:
    if checksum != migration.checksum:
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} was edited after it was applied"
        )


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    log.info("applying migration", extra={"version": migration.version, "migration": migration.name})
    try:
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version, migration.name, migration.checksum,
            )
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"migration {migration.version:04d}_{migration.name} failed: {exc}") from exc


async def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` on the server of ``admin_url`` if it does not exist."""
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
