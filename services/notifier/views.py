"""What the dashboard shows, as msgspec Structs (encoded straight into the snapshot)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from fixline_proto.commands import ServiceHeartbeat


class HistoryEntry(msgspec.Struct, kw_only=True):
    id: str                      # the event id (dedupes a re-delivered event)
    status: str
    previous_status: str | None = None
    note: str = ""
    at: datetime


class Quote(msgspec.Struct, kw_only=True):
    quote_id: str
    vendor_id: str
    price: float
    currency: str = "USD"
    earliest_start: datetime | None = None
    call_id: str | None = None
    at: datetime


class Decision(msgspec.Struct, kw_only=True):
    decision_id: str
    approved: bool
    vendor_id: str | None = None
    notes: str = ""
    at: datetime


class Booking(msgspec.Struct, kw_only=True):
    booking_id: str
    vendor_id: str
    calendar_event_id: str
    start: datetime
    end: datetime
    at: datetime


class OutreachStep(msgspec.Struct, kw_only=True):
    id: str
    stage: str
    detail: str = ""
    vendor_id: str | None = None
    call_id: str | None = None
    at: datetime


class Alert(msgspec.Struct, kw_only=True):
    """A manager's alert (an emergency): shown until someone marks it handled."""
    alert_id: str
    reason: str
    detail: str = ""
    raised_at: datetime
    handled: bool = False
    handled_at: datetime | None = None
    handled_by: str = ""


class Incident(msgspec.Struct, kw_only=True):
    incident_id: str
    property_id: str
    category: str = "other"
    severity: str = "medium"
    description: str = ""
    status: str = "open"
    caller_phone: str | None = None
    call_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    history: list[HistoryEntry] = msgspec.field(default_factory=list)
    quotes: list[Quote] = msgspec.field(default_factory=list)
    decision: Decision | None = None
    booking: Booking | None = None
    outreach: list[OutreachStep] = msgspec.field(default_factory=list)
    recommendation: str | None = None
    alerts: list[Alert] = msgspec.field(default_factory=list)

    def alert(self, alert_id: str) -> Alert | None:
        return next((a for a in self.alerts if a.alert_id == alert_id), None)

    @property
    def alerting(self) -> bool:
        return any(not a.handled for a in self.alerts)


class Turn(msgspec.Struct, kw_only=True):
    turn: int
    role: str
    text: str
    final: bool = True
    interrupted: bool = False
    at: datetime


class CallbackStep(msgspec.Struct, kw_only=True):
    """Where the call-back promised on a call stands (the latest CallbackProgress)."""

    stage: str
    detail: str = ""
    callback_call_id: str | None = None
    at: datetime


class HandoffStep(msgspec.Struct, kw_only=True):
    """The call's warm hand-off to a person (the latest CallHandoff): requested, answered,
    unanswered (the caller went back to the agent) or completed."""

    stage: str
    to_number: str = ""
    summary: str = ""
    dial_status: str = ""
    at: datetime


class Call(msgspec.Struct, kw_only=True):
    call_id: str
    property_id: str
    call_type: str = "guest"
    direction: str = "inbound"
    from_number: str = ""
    to_number: str = ""
    incident_id: str | None = None
    status: str = "in-progress"
    live: bool = True
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    duration_s: float = 0.0
    transcript: list[Turn] = msgspec.field(default_factory=list)
    callback: CallbackStep | None = None
    handoff: HandoffStep | None = None


class PropertyInfo(msgspec.Struct, kw_only=True):
    id: str
    name: str
    timezone: str = "UTC"
    address: str = ""


class VendorInfo(msgspec.Struct, kw_only=True):
    id: str
    name: str
    trade: str = ""


class Snapshot(msgspec.Struct, kw_only=True):
    """The full state one client may see, as of stream sequence ``seq``."""

    seq: int
    properties: list[PropertyInfo]
    vendors: list[VendorInfo]
    incidents: list[Incident]
    calls: list[Call]
    services: list[ServiceHeartbeat]
