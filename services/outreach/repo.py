"""SQL of the outreach service: the job to do (read-only on incidents, vendors, landlords)
and the calls it placed (``outreach_calls``), used to route call results to workflows."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import asyncpg

from .jobs import Decision, Quote, Vendor

# Incident category -> vendor trade; anything else goes to general repairs.
TRADES = {"plumbing": "plumbing", "electrical": "electrical", "hvac": "hvac", "appliance": "appliance",
          "locks": "locks", "internet": "internet"}
GENERAL_TRADE = "other"


def trade_for(category: str) -> str:
    return TRADES.get(category, GENERAL_TRADE)


async def load_incident(conn: asyncpg.Connection, incident_id: str) -> dict[str, Any] | None:
    """The incident, its property and landlord (the columns of ``jobs.IncidentJob``), or None."""
    row = await conn.fetchrow(
        "SELECT i.id AS incident_id, i.property_id, i.category, i.severity, i.description, i.caller_phone,"
        " i.status, i.urgency, p.name AS property_name, p.address, p.timezone,"
        " to_char(p.quiet_start, 'HH24:MI:SS') AS quiet_start, to_char(p.quiet_end, 'HH24:MI:SS') AS quiet_end,"
        " l.id AS landlord_id, l.name AS landlord_name, l.phone AS landlord_phone"
        " FROM incidents i JOIN properties p ON p.id = i.property_id"
        " LEFT JOIN property_landlords pl ON pl.property_id = p.id"
        " LEFT JOIN landlords l ON l.id = pl.landlord_id WHERE i.id = $1", incident_id)
    return dict(row) if row else None


async def pick_vendors(conn: asyncpg.Connection, category: str, property_id: str, limit: int,
                       emergency: bool = False) -> list[Vendor]:
    """Best rated first among the vendors of the trade serving the property; general repairs
    when the trade has nobody there. In an emergency only vendors who come out at any hour."""
    for trade in dict.fromkeys([trade_for(category), GENERAL_TRADE]):
        rows = await conn.fetch(
            "SELECT id, name, phone, rating::float AS rating, to_char(work_start, 'HH24:MI') AS work_start,"
            " to_char(work_end, 'HH24:MI') AS work_end, work_days, emergency FROM vendors"
            " WHERE trade = $1 AND $2 = ANY(service_area) AND (emergency OR NOT $4)"
            " ORDER BY rating DESC, id LIMIT $3",
            trade, property_id, limit, emergency)
        if rows:
            return [Vendor(**{**dict(r), "work_days": tuple(r["work_days"])}) for r in rows]
    return []


async def answered_by(conn: asyncpg.Connection, call_id: str) -> str:
    """Who picked up an outbound call (Twilio's AMD result on the call row), "" if unknown."""
    who: str | None = await conn.fetchval("SELECT coalesce(answered_by, '') FROM calls WHERE id = $1", call_id)
    return who or ""


async def remember_call(conn: asyncpg.Connection, *, call_id: str, workflow_id: str, incident_id: str | None,
                        kind: str, vendor_id: str | None) -> None:
    await conn.execute(
        "INSERT INTO outreach_calls (call_id, workflow_id, incident_id, kind, vendor_id)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (call_id) DO NOTHING",
        call_id, workflow_id, incident_id, kind, vendor_id)


async def workflow_for_call(conn: asyncpg.Connection, call_id: str) -> str | None:
    workflow_id: str | None = await conn.fetchval("SELECT workflow_id FROM outreach_calls WHERE call_id = $1", call_id)
    return workflow_id


async def workflow_for_vendor(conn: asyncpg.Connection, incident_id: str, vendor_id: str) -> str | None:
    workflow_id: str | None = await conn.fetchval(
        "SELECT workflow_id FROM outreach_calls WHERE incident_id = $1 AND kind = 'vendor' AND vendor_id = $2"
        " ORDER BY created_at DESC LIMIT 1", incident_id, vendor_id)
    return workflow_id


async def workflow_for_landlord(conn: asyncpg.Connection, incident_id: str) -> str | None:
    workflow_id: str | None = await conn.fetchval(
        "SELECT workflow_id FROM outreach_calls WHERE incident_id = $1 AND kind = 'landlord'"
        " ORDER BY created_at DESC LIMIT 1", incident_id)
    return workflow_id


async def recorded_quote(conn: asyncpg.Connection, incident_id: str, vendor_id: str) -> Quote | None:
    """The vendor's quote as the tools recorded it, in the shape of the routed QuoteReceived."""
    row = await conn.fetchrow("SELECT id, vendor_id, price::float AS price, currency, earliest_start FROM quotes"
                              " WHERE incident_id = $1 AND vendor_id = $2", incident_id, vendor_id)
    if row is None:
        return None
    start = row["earliest_start"].astimezone(UTC).isoformat() if row["earliest_start"] else None
    return Quote(quote_id=row["id"], vendor_id=row["vendor_id"], price=row["price"], currency=row["currency"],
                 earliest_start=start)


async def recorded_decision(conn: asyncpg.Connection, incident_id: str, call_id: str) -> Decision | None:
    """The owner's decision made on this call, in the shape of the routed DecisionMade."""
    row = await conn.fetchrow("SELECT id, approved, vendor_id, notes FROM approval_decisions"
                              " WHERE incident_id = $1 AND call_id = $2", incident_id, call_id)
    if row is None:
        return None
    return Decision(decision_id=row["id"], approved=row["approved"], vendor_id=row["vendor_id"], notes=row["notes"])
