"""Who is asking: the call a call tool acts for, loaded from PostgreSQL.

The bridge puts the call id on every call-tool request; everything else about the caller
(property, call type, the number on the line, the vendor/landlord dialled, the incident
the call is about) comes from the ``calls`` row that ingress wrote, never from the request.
A request that claims a property or phone other than the call's is refused."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from fixline_proto.tools import CALL_TYPES_OF_TOOL, ToolRequest

from .errors import ToolFailure
from .phones import normalise_phone

# A tool call already in flight when the caller hangs up (or whose answer the model sends
# as the line drops) still lands; a call that ended longer ago than this acts for nobody.
ENDED_GRACE_S = 15.0


@dataclass(frozen=True)
class CallScope:
    call_id: str
    call_type: str
    direction: str
    property_id: str
    counterpart_phone: str  # the other party: the caller (inbound) or the number dialled (outbound)
    vendor_id: str | None
    landlord_id: str | None
    incident_id: str | None


async def load_call(pool: asyncpg.Pool, call_id: str | None, tool: str) -> CallScope:
    if not call_id:
        raise ToolFailure("forbidden", f"{tool} can only be used on a call (the request names no call)")
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, call_type, direction, property_id, from_number, to_number, vendor_id, landlord_id,"
            " incident_id, ended_at IS NOT NULL AND ended_at < now() - make_interval(secs => $2) AS over"
            " FROM calls WHERE id = $1", call_id, ENDED_GRACE_S)
    if row is None or row["property_id"] is None:
        raise ToolFailure("forbidden", f"call {call_id!r} is not a call we know")
    if row["over"]:
        raise ToolFailure("forbidden", f"call {call_id!r} has ended")
    phone = row["from_number"] if row["direction"] == "inbound" else row["to_number"]
    return CallScope(call_id=row["id"], call_type=row["call_type"], direction=row["direction"],
                     property_id=row["property_id"], counterpart_phone=normalise_phone(phone),
                     vendor_id=row["vendor_id"], landlord_id=row["landlord_id"], incident_id=row["incident_id"])


def check_tool_allowed(call: CallScope, tool: str) -> None:
    if call.call_type not in CALL_TYPES_OF_TOOL[tool]:
        raise ToolFailure("forbidden", f"{tool} is not available on a {call.call_type} call")


def check_claims(call: CallScope, req: ToolRequest) -> None:
    """What the request says about the caller must be what the call row says."""
    claimed_property = getattr(req, "property_id", None)
    if claimed_property is not None and claimed_property != call.property_id:
        raise ToolFailure("forbidden", f"this call is about property {call.property_id}, not {claimed_property}")
    claimed_phone = getattr(req, "caller_phone", None)
    if claimed_phone and normalise_phone(claimed_phone) != call.counterpart_phone:
        raise ToolFailure("forbidden", "the phone number in the request is not the number on this call")


async def authorize(pool: asyncpg.Pool, tool: str, req: ToolRequest) -> CallScope:
    call = await load_call(pool, getattr(req, "call_id", None), tool)
    check_tool_allowed(call, tool)
    check_claims(call, req)
    return call
