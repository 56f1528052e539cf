"""Seed data: the three properties of the evaluation knowledge base, their landlords,
vendors of several trades, access codes and the 42 articles. Idempotent (upserts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg

SEED_DIR = Path(__file__).with_name("seed_data")


def load_directory() -> dict[str, Any]:
    directory: dict[str, Any] = json.loads((SEED_DIR / "directory.json").read_text())
    return directory


def load_articles() -> list[dict[str, str]]:
    articles: list[dict[str, str]] = json.loads((SEED_DIR / "maintenance_kb.json").read_text())
    return articles


async def seed(conn: asyncpg.Connection) -> None:
    directory = load_directory()
    async with conn.transaction():
        for prop in directory["properties"]:
            await _seed_property(conn, prop)
        for vendor in directory["vendors"]:
            await _seed_vendor(conn, vendor)
        await conn.executemany(
            "INSERT INTO kb_articles (id, property_id, title, body) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body,"
            " updated_at = CASE WHEN kb_articles.body IS DISTINCT FROM excluded.body"
            " OR kb_articles.title IS DISTINCT FROM excluded.title THEN now() ELSE kb_articles.updated_at END",
            [(a["id"], a["property_id"], a["title"], a["body"]) for a in load_articles()],
        )


async def _seed_property(conn: asyncpg.Connection, prop: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO properties (id, name, address, timezone, recording_enabled) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address,"
        " timezone = excluded.timezone",  # recording is the operator's switch once the row exists
        prop["id"], prop["name"], prop["address"], prop["timezone"], bool(prop.get("recording", False)),
    )
    for number in prop["phone_numbers"]:
        await conn.execute(
            "INSERT INTO property_phone_numbers (phone_number, property_id) VALUES ($1, $2)"
            " ON CONFLICT (phone_number) DO UPDATE SET property_id = excluded.property_id",
            number, prop["id"],
        )
    landlord = prop["landlord"]
    await conn.execute(
        "INSERT INTO landlords (id, name, phone, email) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone, email = excluded.email",
        landlord["id"], landlord["name"], landlord["phone"], landlord["email"],
    )
    await conn.execute(
        "INSERT INTO property_landlords (property_id, landlord_id) VALUES ($1, $2)"
        " ON CONFLICT (property_id) DO UPDATE SET landlord_id = excluded.landlord_id",
        prop["id"], landlord["id"],
    )
    await conn.execute(
        "INSERT INTO vendor_access_codes (property_id, code) VALUES ($1, $2)"
        " ON CONFLICT (property_id) DO NOTHING",
        prop["id"], prop["access_code"],
    )


async def _seed_vendor(conn: asyncpg.Connection, vendor: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO vendors (id, name, trade, phone, rating, service_area, emergency)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, trade = excluded.trade,"
        " phone = excluded.phone, rating = excluded.rating, service_area = excluded.service_area,"
        " emergency = excluded.emergency",
        vendor["id"], vendor["name"], vendor["trade"], vendor["phone"], vendor["rating"],
        vendor["service_area"], vendor.get("emergency", False),
    )
