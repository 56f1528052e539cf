"""What outreach's workflows and steps hand each other: frozen Structs, not dicts.

DBOS records workflow inputs, step outputs and messages with pickle (dbos 3.x's default
serializer), so every type here is a module-level Struct: it round-trips through a replay.
A workflow recorded by a release that passed dicts cannot replay with these; such releases
bump ``OUTREACH_APP_VERSION`` (drain before deploying).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from fixline_proto.events import CallType


class OutreachOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Settings of one incident's outreach, recorded with the workflow's inputs."""

    timeout_s: float
    grace_s: float
    landlord_attempts: int = 1
    retry_delay_s: float = 600.0


class CallbackOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Settings of one call-back, recorded with the workflow's inputs."""

    delay_s: float
    retry_delay_s: float
    timeout_s: float
    grace_s: float


class Vendor(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    phone: str
    rating: float
    work_start: str = "08:00"
    work_end: str = "18:00"
    work_days: tuple[int, ...] | None = None
    emergency: bool = False


class IncidentJob(msgspec.Struct, frozen=True, kw_only=True):
    """An incident as outreach works on it: the property, its owner and the vendors to call."""

    incident_id: str
    property_id: str
    category: str
    severity: str
    description: str
    caller_phone: str | None
    status: str
    urgency: str | None
    property_name: str
    address: str
    timezone: str
    landlord_id: str | None
    landlord_name: str | None
    landlord_phone: str | None
    emergency: bool
    vendors: tuple[Vendor, ...]
    parallel: int  # vendor calls at once
    max_calls: int  # vendor calls in all, retries included
    quiet_hours: tuple[str, str]  # the property's quiet window, [start, end] local times


class Notify(msgspec.Struct, frozen=True):
    """Where a vendor call announces that it finished: its incident's workflow and its index."""

    workflow_id: str
    index: int


class CallSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One outbound call: the input of a ``phone_call`` child workflow."""

    workflow_id: str
    call_id: str
    kind: CallType
    to_number: str
    property_id: str
    incident_id: str | None
    vendor_id: str | None
    briefing: str
    timeout_s: float
    grace_s: float
    notify: Notify | None = None


class Quote(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag="quote"):
    """A vendor's quote, as routed from QuoteReceived or read from the database."""

    quote_id: str
    vendor_id: str
    price: float
    currency: str
    earliest_start: str | None  # ISO 8601, UTC


class Decision(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag="decision"):
    """The owner's answer, as routed from DecisionMade or read from the database."""

    decision_id: str
    approved: bool
    vendor_id: str | None
    notes: str


class Hangup(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag="call_ended"):
    reason: str


CallMessage = Quote | Decision | Hangup  # what ResultRouter sends a phone_call workflow


class CallResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a phone call gave: how it ended, and its quote or decision."""

    call_id: str
    vendor_id: str | None
    ended: str | None = None
    quote: Quote | None = None
    decision: Decision | None = None
    timed_out: bool = False


class VendorQuote(msgspec.Struct, frozen=True, kw_only=True):
    """A quote with the vendor it came from, as the analysis and the owner's briefing see it."""

    quote_id: str
    vendor_id: str
    vendor_name: str
    rating: float
    price: float
    currency: str
    earliest_start: str | None

    @classmethod
    def of(cls, quote: Quote, vendor: Vendor) -> VendorQuote:
        return cls(quote_id=quote.quote_id, vendor_id=quote.vendor_id, vendor_name=vendor.name,
                   rating=vendor.rating, price=quote.price, currency=quote.currency,
                   earliest_start=quote.earliest_start)


class VendorChoice(msgspec.Struct, frozen=True, kw_only=True):
    """The vendor recommended to the owner, why, and who chose (Gemini or the fallback)."""

    vendor_id: str
    reason: str
    source: Literal["gemini", "fallback"]


class QuietWait(msgspec.Struct, frozen=True, kw_only=True):
    seconds: float
    local_end: str  # HH:MM, property time


class Booking(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: str
    calendar_event_id: str
    start: str
    end: str
    booking_reference: str  # what the vendor must say to get the access code (tell the vendor only)


class BookingFailed(msgspec.Struct, frozen=True):
    error: str


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """How an outreach or call-back workflow ended (its recorded output)."""

    status: Literal["scheduled", "declined", "escalated", "failed", "done"]
    reason: str | None = None
    vendor_id: str | None = None
    booking: Booking | None = None
    call_id: str | None = None
    attempts: int | None = None


class Promise(msgspec.Struct, frozen=True, kw_only=True):
    """A "we will call you back" (CallbackPromised), the input of a ``callback`` workflow."""

    call_id: str
    property_id: str
    to_number: str
    reason: str
    incident_id: str | None
    note: str
    promised_at: str


class IncidentSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    category: str
    description: str
    status: str


class CallbackJob(msgspec.Struct, frozen=True, kw_only=True):
    """A promise checked against the call it was made on: whom to call back and what to say."""

    call_id: str
    property_id: str
    to_number: str
    why: str
    property_name: str
    address: str
    timezone: str
    quiet_hours: tuple[str, str]
    call_started: str
    incident_id: str | None
    incident: IncidentSummary | None


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """A promise that does not match its call: nobody is called back."""

    reason: str
    incident_id: str | None
