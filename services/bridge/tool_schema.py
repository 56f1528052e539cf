"""Gemini function declarations, generated from the proto tool Structs.

The JSON Schema comes from ``msgspec.json.schema`` of each request Struct, so a new field
in ``fixline_proto.tools`` reaches the model without touching the bridge. The bridge
removes what it fills in itself (ids the model must never choose: property, call, and the
incident/vendor when the call is about one) and adds the two tools it handles itself:
``end_call``, ``transfer_to_human`` and, for guests, ``schedule_callback``. The caller's number is never sent: the tools
service reads it, like everything else about the caller, from the call row of ``call_id``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from google.genai import types

from fixline_proto.tools import CALL_TYPES_OF_TOOL, TOOL_REQUESTS

from .call_context import CallContext

END_CALL = "end_call"
TRANSFER = "transfer_to_human"
SCHEDULE_CALLBACK = "schedule_callback"
BRIDGE_TOOLS = (END_CALL, TRANSFER, SCHEDULE_CALLBACK)
CALLBACK_CALL_TYPES = ("guest",)  # vendors and owners are phoned again by outreach's own workflows
ALWAYS_FILLED = ("property_id", "call_id", "caller_phone")

DESCRIPTIONS: dict[str, str] = {
    "search_maintenance": "Search this property's maintenance guide (appliances, heating, water, wifi, "
                          "locks...) for troubleshooting steps. Use it before opening an incident.",
    "get_vendor_code": "Get the property's access code for the vendor on this call. Only works for the "
                       "booked vendor during the visit window, and only with the booking reference the "
                       "vendor was given with the booking: ask them for it first. Never guess a reference.",
    "create_incident": "Open a maintenance incident for this property when troubleshooting did not fix "
                       "the problem or a professional is needed. State whether a professional must come "
                       "(needs_professional) and how soon (urgency): the system arranges the repair from "
                       "them. Returns the incident id and its status; for an emergency also safety_instructions, "
                       "which you must read to the caller at once.",
    "update_incident_status": "Change an incident's status (for example resolved after troubleshooting worked).",
    "schedule_repair": "Book a vendor's repair visit in the property's calendar.",
    "record_quote": "Record the vendor's quote for the job discussed on this call: price, currency and "
                    "earliest start.",
    "record_decision": "Record the owner's decision on the repair: approved or not, and which vendor.",
    END_CALL: "Hang up the phone call. Say goodbye first; the call ends once your goodbye has played.",
    TRANSFER: "Transfer the caller to a human member of the team. Tell the caller first.",
    SCHEDULE_CALLBACK: "Promise the caller a call-back from the team when this call cannot finish what they "
                       "need (they must go, or you cannot help with it now): the system phones them back in a "
                       "few minutes. Never say we will call back without calling this; tell the caller once "
                       "it succeeds.",
}

FIELD_DOCS: dict[str, str] = {
    "query": "What the caller describes, in a few words (e.g. 'dishwasher not draining').",
    "limit": "How many guide passages to return (1-10).",
    "category": "The kind of problem.",
    "severity": "emergency = danger to people or property now; high = unusable/urgent today; "
                "medium = needs a visit soon; low = cosmetic.",
    "description": "A clear one-paragraph description: what, where, since when, what was tried.",
    "incident_id": "The incident id returned by create_incident or given in the call details.",
    "status": "The new status.",
    "note": "Why the status changes.",
    "vendor_id": "The vendor's id from the call details or the briefing.",
    "start": "Visit start, ISO 8601 with timezone offset (e.g. 2026-12-01T10:00:00-08:00).",
    "duration_minutes": "Expected visit length in minutes.",
    "price": "The quoted price as a number.",
    "currency": "ISO currency code, e.g. USD.",
    "earliest_start": "Earliest start the vendor offered, ISO 8601 with timezone offset.",
    "notes": "Conditions or remarks, in a sentence.",
    "approved": "true if the owner approved the repair.",
    "needs_professional": "true if a tradesperson must come to fix it (troubleshooting did not solve it); "
                          "false if the guest can live with it or it is already solved.",
    "urgency": "How soon someone must come: emergency = now (danger); today = the place is hard to use; "
               "this_week = a visit in the next days; flexible = whenever convenient.",
    "booking_reference": "The booking reference exactly as the vendor says it (digits, e.g. 4812-7730).",
}

# What each persona is given: a subset of what the tools service accepts on that call type
# (``CALL_TYPES_OF_TOOL``). Statuses and bookings are the system's (workflow-only tools).
TOOLS_BY_CALL_TYPE: dict[str, tuple[str, ...]] = {
    "guest": ("search_maintenance", "create_incident"),
    "vendor": ("record_quote", "search_maintenance", "get_vendor_code"),
    "landlord": ("record_decision",),
}

# A booked vendor phoning in (ingress types it vendor) is there for the access code, not a quote.
INBOUND_VENDOR_TOOLS = ("get_vendor_code", "search_maintenance")

# Fields optional on the bus (older clients) that the model must always state.
MODEL_MUST_STATE: dict[str, tuple[str, ...]] = {"create_incident": ("needs_professional", "urgency")}


def filled_fields(ctx: CallContext) -> dict[str, Any]:
    """Arguments the bridge sets itself; they override anything the model sends."""
    filled: dict[str, Any] = {"property_id": ctx.property_id, "call_id": ctx.call_id}
    if ctx.incident_id:
        filled["incident_id"] = ctx.incident_id
    if ctx.vendor_id and ctx.call_type == "vendor":
        filled["vendor_id"] = ctx.vendor_id
    return filled


def default_fields(ctx: CallContext) -> dict[str, Any]:
    """Arguments the model may leave out: on a landlord call, the vendor being approved is
    the one outreach recommended (the landlord may still name another)."""
    if ctx.vendor_id and ctx.call_type == "landlord":
        return {"vendor_id": ctx.vendor_id}
    return {}


def _simplify(prop: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema as Gemini takes it: ``X | None`` -> optional X; typed enums; date-times."""
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        prop = {**options[0], **{k: v for k, v in prop.items() if k not in ("anyOf", "default")}}
    prop = {k: v for k, v in prop.items() if k != "default" or v is not None}
    if "enum" in prop and "type" not in prop:
        prop["type"] = "string"
    return prop


def parameters_schema(name: str, hidden: set[str]) -> dict[str, Any]:
    full = msgspec.json.schema(TOOL_REQUESTS[name])
    body = full["$defs"][full["$ref"].rsplit("/", 1)[1]]
    properties, required = {}, []
    for field, prop in body["properties"].items():
        if field == "tool" or field in hidden:
            continue
        prop = _simplify(prop)
        if field in FIELD_DOCS:
            prop["description"] = FIELD_DOCS[field]
        if field in ("start", "earliest_start"):
            prop["format"] = "date-time"
        properties[field] = prop
        if field in body.get("required", ()) or field in MODEL_MUST_STATE.get(name, ()):
            required.append(field)
    return {"type": "object", "properties": properties, "required": required}


BRIDGE_TOOL_REASONS = {END_CALL: "Why the call ends (e.g. 'resolved', 'caller asked').",
                       TRANSFER: "Why the caller needs a person.",
                       SCHEDULE_CALLBACK: "Why we call back and what is left to do, in one sentence."}


def _bridge_tool_schema(name: str) -> dict[str, Any]:
    required = ["reason"] if name == SCHEDULE_CALLBACK else []
    return {"type": "object", "properties": {"reason": {"type": "string", "description": BRIDGE_TOOL_REASONS[name]}},
            "required": required}


def bridge_tools_for(ctx: CallContext) -> tuple[str, ...]:
    """Call control for every persona; the call-back promise only where one can be kept."""
    return tuple(n for n in BRIDGE_TOOLS if n != SCHEDULE_CALLBACK or ctx.call_type in CALLBACK_CALL_TYPES)


def tools_for_call_type(call_type: str) -> tuple[str, ...]:
    """Which proto tools each persona needs, and nothing else (fewer tools = fewer wrong calls):
    statuses and bookings are the system's (a landlord cannot book a time of its own choosing),
    and never a tool the tools service would refuse on this call type (``CALL_TYPES_OF_TOOL``).
    A vendor phoning in for the door code is typed vendor by ingress (its number + a booking)."""
    return tuple(n for n in TOOLS_BY_CALL_TYPE.get(call_type, ()) if call_type in CALL_TYPES_OF_TOOL[n])


def tools_for(ctx: CallContext) -> tuple[str, ...]:
    """The tools of this call: its persona's, narrowed for a vendor who phoned in."""
    tools = tools_for_call_type(ctx.call_type)
    if ctx.call_type == "vendor" and ctx.direction == "inbound":
        return tuple(n for n in tools if n in INBOUND_VENDOR_TOOLS)
    return tools


def declarations(ctx: CallContext, non_blocking: bool) -> list[types.FunctionDeclaration]:
    hidden = set(ALWAYS_FILLED) | set(filled_fields(ctx))
    behavior = types.Behavior.NON_BLOCKING if non_blocking else None
    decls = [types.FunctionDeclaration(name=name, description=DESCRIPTIONS.get(name, name),
                                       parameters_json_schema=parameters_schema(name, hidden),
                                       behavior=behavior)
             for name in tools_for(ctx)]
    # Call control stays blocking: the model must wait for it to take effect.
    control = types.Behavior.BLOCKING if non_blocking else None
    decls += [types.FunctionDeclaration(name=name, description=DESCRIPTIONS[name],
                                        parameters_json_schema=_bridge_tool_schema(name), behavior=control)
              for name in bridge_tools_for(ctx)]
    return decls
