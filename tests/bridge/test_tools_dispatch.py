"""Tool calls over real NATS: to the real tools service (real PostgreSQL), and the error
paths every call id must survive (unknown tool, invalid arguments, timeout, cancellation)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
from google.genai import types

from fixline_proto import subjects
from fixline_proto.tools import CALL_TYPES_OF_TOOL
from services.bridge.metrics import BridgeMetrics
from services.bridge.call_context import CallContext
from services.bridge.tool_schema import declarations, parameters_schema
from services.bridge.tools_dispatch import ToolsDispatcher, build_request
from services.tools.app import ToolsService
from tests.support.services import running, settings_for
from tests.tools.call_rows import insert_call

CTX = CallContext(call_id="c-tools-1", call_type="guest", property_id="p1", caller_phone="+15550123456")


@dataclass
class OnCall:
    """The call's side of the dispatcher (``CallContextOwner``): holds the one context, as Call does."""

    ctx: CallContext

    def adopt_incident(self, incident_id: str) -> None:
        self.ctx = self.ctx.with_incident(incident_id)


class Answers:
    def __init__(self) -> None:
        self.responses: list[types.FunctionResponse] = []
        self.event = asyncio.Event()

    async def __call__(self, response: types.FunctionResponse) -> None:
        self.responses.append(response)
        self.event.set()

    async def wait(self, n: int, timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.responses) < n:
            self.event.clear()
            await asyncio.wait_for(self.event.wait(), deadline - asyncio.get_running_loop().time())


def fc(name: str, args: dict | None = None, id_: str = "function-call-1") -> types.FunctionCall:
    return types.FunctionCall(id=id_, name=name, args=args or {})


@pytest.mark.parametrize(("call_type", "direction", "tools"), [
    ("guest", "inbound", {"search_maintenance", "create_incident"}),
    ("vendor", "outbound", {"record_quote", "search_maintenance", "get_vendor_code"}),
    ("vendor", "inbound", {"get_vendor_code", "search_maintenance"}),  # a booked vendor phoned in
    ("landlord", "outbound", {"record_decision"}),
])
def test_each_persona_gets_its_tools_and_never_a_workflow_tool(call_type, direction, tools):
    ctx = CallContext(call_id="c-1", call_type=call_type, property_id="p1", direction=direction)
    given = {d.name for d in declarations(ctx, non_blocking=False)} - {"end_call", "transfer_to_human",
                                                                        "schedule_callback"}
    assert given == tools
    assert all(call_type in CALL_TYPES_OF_TOOL[name] for name in given)  # the tools service accepts them


def test_declarations_come_from_the_proto_and_hide_the_bridge_ids():
    decls = {d.name: d for d in declarations(CTX, non_blocking=True)}
    assert set(decls) == {"search_maintenance", "create_incident", "end_call", "transfer_to_human",
                          "schedule_callback"}  # the door code is for vendor calls only
    create = decls["create_incident"].parameters_json_schema
    assert set(create["properties"]) == {"category", "severity", "description", "needs_professional", "urgency"}
    assert set(create["required"]) == {"category", "severity", "description", "needs_professional", "urgency"}
    assert create["properties"]["severity"]["enum"] == ["emergency", "high", "low", "medium"]
    assert decls["search_maintenance"].behavior == types.Behavior.NON_BLOCKING
    assert decls["end_call"].behavior == types.Behavior.BLOCKING
    blocking = {d.name: d for d in declarations(CTX, non_blocking=False)}
    assert blocking["search_maintenance"].behavior is None  # 3.1: synchronous only
    json.dumps(create)  # plain JSON, no $ref


def test_vendor_calls_get_their_incident_and_vendor_filled_in():
    vendor = CallContext(call_id="c2", call_type="vendor", property_id="p1", incident_id="inc-1", vendor_id="v-1")
    decls = {d.name: d for d in declarations(vendor, non_blocking=True)}
    assert set(decls["record_quote"].parameters_json_schema["properties"]) == {
        "price", "currency", "earliest_start", "notes"}
    assert parameters_schema("record_quote", set())["properties"]["earliest_start"]["format"] == "date-time"


@pytest.fixture(scope="module")
async def tools(nats_url, database_url, pool):
    # The call the tools service authorizes CTX's requests against (ingress writes it in production).
    await insert_call(pool, call_id=CTX.call_id, property_id=CTX.property_id, phone=CTX.caller_phone)
    async with running(ToolsService(), settings_for("tools", kb_embed_on_start=False)) as svc:
        yield svc


async def test_create_incident_lands_in_postgres_with_the_bridge_ids(tools, nc, pool):
    answers = Answers()
    d = ToolsDispatcher(nc, OnCall(CTX), BridgeMetrics(), answers)
    d.on_tool_call([fc("create_incident", {"category": "plumbing", "severity": "high",
                                           "description": "Kitchen sink leaking under the cabinet",
                                           "property_id": "p3"})])  # the model cannot pick the property
    await answers.wait(1)
    r = answers.responses[0]
    assert (r.id, r.name) == ("function-call-1", "create_incident")
    assert r.scheduling == types.FunctionResponseScheduling.WHEN_IDLE
    incident_id = r.response["output"]["incident_id"]
    row = await pool.fetchrow("SELECT property_id, category, severity FROM incidents WHERE id = $1", incident_id)
    assert dict(row) == {"property_id": "p1", "category": "plumbing", "severity": "high"}


async def test_a_tool_the_persona_was_not_given_is_refused_and_changes_nothing(tools, nc, pool):
    """Statuses are the system's: a guest call's model calling update_incident_status (declared
    for no persona) gets unknown_tool, and the incident it opened stays as the system set it."""
    answers = Answers()
    d = ToolsDispatcher(nc, OnCall(CTX), BridgeMetrics(), answers)
    d.on_tool_call([fc("create_incident", {"category": "hvac", "severity": "low",
                                           "description": "The air conditioner rattles at night"})])
    await answers.wait(1)
    incident_id = answers.responses[0].response["output"]["incident_id"]
    history = await pool.fetchval("SELECT count(*) FROM incident_status_history WHERE incident_id = $1", incident_id)
    d.on_tool_call([fc("update_incident_status", {"status": "resolved"}, "function-call-2"),
                    fc("schedule_repair", {"vendor_id": "v-hvac-1", "start": "2030-01-01T10:00:00Z"},
                       "function-call-3")])
    await answers.wait(3)
    assert {r.response["error"]["code"] for r in answers.responses[1:]} == {"unknown_tool"}
    assert await pool.fetchval("SELECT status FROM incidents WHERE id = $1", incident_id) == "open"
    assert await pool.fetchval("SELECT count(*) FROM incident_status_history WHERE incident_id = $1",
                               incident_id) == history
    assert await pool.fetchval("SELECT count(*) FROM repair_bookings WHERE incident_id = $1", incident_id) == 0


async def test_a_repeated_identical_call_in_one_turn_runs_once(tools, nc, pool):
    requests: list[bytes] = []

    async def record(msg) -> None:
        requests.append(msg.data)

    spy = await nc.subscribe(subjects.tool("create_incident"), cb=record)
    answers = Answers()
    d = ToolsDispatcher(nc, OnCall(CTX), BridgeMetrics(), answers)
    args = {"category": "appliance", "severity": "low", "description": "The fridge light flickers",
            "needs_professional": False, "urgency": "flexible"}
    d.on_tool_call([fc("create_incident", args, "function-call-1"),
                    fc("create_incident", dict(args), "function-call-2"),
                    fc("create_incident", {**args, "severity": "medium"}, "function-call-3")])
    await answers.wait(3)
    by_id = {r.id: r.response for r in answers.responses}
    assert by_id["function-call-1"] == by_id["function-call-2"]  # one answer, given to both ids
    made = await pool.fetchval("SELECT count(*) FROM incidents WHERE description = $1 AND call_id = $2",
                               args["description"], CTX.call_id)
    assert made == 1  # the third (different severity) is deduped by the tools service, not run twice here
    assert len({r.response["output"]["incident_id"] for r in answers.responses}) == 1
    await spy.unsubscribe()
    assert len(requests) == 2  # calls 1 and 3 reached the tools service; 2 was answered with 1's answer


async def test_unknown_tool_and_invalid_arguments_are_answered_with_errors(tools, nc):
    answers = Answers()
    d = ToolsDispatcher(nc, OnCall(CTX), BridgeMetrics(), answers)
    d.on_tool_call([fc("make_coffee", {}, "function-call-1"),
                    fc("create_incident", {"category": "volcano", "severity": "high", "description": "x"},
                       "function-call-2")])
    await answers.wait(2)
    by_id = {r.id: r for r in answers.responses}
    assert by_id["function-call-1"].name == "make_coffee"
    assert by_id["function-call-1"].response["error"]["code"] == "unknown_tool"
    assert by_id["function-call-2"].response["error"]["code"] == "invalid_argument"
    assert "category" in by_id["function-call-2"].response["error"]["message"]


def test_the_model_cannot_set_the_ids_the_bridge_owns():
    request = build_request("create_incident", {"category": "plumbing", "severity": "low", "description": "d",
                                                "caller_phone": "+15550201001", "call_id": "c-other",
                                                "property_id": "p3"}, CTX)
    assert (request.call_id, request.property_id, request.caller_phone) == (CTX.call_id, "p1", None)
    code = build_request("get_vendor_code", {"booking_reference": "4812-7730"}, CTX)
    assert (code.call_id, code.booking_reference, code.caller_phone) == (CTX.call_id, "4812-7730", None)


def test_a_landlord_approval_defaults_to_the_recommended_vendor():
    landlord = CallContext(call_id="c3", call_type="landlord", property_id="p1", incident_id="inc-1",
                           vendor_id="v-plumb-1")
    assert build_request("record_decision", {"approved": True}, landlord).vendor_id == "v-plumb-1"
    chosen = build_request("record_decision", {"approved": True, "vendor_id": "v-plumb-2"}, landlord)
    assert chosen.vendor_id == "v-plumb-2"  # the landlord may approve another vendor
    vendor = CallContext(call_id="c4", call_type="vendor", property_id="p1", incident_id="inc-1", vendor_id="v-1")
    assert build_request("record_quote", {"price": 90, "vendor_id": "v-9"}, vendor).vendor_id == "v-1"


async def test_the_incident_a_tool_opened_becomes_the_calls_own(tools, nc, pool):
    """Held by the call, not by the dispatcher: the outcome event and a rebuilt prompt read it there."""
    call = OnCall(CallContext(call_id=await insert_call(pool, property_id="p1"), call_type="guest", property_id="p1"))
    answers = Answers()
    d = ToolsDispatcher(nc, call, BridgeMetrics(), answers)
    d.on_tool_call([fc("create_incident", {"category": "electrical", "severity": "medium",
                                           "description": "The hallway lights flicker"})])
    await answers.wait(1)
    incident_id = answers.responses[0].response["output"]["incident_id"]
    assert call.ctx.incident_id == incident_id and d.ctx is call.ctx


def test_a_call_keeps_its_first_incident():
    ctx = CTX.with_incident("inc-first")
    assert ctx.incident_id == "inc-first" and CTX.incident_id == ""
    assert ctx.with_incident("inc-second") is ctx and ctx.with_incident("").incident_id == "inc-first"
