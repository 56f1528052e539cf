"""Which vendor may quote for, be approved for and be booked on an incident: one that
serves the incident's property and does its trade. General repairs (trade ``other``) stand
in only where no vendor of the trade serves the property, as outreach picks them
(``services/outreach/repo.py`` holds the same category -> trade table)."""

from __future__ import annotations

import asyncpg

from .errors import ToolFailure, not_found

TRADES = {"plumbing": "plumbing", "electrical": "electrical", "hvac": "hvac", "appliance": "appliance",
          "locks": "locks", "internet": "internet"}
GENERAL_TRADE = "other"


def trade_for(category: str) -> str:
    return TRADES.get(category, GENERAL_TRADE)


async def eligible_vendor(conn: asyncpg.Connection, vendor_id: str, incident: asyncpg.Record) -> asyncpg.Record:
    """The vendor row, or a refusal saying why it cannot work on this incident."""
    vendor = await conn.fetchrow("SELECT id, name, phone, trade, service_area FROM vendors WHERE id = $1", vendor_id)
    if vendor is None:
        raise not_found("vendor", vendor_id)
    if incident["property_id"] not in vendor["service_area"]:
        raise ToolFailure("invalid_argument", f"vendor {vendor['name']} does not serve this property")
    if not await _does_the_trade(conn, vendor, incident):
        raise ToolFailure("invalid_argument", f"vendor {vendor['name']} does {vendor['trade']} work, not "
                                              f"{trade_for(incident['category'])} ({incident['category']} incident)")
    return vendor


async def _does_the_trade(conn: asyncpg.Connection, vendor: asyncpg.Record, incident: asyncpg.Record) -> bool:
    trade = trade_for(incident["category"])
    if vendor["trade"] == trade:
        return True
    if vendor["trade"] != GENERAL_TRADE:
        return False
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM vendors WHERE trade = $1 AND $2 = ANY(service_area))",
                                   trade, incident["property_id"])
