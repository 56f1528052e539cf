"""Quotes, decisions and bookings only from the call (or workflow) entitled to them, and
only for a vendor that could do the job; the attack chain of the bus audit (book a repair,
then read the door code) is closed at every step. Each refusal changes nothing."""

import pytest

from fixline_proto.tools import ToolError

from .call_rows import insert_call
from .conftest import in_minutes, row_counts


async def _refused(tools, pool, tool: str, code: str, mentions: str, *, workflow: bool = False, **args) -> None:
    before = await row_counts(pool)
    result = await (tools.workflow if workflow else tools.call)(tool, **args)
    assert isinstance(result, ToolError) and result.code == code, result
    assert mentions in result.message, result.message
    assert await row_counts(pool) == before


# ------------------------------------------------------------------ quotes

async def test_a_vendor_call_quotes_only_as_its_own_vendor(tools, pool):
    incident_id, _ = await tools.open_incident()
    call_id = await insert_call(pool, call_type="vendor", incident_id=incident_id, vendor_id="v-plumb-1")
    await _refused(tools, pool, "record_quote", "forbidden", "with vendor v-plumb-1, not v-plumb-2",
                   incident_id=incident_id, vendor_id="v-plumb-2", price=1, call_id=call_id)


@pytest.mark.parametrize(("vendor_id", "mentions"), [
    ("v-plumb-3", "does not serve this property"),  # serves p3 only
    ("v-elec-1", "does electrical work, not plumbing"),
    ("v-gen-1", "does other work"),  # general repairs only where no plumber serves the property
])
async def test_a_vendor_that_cannot_do_the_job_cannot_quote(tools, pool, vendor_id, mentions):
    incident_id, _ = await tools.open_incident(property_id="p1", category="plumbing")
    call_id = await insert_call(pool, call_type="vendor", incident_id=incident_id, vendor_id=vendor_id)
    await _refused(tools, pool, "record_quote", "invalid_argument", mentions,
                   incident_id=incident_id, vendor_id=vendor_id, price=1, call_id=call_id)


async def test_a_vendor_call_about_one_incident_cannot_quote_for_another(tools, pool):
    called_about, _ = await tools.open_incident()
    other, _ = await tools.open_incident()
    call_id = await insert_call(pool, call_type="vendor", incident_id=called_about, vendor_id="v-plumb-1")
    await _refused(tools, pool, "record_quote", "forbidden", f"about incident {called_about}",
                   incident_id=other, vendor_id="v-plumb-1", price=1, call_id=call_id)


# ------------------------------------------------------------------ decisions

@pytest.mark.parametrize(("vendor_id", "code", "mentions"), [
    ("v-plumb-3", "invalid_argument", "does not serve this property"),  # the audit: a p3 vendor for p1
    ("v-hvac-1", "invalid_argument", "does hvac work, not plumbing"),
    ("v-ghost", "not_found", "vendor"),
])
async def test_only_an_eligible_vendor_can_be_approved(tools, pool, vendor_id, code, mentions):
    incident_id, _ = await tools.open_incident(property_id="p1", category="plumbing")
    call_id = await insert_call(pool, call_type="landlord", incident_id=incident_id, vendor_id="v-plumb-1")
    await _refused(tools, pool, "record_decision", code, mentions,
                   incident_id=incident_id, approved=True, vendor_id=vendor_id, call_id=call_id)


async def test_a_landlord_call_with_someone_other_than_the_owner_decides_nothing(tools, pool):
    incident_id, _ = await tools.open_incident(property_id="p1")
    for landlord_id in ("l3", None):  # another property's owner; nobody
        call_id = await insert_call(pool, call_type="landlord", property_id="p1", incident_id=incident_id,
                                    landlord_id=landlord_id or "l3")
        if landlord_id is None:
            await pool.execute("UPDATE calls SET landlord_id = NULL WHERE id = $1", call_id)
        await _refused(tools, pool, "record_decision", "forbidden", "not with the owner",
                       incident_id=incident_id, approved=True, vendor_id="v-plumb-1", call_id=call_id)


async def test_no_decision_on_a_closed_incident(tools, pool):
    incident_id, _ = await tools.open_incident()
    await tools.workflow("update_incident_status", incident_id=incident_id, status="cancelled")
    call_id = await insert_call(pool, call_type="landlord", incident_id=incident_id)
    await _refused(tools, pool, "record_decision", "conflict", "already cancelled",
                   incident_id=incident_id, approved=True, vendor_id="v-plumb-1", call_id=call_id)


# ------------------------------------------------------------------ bookings

def _booking(incident_id: str, vendor_id: str = "v-plumb-1", **extra) -> dict:
    return {"incident_id": incident_id, "vendor_id": vendor_id, "property_id": "p1",
            "start": in_minutes(2 * 24 * 60).isoformat(), **extra}


async def test_no_booking_without_the_owners_approval_of_that_vendor(tools, pool):
    incident_id, _ = await tools.open_incident()
    await _refused(tools, pool, "schedule_repair", "forbidden", "no approved repair", workflow=True,
                   **_booking(incident_id))
    await tools.approve(incident_id, "v-plumb-1")
    await _refused(tools, pool, "schedule_repair", "forbidden", "approved vendor v-plumb-1, not v-plumb-2",
                   workflow=True, **_booking(incident_id, "v-plumb-2"))
    landlord_call = await insert_call(pool, call_type="landlord", incident_id=incident_id)
    await _refused(tools, pool, "schedule_repair", "forbidden", "approved vendor v-plumb-1, not v-plumb-2",
                   call_id=landlord_call, **_booking(incident_id, "v-plumb-2"))


async def test_the_audit_attack_chain_book_then_read_the_door_code(tools, pool):
    """Over the bus, as in the audit: book a repair for the vendor, then ask for the door code
    with the vendor's phone number. Every step is refused; no booking, no release."""
    incident_id, guest_call = await tools.open_incident()
    vendor_phone = "+15550201001"
    for call_id in (None, guest_call):  # no call at all; the attacker's own guest call
        await _refused(tools, pool, "schedule_repair", "forbidden", "", call_id=call_id,
                       start=in_minutes(10).isoformat(), **{k: v for k, v in _booking(incident_id).items()
                                                            if k != "start"})
        await _refused(tools, pool, "get_vendor_code", "forbidden", "", property_id="p1",
                       caller_phone=vendor_phone, call_id=call_id)
    await _refused(tools, pool, "schedule_repair", "forbidden", "no approved repair", workflow=True,
                   **_booking(incident_id, start=in_minutes(10).isoformat()))
    assert await pool.fetchval("SELECT count(*) FROM access_code_releases WHERE call_id = $1", guest_call) == 0
