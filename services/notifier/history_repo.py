"""History for the dashboard from PostgreSQL (read-only): incidents and calls, each call's
report and transcript, an incident's audit trail, costs.

Every query takes the viewer's properties (``None`` = every property) and filters on them in
SQL, so a row of another property is never read, counted or matched: a scoped token's search
cannot even tell that it exists."""

from __future__ import annotations

from typing import Any

import asyncpg

from .history_query import SearchQuery

Row = dict[str, Any]
Scope = list[str] | None       # None = every property

_SCOPE = "($1::text[] IS NULL OR {col} = ANY($1::text[]))"
_TEXT_OF_CALL = ("(r.summary ILIKE $5 OR EXISTS (SELECT 1 FROM transcript_turns t WHERE t.call_id = {call}"
                 " AND t.text ILIKE $5))")

_INCIDENT_FILTER = (
    f"{_SCOPE.format(col='i.property_id')} AND ($2::text IS NULL OR i.property_id = $2)"
    " AND ($3::text IS NULL OR i.status = $3) AND ($4::timestamptz IS NULL OR i.created_at >= $4)"
    " AND ($6::timestamptz IS NULL OR i.created_at < $6)"
    " AND ($5::text IS NULL OR i.description ILIKE $5 OR EXISTS (SELECT 1 FROM calls c"
    " LEFT JOIN call_reports r ON r.call_id = c.id WHERE c.incident_id = i.id AND "
    + _TEXT_OF_CALL.format(call="c.id") + "))")
_INCIDENT_COLUMNS = (
    "i.id AS incident_id, i.property_id, i.category, i.severity, i.description, i.status, i.caller_phone,"
    " i.created_at, i.updated_at, (SELECT count(*) FROM calls c WHERE c.incident_id = i.id OR c.id = i.call_id)"
    " AS calls,"
    " (SELECT coalesce(sum(r.cost_total), 0)::float8 FROM call_reports r WHERE r.incident_id = i.id) AS cost")

_CALL_FILTER = (
    f"{_SCOPE.format(col='c.property_id')} AND ($2::text IS NULL OR c.property_id = $2)"
    " AND ($3::text IS NULL OR c.status = $3) AND ($4::timestamptz IS NULL OR c.created_at >= $4)"
    " AND ($6::timestamptz IS NULL OR c.created_at < $6) AND ($5::text IS NULL OR "
    + _TEXT_OF_CALL.format(call="c.id") + ")")
_CALL_COLUMNS = (
    "c.id AS call_id, c.property_id, c.incident_id, c.call_type, c.direction, c.from_number, c.to_number,"
    " c.status, c.created_at, c.started_at, c.ended_at, r.outcome, r.summary, r.cost_total::float8 AS cost")


def _args(scope: Scope, q: SearchQuery) -> tuple[Any, ...]:
    return scope, q.property_id, q.status, q.since, q.like, q.until


async def search(conn: asyncpg.Connection, scope: Scope, q: SearchQuery) -> tuple[int, list[Row]]:
    if q.kind == "incidents":
        frm, where, cols, order = "incidents i", _INCIDENT_FILTER, _INCIDENT_COLUMNS, "i.created_at DESC, i.id"
    else:
        frm = "calls c LEFT JOIN call_reports r ON r.call_id = c.id"
        where, cols, order = _CALL_FILTER, _CALL_COLUMNS, "c.created_at DESC, c.id"
    total = await conn.fetchval(f"SELECT count(*) FROM {frm} WHERE {where}", *_args(scope, q))
    rows = await conn.fetch(f"SELECT {cols} FROM {frm} WHERE {where} ORDER BY {order} LIMIT $7 OFFSET $8",
                            *_args(scope, q), q.limit, q.offset)
    return int(total), [dict(r) for r in rows]


async def call_detail(conn: asyncpg.Connection, scope: Scope, call_id: str) -> Row | None:
    call = await conn.fetchrow(
        f"SELECT {_CALL_COLUMNS}, c.end_reason, c.answered_by FROM calls c"
        f" LEFT JOIN call_reports r ON r.call_id = c.id WHERE c.id = $2 AND {_SCOPE.format(col='c.property_id')}",
        scope, call_id)
    if call is None:
        return None
    report = await conn.fetchval("SELECT report::text FROM call_reports WHERE call_id = $1", call_id)
    turns = await conn.fetch("SELECT turn, role, text, interrupted, at FROM transcript_turns WHERE call_id = $1"
                             " ORDER BY turn, at, id LIMIT 1000", call_id)
    recording = await conn.fetchrow(
        "SELECT status, duration_s, channels, created_at FROM call_recordings WHERE call_id = $1"
        " AND status = 'completed' AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1", call_id)
    return {**dict(call), "report_json": report, "transcript": [dict(t) for t in turns],
            "recording": None if recording is None else {
                **dict(recording), "url": f"/api/history/calls/{call_id}/recording"}}


async def incident_detail(conn: asyncpg.Connection, scope: Scope, incident_id: str) -> Row | None:
    incident = await conn.fetchrow(
        f"SELECT {_INCIDENT_COLUMNS}, i.call_id FROM incidents i"
        f" WHERE i.id = $2 AND {_SCOPE.format(col='i.property_id')}", scope, incident_id)
    if incident is None:
        return None
    calls = await conn.fetch(f"SELECT {_CALL_COLUMNS} FROM calls c LEFT JOIN call_reports r ON r.call_id = c.id"
                             " WHERE (c.incident_id = $1 OR c.id = $2) AND c.property_id = $3 ORDER BY c.created_at",
                             incident_id, incident["call_id"], incident["property_id"])
    return {**dict(incident), "calls": [dict(c) for c in calls],
            "audit": await audit_trail(conn, dict(incident))}


async def audit_trail(conn: asyncpg.Connection, incident: Row) -> list[Row]:
    """Who did what and when: creation, status changes, calls, warm hand-offs, quotes, the owner's
    decisions, bookings, and the door-code releases/refusals to vendors booked for this incident."""
    rows = await conn.fetch(_AUDIT_SQL, incident["incident_id"], incident["property_id"], incident["created_at"])
    return [dict(r) for r in rows]


_AUDIT_SQL = """
SELECT at, kind, actor, detail FROM (
  SELECT i.created_at AS at, 'incident.created' AS kind, 'guest ' || coalesce(i.caller_phone, '?') AS actor,
         i.category || ', ' || i.severity || ': ' || i.description AS detail
    FROM incidents i WHERE i.id = $1
  UNION ALL
  SELECT h.at, 'status', 'system', coalesce(h.from_status, '—') || ' → ' || h.to_status
         || CASE WHEN h.note <> '' THEN ' (' || h.note || ')' ELSE '' END
    FROM incident_status_history h WHERE h.incident_id = $1
  UNION ALL
  SELECT coalesce(c.started_at, c.created_at), 'call',
         'agent with ' || CASE c.call_type WHEN 'vendor' THEN 'vendor ' || coalesce(v.name, c.vendor_id, '?')
                                           WHEN 'landlord' THEN 'owner'
                                           ELSE 'guest ' || CASE c.direction WHEN 'inbound' THEN c.from_number
                                                                              ELSE c.to_number END END,
         c.call_type || ' call, ' || c.direction || ' (' || c.status || ')'
         || coalesce(': ' || r.outcome, '')
    FROM calls c LEFT JOIN call_reports r ON r.call_id = c.id LEFT JOIN vendors v ON v.id = c.vendor_id
   WHERE c.incident_id = $1 OR c.id = (SELECT call_id FROM incidents WHERE id = $1)
  UNION ALL
  SELECT q.created_at, 'quote', 'vendor ' || coalesce(v.name, q.vendor_id),
         q.price::text || ' ' || q.currency
    FROM quotes q LEFT JOIN vendors v ON v.id = q.vendor_id WHERE q.incident_id = $1
  UNION ALL
  SELECT d.created_at, 'decision', 'owner',
         CASE WHEN d.approved THEN 'approved' ELSE 'declined' END
         || coalesce(' vendor ' || v.name, '') || CASE WHEN d.notes <> '' THEN ': ' || d.notes ELSE '' END
    FROM approval_decisions d LEFT JOIN vendors v ON v.id = d.vendor_id WHERE d.incident_id = $1
  UNION ALL
  SELECT b.created_at, 'booking', 'system',
         'vendor ' || coalesce(v.name, b.vendor_id) || ' booked '
         || to_char(b.starts_at AT TIME ZONE p.timezone, 'YYYY-MM-DD HH24:MI') || '–'
         || to_char(b.ends_at AT TIME ZONE p.timezone, 'HH24:MI') || ' (' || p.timezone || ')'
    FROM repair_bookings b LEFT JOIN vendors v ON v.id = b.vendor_id JOIN properties p ON p.id = b.property_id
   WHERE b.incident_id = $1
  UNION ALL
  SELECT hf.at, 'handoff.' || hf.stage, 'person at ' || coalesce(nullif(hf.to_number, ''), 'the manager line'),
         CASE hf.stage WHEN 'answered' THEN 'picked up and heard the summary'
                       WHEN 'unanswered' THEN 'did not answer (' || hf.dial_status || '); caller back with the agent'
                       ELSE 'took the call' END
    FROM call_handoffs hf JOIN calls c ON c.id = hf.call_id
   WHERE c.incident_id = $1 OR c.id = (SELECT call_id FROM incidents WHERE id = $1)
  UNION ALL
  SELECT a.at, CASE WHEN a.granted THEN 'door_code.released' ELSE 'door_code.refused' END,
         'vendor ' || coalesce(v.name, a.vendor_id, a.caller_phone),
         CASE WHEN a.granted THEN 'access code given on a call' ELSE 'refused: ' || a.reason END
    FROM access_code_releases a LEFT JOIN vendors v ON v.id = a.vendor_id
   WHERE a.property_id = $2 AND a.at >= $3
     AND a.vendor_id IN (SELECT vendor_id FROM repair_bookings WHERE incident_id = $1)
) trail ORDER BY at, kind <> 'incident.created', kind
"""


async def costs(conn: asyncpg.Connection, scope: Scope, q: SearchQuery) -> list[Row]:
    """Per property: calls reported, billed minutes, telephony, Gemini and total cost."""
    rows = await conn.fetch(
        "SELECT r.property_id, count(*) AS calls,"
        " coalesce(sum((r.report->'cost'->>'billed_minutes')::int), 0) AS billed_minutes,"
        " coalesce(sum((r.report->'cost'->>'telephony')::float8), 0) AS telephony,"
        " coalesce(sum((r.report->'cost'->>'gemini')::float8), 0) AS gemini,"
        " coalesce(sum(r.cost_total), 0)::float8 AS total FROM call_reports r"
        f" WHERE {_SCOPE.format(col='r.property_id')} AND ($2::text IS NULL OR r.property_id = $2)"
        " AND ($3::timestamptz IS NULL OR r.created_at >= $3) AND ($4::timestamptz IS NULL OR r.created_at < $4)"
        " GROUP BY r.property_id ORDER BY r.property_id", scope, q.property_id, q.since, q.until)
    return [dict(r) for r in rows]
