"""Requests and replies of the tools service (one NATS endpoint per request type)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from .base import ToolRequest, ToolResult

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:+-]+$")]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Phone = Annotated[str, msgspec.Meta(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()-]+$")]
# What the vendor reads out (``4812-7730``); only the digits count.
BookingReference = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[A-Za-z0-9 -]*$")]

Severity = Literal["low", "medium", "high", "emergency"]
Category = Literal[
    "plumbing", "electrical", "hvac", "appliance", "locks", "internet",
    "pest", "structural", "cleaning", "other",
]
# How soon a professional must come: what the guest's situation needs, not the model's guess at a slot.
Urgency = Literal["emergency", "today", "this_week", "flexible"]
IncidentStatusName = Literal[
    "open", "troubleshooting", "awaiting_quotes", "awaiting_approval",
    "scheduled", "resolved", "cancelled",
]


# --- requests -------------------------------------------------------------------

# Call tools (``tools.<name>``): ``call_id`` is set by the bridge, never by the model, and is
# required there; the tools service loads that call and authorizes against it. Property,
# phone, vendor and incident claimed in a request must agree with the call (or are refused).

class SearchMaintenance(ToolRequest, frozen=True, kw_only=True):
    property_id: Id
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    call_id: Id | None = None


class GetVendorCode(ToolRequest, frozen=True, kw_only=True):
    property_id: Id
    caller_phone: Phone | None = None
    call_id: Id | None = None
    booking_reference: BookingReference = ""


class CreateIncident(ToolRequest, frozen=True, kw_only=True):
    property_id: Id
    category: Category
    severity: Severity
    description: LongText
    caller_phone: Phone | None = None
    call_id: Id | None = None
    # Facts the system acts on (the agent must state them; None = an older client that did
    # not): needs_professional true moves the incident to awaiting_quotes, which starts outreach.
    needs_professional: bool | None = None
    urgency: Urgency | None = None


class UpdateIncidentStatus(ToolRequest, frozen=True, kw_only=True):
    incident_id: Id
    status: IncidentStatusName
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    call_id: Id | None = None


class ScheduleRepair(ToolRequest, frozen=True, kw_only=True):
    incident_id: Id
    vendor_id: Id
    property_id: Id
    start: datetime
    duration_minutes: Annotated[int, msgspec.Meta(ge=15, le=8 * 60)] = 120
    call_id: Id | None = None


class RecordQuote(ToolRequest, frozen=True, kw_only=True):
    incident_id: Id
    vendor_id: Id
    price: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "USD"
    earliest_start: datetime | None = None
    notes: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    call_id: Id | None = None


class RecordDecision(ToolRequest, frozen=True, kw_only=True):
    incident_id: Id
    approved: bool
    vendor_id: Id | None = None
    notes: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    call_id: Id | None = None


# --- results --------------------------------------------------------------------

class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    article_id: str
    title: str
    passage: str
    score: float


class SearchResults(ToolResult, frozen=True, kw_only=True):
    hits: list[SearchHit]
    model: str


class VendorCode(ToolResult, frozen=True, kw_only=True):
    property_id: str
    code: str
    valid_until: datetime


class IncidentRef(ToolResult, frozen=True, kw_only=True):
    incident_id: str
    status: IncidentStatusName
    duplicate: bool = False
    # An emergency: what the agent must tell the caller at once (decided by the tools service).
    safety_instructions: str | None = None


class IncidentStatusChanged(ToolResult, frozen=True, kw_only=True):
    incident_id: str
    status: IncidentStatusName
    previous_status: IncidentStatusName


class RepairBooked(ToolResult, frozen=True, kw_only=True):
    booking_id: str
    calendar_event_id: str
    start: datetime
    end: datetime
    already_booked: bool = False
    booking_reference: str = ""  # the vendor's second factor for get_vendor_code (see docs/tools.md)


class QuoteRecorded(ToolResult, frozen=True, kw_only=True):
    quote_id: str


class DecisionRecorded(ToolResult, frozen=True, kw_only=True):
    decision_id: str


ErrorCode = Literal[
    "invalid_argument", "not_found", "forbidden", "conflict",
    "illegal_transition", "unavailable", "timeout", "unknown_tool", "internal",
]


class ToolError(ToolResult, frozen=True, kw_only=True):
    """A refusal the agent can speak about; never a stack trace."""

    code: ErrorCode
    message: str
    retryable: bool = False


AnyToolRequest = (
    SearchMaintenance | GetVendorCode | CreateIncident | UpdateIncidentStatus
    | ScheduleRepair | RecordQuote | RecordDecision
)
AnyToolResult = (
    SearchResults | VendorCode | IncidentRef | IncidentStatusChanged
    | RepairBooked | QuoteRecorded | DecisionRecorded | ToolError
)
TOOL_REQUESTS: dict[str, type[ToolRequest]] = {
    cls.__struct_config__.tag: cls for cls in AnyToolRequest.__args__
}

# Who may call what. ``tools.<name>``: the bridge, on behalf of a live call of one of these
# types. ``tools.workflow.<name>``: the outreach workflow, without a call.
CALL_TYPES_OF_TOOL: dict[str, frozenset[str]] = {
    "search_maintenance": frozenset({"guest", "vendor", "landlord"}),
    "create_incident": frozenset({"guest"}),
    "update_incident_status": frozenset({"guest"}),
    "get_vendor_code": frozenset({"vendor"}),
    "record_quote": frozenset({"vendor"}),
    "record_decision": frozenset({"landlord"}),
    "schedule_repair": frozenset({"landlord"}),
}
WORKFLOW_TOOLS: tuple[str, ...] = ("update_incident_status", "schedule_repair")
