import json
import typing
from pathlib import Path

import msgspec
import pytest

from fixline import schema
from fixline_proto import codec, decode, encode, subjects
from fixline_proto.commands import AnyCallControl
from fixline_proto.events import AnyEvent
from fixline_proto.tools import TOOL_REQUESTS, AnyToolRequest, AnyToolResult, CreateIncident

from . import samples

GOLDEN = Path(__file__).with_name("golden")


def _name(message: msgspec.Struct) -> str:
    return type(message).__name__


def test_every_union_member_has_a_sample():
    sampled = {type(m) for m in samples.ALL}
    for union in (AnyEvent, AnyToolRequest, AnyToolResult, AnyCallControl):
        missing = set(typing.get_args(union)) - sampled
        assert not missing, f"no sample for {missing}"


@pytest.mark.parametrize(
    ("messages", "decoder"),
    [(samples.EVENTS, codec.EVENT_DECODER), (samples.TOOL_REQUESTS, codec.TOOL_REQUEST_DECODER),
     (samples.TOOL_RESULTS, codec.TOOL_RESULT_DECODER), (samples.CALL_CONTROL, codec.CALL_CONTROL_DECODER)],
    ids=["events", "tool-requests", "tool-results", "call-control"],
)
def test_union_round_trip(messages, decoder):
    for message in messages:
        assert decoder.decode(encode(message)) == message


@pytest.mark.parametrize("message", samples.OTHER, ids=_name)
def test_plain_round_trip(message):
    assert decode(encode(message), type(message)) == message


@pytest.mark.parametrize("message", samples.ALL, ids=_name)
def test_golden_json(message):
    golden = GOLDEN / f"{_name(message)}.json"
    assert json.loads(encode(message)) == json.loads(golden.read_text()), (
        f"wire format of {_name(message)} changed; if intended, update {golden.name}"
    )


def test_tags_are_dotted_and_tool_names_snake():
    assert json.loads(encode(samples.EVENTS[0]))["type"] == "incident.created"
    assert set(TOOL_REQUESTS) == {
        "search_maintenance", "get_vendor_code", "create_incident", "update_incident_status",
        "schedule_repair", "record_quote", "record_decision",
    }


def test_every_tool_says_which_calls_may_use_it():
    from fixline_proto.tools import CALL_TYPES_OF_TOOL, WORKFLOW_TOOLS
    assert set(CALL_TYPES_OF_TOOL) == set(TOOL_REQUESTS)
    assert all(types and types <= {"guest", "vendor", "landlord"} for types in CALL_TYPES_OF_TOOL.values())
    assert set(WORKFLOW_TOOLS) <= set(TOOL_REQUESTS)
    for name in TOOL_REQUESTS:  # the bridge sets call_id on every call-tool request
        assert "call_id" in TOOL_REQUESTS[name].__struct_fields__, name


def test_unknown_fields_are_ignored_for_forward_compatibility():
    wire = json.loads(encode(samples.EVENTS[0]))
    wire["added_in_v2"] = "x"
    assert codec.EVENT_DECODER.decode(json.dumps(wire)) == samples.EVENTS[0]


@pytest.mark.parametrize(
    "bad",
    [
        {"tool": "create_incident", "property_id": "p1", "category": "plumbing", "severity": "apocalyptic",
         "description": "x"},
        {"tool": "create_incident", "property_id": "p1'; DROP TABLE incidents;--", "category": "plumbing",
         "severity": "low", "description": "x"},
        {"tool": "create_incident", "property_id": "p1", "category": "plumbing", "severity": "low",
         "description": "x" * 5000},
        {"tool": "create_incident", "property_id": 7, "category": "plumbing", "severity": "low", "description": "x"},
        {"tool": "search_maintenance", "property_id": "p1", "query": "q", "limit": 500},
        {"tool": "no_such_tool"},
    ],
)
def test_bad_tool_arguments_are_rejected(bad):
    with pytest.raises(msgspec.ValidationError):
        codec.TOOL_REQUEST_DECODER.decode(json.dumps(bad))


def test_contracts_are_frozen():
    incident = CreateIncident(property_id="p1", category="plumbing", severity="low", description="d")
    with pytest.raises(AttributeError):
        incident.severity = "high"  # type: ignore[misc]


def test_subjects():
    assert subjects.tool("create_incident") == "tools.create_incident"
    assert subjects.workflow_tool("schedule_repair") == "tools.workflow.schedule_repair"
    assert subjects.event("p1", "incident.created") == "events.p1.incident.created"
    assert subjects.events_of_property("p2") == "events.p2.>"
    assert subjects.call_control("abc") == "call.abc.control"


def test_checked_in_schema_matches_contracts():
    assert schema.SCHEMA_PATH.read_text() == schema.render(), "run `make schema` and commit the result"
