"""create_incident (on a guest call) and update_incident_status (the workflow's full state
machine) over NATS, against real PostgreSQL. What a guest call may not do: test_authz_*."""

import asyncio

from fixline_proto.tools import IncidentRef, IncidentStatusChanged, ToolError

from .call_rows import insert_call
from .conftest import row_counts, unique_phone


async def _create(tools, phone=None, category="plumbing", property_id="p1", call_id=None):
    call_id = call_id or await insert_call(tools.pool, property_id=property_id, phone=phone or unique_phone())
    return await tools.call("create_incident", property_id=property_id, category=category, severity="high",
                            description="No hot water in the main bathroom", call_id=call_id)


async def test_create_incident_writes_row_history_and_outbox(tools, pool):
    phone = unique_phone()
    result = await _create(tools, phone)
    assert isinstance(result, IncidentRef) and result.status == "open" and not result.duplicate
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM incidents WHERE id = $1", result.incident_id)
        history = await conn.fetch("SELECT from_status, to_status FROM incident_status_history"
                                   " WHERE incident_id = $1", result.incident_id)
        outbox = await conn.fetch("SELECT subject FROM outbox WHERE convert_from(payload, 'UTF8') LIKE $1",
                                  f"%{result.incident_id}%")
    assert (row["property_id"], row["category"], row["caller_phone"]) == ("p1", "plumbing", phone)
    assert [tuple(h) for h in history] == [(None, "open")]
    assert [o["subject"] for o in outbox] == ["events.p1.incident.created"]


async def test_repeat_report_returns_the_open_incident(tools, pool):
    phone = unique_phone()
    first = await _create(tools, phone)
    before = await row_counts(pool)
    again = await _create(tools, "+1 " + phone[2:5] + " " + phone[5:])  # same number, another call
    assert isinstance(again, IncidentRef)
    assert again.duplicate and again.incident_id == first.incident_id
    assert await row_counts(pool) == before
    other_category = await _create(tools, phone, category="electrical")
    assert not other_category.duplicate and other_category.incident_id != first.incident_id


async def test_concurrent_identical_reports_make_one_incident(tools, pool):
    phone = unique_phone()
    results = await asyncio.gather(*(_create(tools, phone, category="hvac") for _ in range(8)))
    assert len({r.incident_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incidents WHERE caller_phone = $1", phone) == 1


async def test_resolved_incident_is_not_a_duplicate_target(tools):
    phone = unique_phone()
    first = await _create(tools, phone, category="appliance")
    await tools.workflow("update_incident_status", incident_id=first.incident_id, status="resolved")
    second = await _create(tools, phone, category="appliance")
    assert not second.duplicate and second.incident_id != first.incident_id


async def test_a_retried_report_on_the_same_call_is_one_incident(tools):
    call_id = await insert_call(tools.pool, property_id="p2")
    first = await _create(tools, category="locks", property_id="p2", call_id=call_id)
    second = await _create(tools, category="locks", property_id="p2", call_id=call_id)
    assert second.duplicate and second.incident_id == first.incident_id


async def test_full_lifecycle_is_recorded_in_history(tools, pool):
    incident = await _create(tools)
    path = ["troubleshooting", "awaiting_quotes", "awaiting_approval", "scheduled", "resolved"]
    previous = "open"
    for status in path:
        result = await tools.workflow("update_incident_status", incident_id=incident.incident_id, status=status,
                                  note=f"now {status}")
        assert isinstance(result, IncidentStatusChanged)
        assert (result.status, result.previous_status) == (status, previous)
        previous = status
    async with pool.acquire() as conn:
        history = await conn.fetch("SELECT from_status, to_status FROM incident_status_history"
                                   " WHERE incident_id = $1 ORDER BY id", incident.incident_id)
        updates = await conn.fetchval("SELECT count(*) FROM outbox WHERE subject = 'events.p1.incident.updated'"
                                      " AND convert_from(payload, 'UTF8') LIKE $1", f"%{incident.incident_id}%")
    assert [h["to_status"] for h in history] == ["open", *path]
    assert updates == len(path)


async def test_illegal_transitions_are_refused_and_change_nothing(tools, pool):
    incident = await _create(tools)
    await tools.workflow("update_incident_status", incident_id=incident.incident_id, status="troubleshooting")
    before = await row_counts(pool)
    refused = await tools.workflow("update_incident_status", incident_id=incident.incident_id,
                                   status="awaiting_approval")
    assert isinstance(refused, ToolError) and refused.code == "illegal_transition"
    assert "troubleshooting" in refused.message
    assert await row_counts(pool) == before
    await tools.workflow("update_incident_status", incident_id=incident.incident_id, status="cancelled")
    before = await row_counts(pool)
    for status in ("open", "resolved", "troubleshooting"):
        refused = await tools.workflow("update_incident_status", incident_id=incident.incident_id, status=status)
        assert isinstance(refused, ToolError) and refused.code == "illegal_transition"
        assert "already cancelled" in refused.message
    assert await row_counts(pool) == before


async def test_same_status_again_is_an_idempotent_no_op(tools, pool):
    incident = await _create(tools)
    await tools.workflow("update_incident_status", incident_id=incident.incident_id, status="troubleshooting")
    before = await row_counts(pool)
    again = await tools.workflow("update_incident_status", incident_id=incident.incident_id,
                                 status="troubleshooting")
    assert isinstance(again, IncidentStatusChanged) and again.previous_status == "troubleshooting"
    assert await row_counts(pool) == before


async def test_unknown_incident(tools, pool):
    before = await row_counts(pool)
    missing = await tools.workflow("update_incident_status", incident_id="inc-does-not-exist", status="resolved")
    assert isinstance(missing, ToolError) and missing.code == "not_found"
    assert await row_counts(pool) == before
