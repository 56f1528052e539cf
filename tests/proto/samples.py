"""One sample of every contract, used by the round-trip and golden tests."""

from __future__ import annotations

from datetime import UTC, datetime

from fixline_proto import commands as c
from fixline_proto import events as e
from fixline_proto import tools as t

AT = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
BASE = {"property_id": "p1", "id": "evt-1", "occurred_at": AT}

EVENTS = [
    e.IncidentCreated(**BASE, incident_id="inc-1", category="plumbing", severity="high",
                      description="No hot water", caller_phone="+15550001111", call_id="call-1"),
    e.IncidentUpdated(**BASE, incident_id="inc-1", status="awaiting_quotes", previous_status="open"),
    e.CallStarted(**BASE, call_id="call-1", call_type="guest", direction="inbound",
                  from_number="+15550001111", to_number="+15550100001"),
    e.CallStatusChanged(**BASE, call_id="call-1", status="ringing", sequence=1),
    e.CallEnded(**BASE, call_id="call-1", reason="completed", duration_s=42.5),
    e.CallStreamChanged(**BASE, call_id="call-1", stream_event="stream-started", stream_sid="MZ1"),
    e.CallOutcome(**BASE, call_id="call-1", outcome="agent_hangup", duration_s=61.2, barge_ins=1, handovers=1),
    e.TranscriptTurn(**BASE, call_id="call-1", role="agent", text="Hello, this is Fixline.", turn=0),
    e.QuoteReceived(**BASE, incident_id="inc-1", quote_id="q-1", vendor_id="v-plumb-1", price=180.0,
                    earliest_start=AT),
    e.DecisionMade(**BASE, incident_id="inc-1", decision_id="d-1", approved=True, vendor_id="v-plumb-1"),
    e.RepairScheduled(**BASE, incident_id="inc-1", booking_id="b-1", vendor_id="v-plumb-1",
                      calendar_event_id="fixlineinc1", start=AT, end=AT),
    e.VendorCodeReleased(**BASE, vendor_id="v-plumb-1", call_id="call-2"),
    e.VendorCodeRefused(**BASE, caller_phone="+15550209999", reason="unknown_caller", call_id="call-3"),
    e.OutreachProgress(**BASE, incident_id="inc-1", stage="calling_vendor", vendor_id="v-plumb-1"),
    e.IncidentAlertRaised(**BASE, incident_id="inc-1", alert_id="alert:inc-1:emergency", detail="gas smell"),
    e.IncidentAlertHandled(**BASE, incident_id="inc-1", alert_id="alert:inc-1:emergency", by="token:admin"),
    e.CallReport(**BASE, report_id="rep-1", call_id="call-1", call_type="guest", direction="inbound",
                 outcome="incident_opened", summary="Guest reported a leak; incident opened.",
                 follow_ups=["Find a plumber."], incident_id="inc-1", turns=6, caller_turns=3, interruptions=1,
                 tools=["search_maintenance", "create_incident"],
                 usage=e.CallUsage(input_audio_tokens=1500, output_audio_tokens=900, report_tokens=320),
                 cost=e.CallCost(billed_minutes=2, telephony=0.017, gemini=0.0153, total=0.0323), source="gemini"),
    e.CallbackPromised(**BASE, call_id="call-1", to_number="+15550001111", reason="agent_unavailable"),
    e.CallbackProgress(**BASE, call_id="call-1", stage="calling", callback_call_id="cb-1", incident_id="inc-1"),
    e.CallHandoff(**BASE, call_id="call-1", stage="unanswered", to_number="+15550008888", dial_status="no-answer",
                  incident_id="inc-1"),
]

TOOL_REQUESTS = [
    t.SearchMaintenance(property_id="p1", query="no hot water", call_id="call-1"),
    t.GetVendorCode(property_id="p1", call_id="call-2", booking_reference="4812-7730"),
    t.CreateIncident(property_id="p1", category="plumbing", severity="high", description="No hot water"),
    t.UpdateIncidentStatus(incident_id="inc-1", status="troubleshooting", call_id="call-1"),
    t.ScheduleRepair(incident_id="inc-1", vendor_id="v-plumb-1", property_id="p1", start=AT),
    t.RecordQuote(incident_id="inc-1", vendor_id="v-plumb-1", price=180.0, earliest_start=AT),
    t.RecordDecision(incident_id="inc-1", approved=True, vendor_id="v-plumb-1"),
]

TOOL_RESULTS = [
    t.SearchResults(hits=[t.SearchHit(article_id="p1-hot-water", title="No hot water", passage="Relight the pilot.",
                                      score=0.9)], model="minilm"),
    t.VendorCode(property_id="p1", code="4812", valid_until=AT),
    t.IncidentRef(incident_id="inc-1", status="open"),
    t.IncidentStatusChanged(incident_id="inc-1", status="troubleshooting", previous_status="open"),
    t.RepairBooked(booking_id="b-1", calendar_event_id="fixlineinc1", start=AT, end=AT,
                   booking_reference="4812-7730"),
    t.QuoteRecorded(quote_id="q-1"),
    t.DecisionRecorded(decision_id="d-1"),
    t.ToolError(code="not_found", message="No incident inc-9."),
]

CALL_CONTROL = [
    c.HangUp(call_id="call-1"),
    c.Transfer(call_id="call-1", to_number="+15550109001"),
    c.Say(call_id="call-1", text="One moment please."),
]

OTHER = [
    c.DialCall(call_id="call-3", call_type="vendor", property_id="p1", to_number="+15550201001",
               incident_id="inc-1", vendor_id="v-plumb-1"),
    c.CommandAck(ok=True),
    c.BridgeCapacity(bridge_id="bridge-a", active_calls=3, max_calls=200, ts=1.0),
    c.ServiceHeartbeat(service="tools", instance="tools-1", state="ready", ts=1.0),
]

ALL = EVENTS + TOOL_REQUESTS + TOOL_RESULTS + CALL_CONTROL + OTHER
