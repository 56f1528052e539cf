"""Everything one call left in the database, read in one place for its report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

MAX_TURNS = 400  # the same bound as the dashboard's transcript


@dataclass(frozen=True)
class Turn:
    turn: int
    role: str
    text: str
    interrupted: bool


@dataclass(frozen=True)
class CallFacts:
    call: dict[str, Any]                      # the calls row
    facts: dict[str, Any]                     # call_record_facts (empty without CallOutcome/CallEnded)
    turns: list[Turn] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)        # tool names in the order they ran
    tool_failures: int = 0
    incident: dict[str, Any] | None = None               # the call's incident (if any)
    incident_opened: bool = False                         # ... and this call opened it
    quotes: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    code_releases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def call_id(self) -> str:
        return str(self.call["id"])

    @property
    def caller_turns(self) -> int:
        return sum(1 for t in self.turns if t.role == "caller")

    @property
    def ended_at(self) -> datetime | None:
        return self.call.get("ended_at") or self.facts.get("ended_at")


async def load(conn: asyncpg.Connection, call_id: str) -> CallFacts | None:
    call = await conn.fetchrow("SELECT * FROM calls WHERE id = $1", call_id)
    if call is None:
        return None
    facts = await conn.fetchrow("SELECT * FROM call_record_facts WHERE call_id = $1", call_id)
    turns = await conn.fetch("SELECT turn, role, text, interrupted FROM transcript_turns WHERE call_id = $1"
                             " ORDER BY turn, at, id LIMIT $2", call_id, MAX_TURNS)
    uses = await conn.fetch("SELECT tool, result FROM call_tool_uses WHERE call_id = $1 ORDER BY at, id", call_id)
    incident = await _incident(conn, call_id, call["incident_id"])
    return CallFacts(
        call=dict(call), facts=dict(facts) if facts else {},
        turns=[Turn(r["turn"], r["role"], r["text"], r["interrupted"]) for r in turns],
        tools=[r["tool"] for r in uses], tool_failures=sum(1 for r in uses if r["result"] != "ok"),
        incident=incident, incident_opened=bool(incident and incident["call_id"] == call_id),
        quotes=[dict(r) for r in await conn.fetch(
            "SELECT id, vendor_id, price::float8 AS price, currency, earliest_start FROM quotes WHERE call_id = $1",
            call_id)],
        decisions=[dict(r) for r in await conn.fetch(
            "SELECT id, approved, vendor_id, notes FROM approval_decisions WHERE call_id = $1", call_id)],
        code_releases=[dict(r) for r in await conn.fetch(
            "SELECT granted, reason FROM access_code_releases WHERE call_id = $1 ORDER BY at", call_id)])


async def _incident(conn: asyncpg.Connection, call_id: str, linked: str | None) -> dict[str, Any] | None:
    """The incident the call is about: the one linked on its row, else one it opened."""
    row = await conn.fetchrow(
        "SELECT id, category, severity, description, status, call_id FROM incidents"
        " WHERE id = $1 OR call_id = $2 ORDER BY (id = $1) DESC NULLS LAST, created_at LIMIT 1",
        linked, call_id)
    return dict(row) if row else None
