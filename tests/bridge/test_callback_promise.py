"""The bridge records "we will call you back" once per call, only where a call-back can be made
(a guest, with a number): vendors and owners are phoned again by outreach's own workflows."""

from __future__ import annotations

from typing import Any

from fixline_proto.events import CallbackPromised
from services.bridge.callback_promise import CallbackPromise
from services.bridge.call_context import CallContext


class Sink:
    def __init__(self) -> None:
        self.emitted: list[tuple[Any, str]] = []

    def emit(self, event: Any, msg_id: str) -> None:
        self.emitted.append((event, msg_id))


class OnCall:
    """The call's side (``CallContextOwner``): the one context, which learns the incident."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx

    def adopt_incident(self, incident_id: str) -> None:
        self.ctx = self.ctx.with_incident(incident_id)


def ctx(**overrides: str) -> CallContext:
    values = {"call_id": "call-1", "call_type": "guest", "property_id": "p1", "caller_phone": "+15550001111"}
    return CallContext(**{**values, **overrides})


def test_one_promise_per_call_with_the_incident_the_call_opened():
    sink, call = Sink(), OnCall(ctx())
    promise = CallbackPromise(call, sink)  # type: ignore[arg-type]
    call.adopt_incident("inc-9")
    assert promise.make("tools_unavailable", "create_incident could not be reached")
    assert promise.make("agent_unavailable")  # already promised: still true, nothing new
    ((event, msg_id),) = sink.emitted
    assert isinstance(event, CallbackPromised) and msg_id == "call-1:callback.promised"
    assert (event.reason, event.to_number, event.incident_id, event.property_id) == (
        "tools_unavailable", "+15550001111", "inc-9", "p1")


def test_no_promise_for_vendors_owners_or_a_caller_without_a_number():
    for context in (ctx(call_type="vendor"), ctx(call_type="landlord"), ctx(caller_phone="")):
        sink = Sink()
        assert not CallbackPromise(OnCall(context), sink).make("time_limit")  # type: ignore[arg-type]
        assert sink.emitted == []


async def test_schedule_callback_is_the_guest_agents_promise_and_declared_to_guests_only():
    from services.bridge.tool_schema import declarations

    sink = Sink()
    promise = CallbackPromise(OnCall(ctx()), sink)  # type: ignore[arg-type]
    answer = await promise.schedule_callback_tool({"reason": "the guest has to leave; check the boiler"})
    assert answer["output"]["ok"] is True
    ((event, _),) = sink.emitted
    assert (event.reason, event.note) == ("agent_request", "the guest has to leave; check the boiler")
    refused = await CallbackPromise(OnCall(ctx(call_type="vendor")), Sink()).schedule_callback_tool(  # type: ignore[arg-type]
        {"reason": "x"})
    assert refused["error"]["code"] == "unavailable"
    for call_type, declared in (("guest", True), ("vendor", False), ("landlord", False)):
        names = {d.name for d in declarations(ctx(call_type=call_type), non_blocking=True)}
        assert ("schedule_callback" in names) is declared
    schema = next(d for d in declarations(ctx(), non_blocking=True) if d.name == "schedule_callback")
    assert schema.parameters_json_schema["required"] == ["reason"]
