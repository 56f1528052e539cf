"""Domain events: published through the outbox to JetStream, read by notifier and outreach."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from .base import Event
from .tools import Category, IncidentStatusName, Severity

CallType = Literal["guest", "vendor", "landlord"]
Direction = Literal["inbound", "outbound"]


class IncidentCreated(Event, frozen=True, kw_only=True):
    incident_id: str
    category: Category
    severity: Severity
    description: str
    status: IncidentStatusName = "open"
    caller_phone: str | None = None
    call_id: str | None = None
    needs_professional: bool | None = None
    urgency: str | None = None


class IncidentUpdated(Event, frozen=True, kw_only=True):
    incident_id: str
    status: IncidentStatusName
    previous_status: IncidentStatusName
    note: str = ""


class CallStarted(Event, frozen=True, kw_only=True):
    call_id: str
    call_type: CallType
    direction: Direction
    from_number: str
    to_number: str
    incident_id: str | None = None


class CallStatusChanged(Event, frozen=True, kw_only=True):
    """Twilio's view of the call (initiated, ringing, in-progress, completed, busy...)."""

    call_id: str
    status: str
    sequence: int = 0


class CallEnded(Event, frozen=True, kw_only=True):
    call_id: str
    reason: str
    duration_s: float = 0.0
    incident_id: str | None = None


class CallStreamChanged(Event, frozen=True, kw_only=True):
    """The media stream's lifecycle as Twilio reports it (stream-started, stream-stopped, stream-error)."""

    call_id: str
    stream_event: str
    stream_sid: str = ""
    error: str = ""


class CallOutcome(Event, frozen=True, kw_only=True):
    """How the agent's side of a call ended, from the bridge that held the media stream
    (ingress's CallEnded says how the phone call ended)."""

    call_id: str
    outcome: str              # caller_hangup | agent_hangup | transferred | agent_unavailable_* | ...
    duration_s: float = 0.0
    incident_id: str | None = None
    barge_ins: int = 0
    handovers: int = 0
    reconnects: int = 0
    # Gemini Live usageMetadata summed over the call (0 from a bridge that does not count them)
    input_audio_tokens: int = 0
    input_text_tokens: int = 0
    output_audio_tokens: int = 0
    output_text_tokens: int = 0


class TranscriptTurn(Event, frozen=True, kw_only=True):
    call_id: str
    role: Literal["caller", "agent", "system"]
    text: str
    turn: int
    final: bool = True
    interrupted: bool = False


class QuoteReceived(Event, frozen=True, kw_only=True):
    incident_id: str
    quote_id: str
    vendor_id: str
    price: float
    currency: str = "USD"
    earliest_start: datetime | None = None
    call_id: str | None = None


class DecisionMade(Event, frozen=True, kw_only=True):
    incident_id: str
    decision_id: str
    approved: bool
    vendor_id: str | None = None
    notes: str = ""


class RepairScheduled(Event, frozen=True, kw_only=True):
    incident_id: str
    booking_id: str
    vendor_id: str
    calendar_event_id: str
    start: datetime
    end: datetime


class VendorCodeReleased(Event, frozen=True, kw_only=True):
    """Audit trail: never carries the code itself."""

    vendor_id: str
    call_id: str | None = None


class VendorCodeRefused(Event, frozen=True, kw_only=True):
    """Audit trail of a refused access-code request (unknown caller, no current booking...)."""

    caller_phone: str
    reason: str
    vendor_id: str | None = None
    call_id: str | None = None


OutreachStage = Literal[
    "started", "calling_vendor", "quote_received", "no_answer", "analysing",
    "recommended", "calling_landlord", "approved", "declined", "scheduled",
    "calling_guest", "done", "failed", "escalated", "guest_told",
    "emergency", "waiting", "voicemail_retry",
]


class OutreachProgress(Event, frozen=True, kw_only=True):
    incident_id: str
    stage: OutreachStage
    detail: str = ""
    vendor_id: str | None = None
    call_id: str | None = None


class IncidentAlertRaised(Event, frozen=True, kw_only=True):
    """An alert for the property manager that stays on the dashboard until someone handles it
    (an emergency). ``alert_id`` is stable per incident and reason: raising again is a no-op."""

    incident_id: str
    alert_id: str
    reason: Literal["emergency"] = "emergency"
    detail: str = ""


class IncidentAlertHandled(Event, frozen=True, kw_only=True):
    """A manager marked the alert handled on the dashboard (``by``: the viewer's label, never a token)."""

    incident_id: str
    alert_id: str
    by: str = ""
    note: str = ""


ReportOutcome = Literal[
    "resolved_by_troubleshooting", "incident_opened", "escalated", "quote", "decision",
    "voicemail", "no_answer", "failed", "update_given",   # update_given: an outbound call to the guest
]


class CallCost(msgspec.Struct, frozen=True, kw_only=True):
    """What a call cost: telephony minutes (billed per started minute) and Gemini tokens."""

    billed_minutes: int = 0
    telephony: float = 0.0
    gemini: float = 0.0
    total: float = 0.0
    currency: str = "USD"


class CallUsage(msgspec.Struct, frozen=True, kw_only=True):
    input_audio_tokens: int = 0
    input_text_tokens: int = 0
    output_audio_tokens: int = 0
    output_text_tokens: int = 0
    report_tokens: int = 0     # the report's own generateContent request


class CallReport(Event, frozen=True, kw_only=True):
    """The end-of-call report (one per call; ``report_id`` is its idempotency key)."""

    report_id: str
    call_id: str
    call_type: CallType
    direction: Direction
    outcome: ReportOutcome
    summary: str
    follow_ups: list[str] = msgspec.field(default_factory=list)
    incident_id: str | None = None
    end_reason: str = ""               # how the phone call ended (Twilio's status / ingress)
    agent_outcome: str = ""            # how the agent's side ended (the bridge's CallOutcome)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float = 0.0            # the phone call
    talk_s: float = 0.0                # the agent's media stream
    turns: int = 0
    caller_turns: int = 0
    interruptions: int = 0
    tools: list[str] = msgspec.field(default_factory=list)
    usage: CallUsage = msgspec.field(default_factory=CallUsage)
    cost: CallCost = msgspec.field(default_factory=CallCost)
    source: Literal["gemini", "fallback"] = "fallback"


class CallbackPromised(Event, frozen=True, kw_only=True):
    """The system told a caller "we will call you back" (the bridge's apology fallback, the call's
    time limit, the tools being unreachable, or the agent's ``schedule_callback`` tool): outreach
    dials ``to_number`` back later. ``call_id`` is the call that made the promise (one per call)."""

    call_id: str
    to_number: str
    reason: str               # agent_unavailable | time_limit | tools_unavailable | agent_request
    call_type: CallType = "guest"
    incident_id: str | None = None
    note: str = ""            # the agent's words when it scheduled the call-back itself


CallbackStage = Literal["scheduled", "calling", "no_answer", "done", "escalated"]


class CallbackProgress(Event, frozen=True, kw_only=True):
    """Where the call-back promised on ``call_id`` stands (outreach's ``callback:<call_id>``)."""

    call_id: str
    stage: CallbackStage
    detail: str = ""
    callback_call_id: str | None = None
    incident_id: str | None = None


HandoffStage = Literal["requested", "answered", "unanswered", "completed"]


class CallHandoff(Event, frozen=True, kw_only=True):
    """A warm hand-off of ``call_id`` to a person: ``requested`` (the bridge, with the one-line
    whisper ``summary``), ``answered`` (the person picked up and heard the whisper), ``unanswered``
    (no-answer, busy, failed: the caller went back to the agent) or ``completed`` (ingress, from
    Twilio's whisper and Dial action callbacks). ``to_number`` is whom the call was handed to."""

    call_id: str
    stage: HandoffStage
    to_number: str = ""
    summary: str = ""
    dial_status: str = ""     # Twilio's DialCallStatus on the result
    incident_id: str | None = None


AnyEvent = (
    IncidentCreated | IncidentUpdated | CallStarted | CallStatusChanged | CallEnded | CallStreamChanged | CallOutcome
    | TranscriptTurn | QuoteReceived | DecisionMade | RepairScheduled
    | VendorCodeReleased | VendorCodeRefused | OutreachProgress | IncidentAlertRaised | IncidentAlertHandled
    | CallReport | CallbackPromised | CallbackProgress | CallHandoff
)
