"""get_vendor_code: the property's access code, only on a vendor call (the call row names the
vendor that was dialled) for that vendor's booking at the call's property inside its window,
and only with the booking reference the vendor was given (caller ID alone is spoofable).

Every release and refusal is written to access_code_releases with an event that never
carries the code; wrong references are limited per call."""

from __future__ import annotations

import asyncpg

from fixline_proto.events import VendorCodeRefused, VendorCodeReleased
from fixline_proto.tools import GetVendorCode, VendorCode

from . import references
from .calls import CallScope
from .context import ToolContext
from .errors import ToolFailure
from .incidents import require_property
from .outbox import enqueue

MAX_WRONG_REFERENCES = 3  # per call; then the call gets no code at all

REFUSALS = {
    "not_a_vendor_call": "I can only give the access code on a call with the booked vendor.",
    "no_active_booking": "I can't find a repair booked for you at this property right now, so I can't share the "
                         "access code. The code is available from one hour before the booked visit until it ends.",
    "reference_required": "Please tell me the booking reference you were given with the booking.",
    "wrong_reference": "That booking reference does not match the booking, so I can't share the access code.",
    "too_many_attempts": "I can't share the access code on this call. Please contact the property manager.",
    "no_code_on_file": "There is no access code on file for this property; please contact the property manager.",
}


async def get_vendor_code(ctx: ToolContext, req: GetVendorCode, call: CallScope) -> VendorCode:
    async with ctx.pool.acquire() as conn, conn.transaction():
        await require_property(conn, call.property_id)
        # One decision at a time per call, so concurrent guesses cannot overrun the limit.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 11))", f"vendor-code|{call.call_id}")
        reason, booking = await _decide(conn, ctx, req, call)
        code = None
        if not reason:
            code = await conn.fetchval("SELECT code FROM vendor_access_codes WHERE property_id = $1",
                                       call.property_id)
            reason = "" if code is not None else "no_code_on_file"
        await _audit(conn, call, reason, booking)
    if reason:
        raise ToolFailure("forbidden", REFUSALS[reason])
    assert booking is not None and code is not None  # no refusal: a booking matched, a code is on file
    return VendorCode(property_id=call.property_id, code=code, valid_until=booking["ends_at"])


async def _decide(conn: asyncpg.Connection, ctx: ToolContext, req: GetVendorCode,
                  call: CallScope) -> tuple[str, asyncpg.Record | None]:
    """(refusal reason or "", the booking the reference matched)."""
    if call.vendor_id is None:
        return "not_a_vendor_call", None
    wrong = await conn.fetchval("SELECT count(*) FROM access_code_releases WHERE call_id = $1"
                                " AND reason = 'wrong_reference'", call.call_id)
    if wrong >= MAX_WRONG_REFERENCES:
        return "too_many_attempts", None
    bookings = await _current_bookings(conn, call.property_id, call.vendor_id, ctx.settings.vendor_code_early_s)
    if not bookings:
        return "no_active_booking", None
    if not references.normalise(req.booking_reference):
        return "reference_required", None
    booking = next((b for b in bookings if references.matches(req.booking_reference, b["reference"])), None)
    return ("", booking) if booking else ("wrong_reference", None)


async def _current_bookings(conn: asyncpg.Connection, property_id: str, vendor_id: str,
                            early_s: float) -> list[asyncpg.Record]:
    bookings: list[asyncpg.Record] = await conn.fetch(
        "SELECT b.id, b.ends_at, b.reference FROM repair_bookings b JOIN incidents i ON i.id = b.incident_id"
        " WHERE b.property_id = $1 AND b.vendor_id = $2 AND i.status NOT IN ('resolved', 'cancelled')"
        " AND now() BETWEEN b.starts_at - make_interval(secs => $3) AND b.ends_at"
        " ORDER BY b.starts_at",
        property_id, vendor_id, early_s)
    return bookings


async def _audit(conn: asyncpg.Connection, call: CallScope, reason: str, booking: asyncpg.Record | None) -> None:
    await conn.execute(
        "INSERT INTO access_code_releases (property_id, vendor_id, caller_phone, call_id, granted, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        call.property_id, call.vendor_id, call.counterpart_phone, call.call_id, not reason,
        reason or f"booking {booking['id'] if booking is not None else None}")
    if reason:
        await enqueue(conn, VendorCodeRefused(property_id=call.property_id, caller_phone=call.counterpart_phone,
                                              reason=reason, vendor_id=call.vendor_id, call_id=call.call_id))
    else:
        assert call.vendor_id is not None  # _decide grants vendor calls only
        await enqueue(conn, VendorCodeReleased(property_id=call.property_id, vendor_id=call.vendor_id,
                                               call_id=call.call_id))
