"""Which incident a request may touch.

On a call: only an incident of the call's property (any other id is ``not_found``, exactly
like an id that does not exist, so a caller learns nothing about other properties), and
within it only the call's own incident: the one the call row names (outreach calls, the
guest call-back) or, on a guest call, one this call opened or one reported from the same
number (the reporter create_incident dedupes on: a guest whose first call dropped calls
back and carries on). The workflow (no call) may touch any incident."""

from __future__ import annotations

import asyncpg

from .calls import CallScope
from .errors import ToolFailure, not_found

INCIDENT_COLUMNS = "id, property_id, status, category, severity, description, call_id, caller_phone"


async def load_incident(conn: asyncpg.Connection, incident_id: str, call: CallScope | None, *,
                        lock: bool = False) -> asyncpg.Record:
    sql = f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"
    args: list[object] = [incident_id]
    if call is not None:
        sql += " AND property_id = $2"
        args.append(call.property_id)
    row = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), *args)
    if row is None:
        raise not_found("incident", incident_id)
    if call is not None:
        check_own_incident(call, row)
    return row


def check_own_incident(call: CallScope, incident: asyncpg.Record) -> None:
    if call.incident_id:
        if incident["id"] != call.incident_id:
            raise ToolFailure("forbidden", f"this call is about incident {call.incident_id}, not {incident['id']}")
        return
    if call.call_type == "guest" and call.call_id == incident["call_id"]:
        return
    if call.call_type == "guest" and call.counterpart_phone and call.counterpart_phone == incident["caller_phone"]:
        return
    raise ToolFailure("forbidden", f"incident {incident['id']} was not opened on this call")
