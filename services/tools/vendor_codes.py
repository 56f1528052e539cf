"""get_vendor_code: the property's access code, only for a vendor booked there now.

Every release and refusal is written to access_code_releases; the event never carries the code."""

from __future__ import annotations

import asyncpg

from fixline_proto.events import VendorCodeRefused, VendorCodeReleased
from fixline_proto.tools import GetVendorCode, VendorCode

from .context import ToolContext
from .errors import ToolFailure
from .incidents import require_property
from .outbox import enqueue
from .phones import normalise_phone

REFUSALS = {
    "unknown_caller": "I can only give the access code to a vendor calling from the number we have on file.",
    "no_active_booking": "I can't find a repair booked for you at this property right now, so I can't share the "
                         "access code. The code is available from one hour before the booked visit until it ends.",
    "no_code_on_file": "There is no access code on file for this property; please contact the property manager.",
}


async def get_vendor_code(ctx: ToolContext, req: GetVendorCode) -> VendorCode:
    phone = normalise_phone(req.caller_phone)
    async with ctx.pool.acquire() as conn:
        await require_property(conn, req.property_id)
        vendor_id = await conn.fetchval("SELECT id FROM vendors WHERE phone = $1 ORDER BY id LIMIT 1", phone)
        booking = await _current_booking(conn, req.property_id, vendor_id, ctx.settings.vendor_code_early_s) \
            if vendor_id else None
        code = await conn.fetchval("SELECT code FROM vendor_access_codes WHERE property_id = $1", req.property_id)
        reason = ("unknown_caller" if vendor_id is None else "no_active_booking" if booking is None
                  else "no_code_on_file" if code is None else "")
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO access_code_releases (property_id, vendor_id, caller_phone, call_id, granted, reason)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                req.property_id, vendor_id, phone, req.call_id, not reason, reason or f"booking {booking['id']}")
            if reason:
                await enqueue(conn, VendorCodeRefused(property_id=req.property_id, caller_phone=phone,
                                                      reason=reason, vendor_id=vendor_id, call_id=req.call_id))
            else:
                await enqueue(conn, VendorCodeReleased(property_id=req.property_id, vendor_id=vendor_id,
                                                       call_id=req.call_id))
    if reason:
        raise ToolFailure("forbidden", REFUSALS[reason])
    return VendorCode(property_id=req.property_id, code=code, valid_until=booking["ends_at"])


async def _current_booking(conn: asyncpg.Connection, property_id: str, vendor_id: str,
                           early_s: float) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT b.id, b.ends_at FROM repair_bookings b JOIN incidents i ON i.id = b.incident_id"
        " WHERE b.property_id = $1 AND b.vendor_id = $2 AND i.status NOT IN ('resolved', 'cancelled')"
        " AND now() BETWEEN b.starts_at - make_interval(secs => $3) AND b.ends_at"
        " ORDER BY b.starts_at LIMIT 1",
        property_id, vendor_id, early_s)
