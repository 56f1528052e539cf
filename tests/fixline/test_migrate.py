import uuid
from pathlib import Path

import asyncpg
import pytest

from fixline.db.provision import provision_database
from fixline.db.migrate import Migration, MigrationError, load_migrations, migrate
from fixline.db.seed import load_articles, load_directory, seed


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def test_migrations_apply_once_then_are_a_no_op(empty_database):
    conn = await asyncpg.connect(empty_database)
    try:
        first = await migrate(conn)
        tables = await _tables(conn)
        second = await migrate(conn)
        assert first == [m.version for m in load_migrations()]
        assert second == []
        assert await _tables(conn) == tables
        assert {"properties", "vendors", "kb_embeddings", "incidents", "outbox", "calls"} <= tables
    finally:
        await conn.close()


async def test_broken_migration_leaves_database_as_it_was(empty_database):
    good = Migration(1, "good", "CREATE TABLE a (id int);")
    broken = Migration(2, "broken", "CREATE TABLE b (id int); INSERT INTO a VALUES (1); SELECT 1/0;")
    conn = await asyncpg.connect(empty_database)
    try:
        assert await migrate(conn, [good]) == [1]
        with pytest.raises(MigrationError, match="0002_broken"):
            await migrate(conn, [good, broken])
        assert "b" not in await _tables(conn)
        assert await conn.fetchval("SELECT count(*) FROM a") == 0
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == 1
    finally:
        await conn.close()


async def test_an_edited_applied_migration_is_refused(empty_database):
    conn = await asyncpg.connect(empty_database)
    try:
        await migrate(conn, [Migration(1, "one", "CREATE TABLE a (id int);")])
        with pytest.raises(MigrationError, match="edited"):
            await migrate(conn, [Migration(1, "one", "CREATE TABLE a (id bigint);")])
    finally:
        await conn.close()


def test_bad_file_names_are_refused(tmp_path: Path):
    (tmp_path / "1_missing_padding.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="bad migration file name"):
        load_migrations(tmp_path)


SEEDED_TABLES = ("properties", "property_phone_numbers", "landlords", "property_landlords", "vendors",
                 "vendor_access_codes", "kb_articles")


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in SEEDED_TABLES}


@pytest.fixture
async def seeded_database(stack) -> str:
    """A database of this test's own, migrated and seeded once: the session's shared database
    holds whatever other tests added (the dashboard test's properties, say), so the totals
    asserted here would depend on which tests ran before."""
    return await provision_database(stack.database_url, f"fixline_seed_{uuid.uuid4().hex[:8]}")


async def test_seed_is_present_and_idempotent(seeded_database):
    conn = await asyncpg.connect(seeded_database)
    try:
        before = await _counts(conn)
        await seed(conn)  # the second time: must change nothing
        assert await _counts(conn) == before
        assert before["properties"] == len(load_directory()["properties"]) == 3
        assert before["kb_articles"] == len(load_articles()) == 42
        per_property = await conn.fetch(
            "SELECT p.id, count(DISTINCT v.trade) AS trades, count(DISTINCT pl.landlord_id) AS landlords"
            " FROM properties p JOIN vendors v ON p.id = ANY(v.service_area)"
            " JOIN property_landlords pl ON pl.property_id = p.id GROUP BY p.id")
        assert len(per_property) == 3
        assert all(row["trades"] >= 4 and row["landlords"] == 1 for row in per_property)
        assert await conn.fetchval(
            "SELECT property_id FROM property_phone_numbers WHERE phone_number = '+15550100001'") == "p1"
    finally:
        await conn.close()
