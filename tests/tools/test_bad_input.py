"""Malformed, mistyped, hostile and over-long arguments: a clear ToolError, nothing written."""

import msgspec
import pytest

from fixline_proto.tools import IncidentRef, SearchResults, ToolError

from .conftest import row_counts

INJECTION = "p1'; DROP TABLE incidents; --"

BAD_CALLS = [
    ("create_incident", {"property_id": 1, "category": "plumbing", "severity": "high", "description": "x"},
     "Expected `str`, got `int` - at `$.property_id`"),
    ("create_incident", {"property_id": "p1", "category": "volcano", "severity": "high", "description": "x"},
     "$.category"),
    ("create_incident", {"property_id": "p1", "category": "plumbing", "severity": "high"},
     "missing required field `description`"),
    ("create_incident", {"property_id": "p1", "category": "plumbing", "severity": "high", "description": "x" * 4001},
     "$.description"),
    ("create_incident", {"property_id": INJECTION, "category": "plumbing", "severity": "high", "description": "x"},
     "$.property_id"),
    ("create_incident", {"property_id": "p1", "category": "plumbing", "severity": "high", "description": "x",
                         "caller_phone": "'; DELETE FROM incidents; --"}, "$.caller_phone"),
    ("update_incident_status", {"incident_id": "inc-1", "status": "exploded"}, "$.status"),
    ("update_incident_status", {"incident_id": ["inc-1"], "status": "resolved"}, "$.incident_id"),
    ("update_incident_status", {"incident_id": "inc-1", "status": "resolved", "tool": "create_incident"}, "$.tool"),
    ("search_maintenance", {"property_id": "p1", "query": ""}, "$.query"),
    ("search_maintenance", {"property_id": "p1", "query": "q" * 1001}, "$.query"),
    ("search_maintenance", {"property_id": "p1", "query": "water", "limit": 500}, "$.limit"),
    ("get_vendor_code", {"property_id": "p1", "caller_phone": "not a phone"}, "$.caller_phone"),
    ("schedule_repair", {"incident_id": "inc-1", "vendor_id": "v-plumb-1", "property_id": "p1",
                         "start": "next tuesday"}, "$.start"),
    ("schedule_repair", {"incident_id": "inc-1", "vendor_id": "v-plumb-1", "property_id": "p1",
                         "start": "2030-01-01T10:00:00Z", "duration_minutes": 5}, "$.duration_minutes"),
    ("record_quote", {"incident_id": "inc-1", "vendor_id": "v-plumb-1", "price": -5}, "$.price"),
    ("record_quote", {"incident_id": "inc-1", "vendor_id": "v-plumb-1", "price": "cheap"}, "$.price"),
    ("record_decision", {"incident_id": "inc-1", "approved": "yes"}, "$.approved"),
]


@pytest.mark.parametrize(("tool", "args", "mentions"), BAD_CALLS, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CALLS)])
async def test_invalid_arguments_are_refused_and_change_nothing(tools, pool, tool, args, mentions):
    before = await row_counts(pool)
    result = await tools.raw(tool, msgspec.json.encode(args))
    assert isinstance(result, ToolError)
    assert result.code == "invalid_argument" and not result.retryable
    assert mentions in result.message
    assert "Traceback" not in result.message
    assert await row_counts(pool) == before


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b"{\"property_id\": ", b"\xff\xfe", b"null"])
async def test_malformed_bodies_are_refused(tools, pool, body):
    before = await row_counts(pool)
    result = await tools.raw("create_incident", body)
    assert isinstance(result, ToolError) and result.code == "invalid_argument"
    assert await row_counts(pool) == before


async def test_oversized_body_is_refused(tools, pool):
    before = await row_counts(pool)
    result = await tools.raw("search_maintenance", b'{"property_id": "p1", "query": "' + b"a" * 70_000 + b'"}')
    assert isinstance(result, ToolError) and result.code == "invalid_argument" and "too large" in result.message
    assert await row_counts(pool) == before


async def test_injection_text_in_free_text_is_stored_verbatim_not_executed(tools, pool):
    hostile = "Robert'); DROP TABLE incidents; -- the sink leaks"
    created = await tools.on_guest_call("create_incident", category="plumbing", severity="low",
                                        description=hostile)
    assert isinstance(created, IncidentRef)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT description FROM incidents WHERE id = $1", created.incident_id) == hostile
    found = await tools.on_guest_call("search_maintenance", query="' OR 1=1; DROP TABLE kb_articles; --")
    assert isinstance(found, SearchResults)
    assert all(hit.article_id.startswith("p1-") for hit in found.hits)
