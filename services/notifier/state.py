"""The dashboard's state, folded from the event stream (pure: no I/O).

The notifier's one JetStream consumer applies every event here in stream order, so a
snapshot taken between two events is exactly "the state as of sequence N". Memory is
bounded: closed incidents and ended calls are kept up to a cap per property, and
transcripts up to a cap per call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fixline_proto import events as ev
from fixline_proto.base import Event

from .views import (Alert, Booking, Call, CallbackStep, Decision, HandoffStep, HistoryEntry, Incident, OutreachStep,
                    Quote, Turn)

CLOSED_STATUSES = frozenset({"resolved", "cancelled"})
MAX_CLOSED_INCIDENTS_PER_PROPERTY = 100
MAX_ENDED_CALLS_PER_PROPERTY = 50
MAX_TURNS_PER_CALL = 400
NEVER = datetime.min.replace(tzinfo=UTC)  # sorts first: a record without a time


class DashboardState:
    def __init__(self) -> None:
        self.seq = 0
        self.incidents: dict[str, Incident] = {}
        self.calls: dict[str, Call] = {}

    def apply(self, event: Event, seq: int) -> None:
        self.seq = max(self.seq, seq)
        match event:
            case ev.IncidentCreated() | ev.IncidentUpdated():
                self._apply_incident(event)
            case ev.QuoteReceived() | ev.DecisionMade() | ev.RepairScheduled() | ev.OutreachProgress():
                self._apply_outreach(event)
            case ev.CallStarted() | ev.CallStatusChanged() | ev.CallEnded():
                self._apply_call(event)
            case ev.TranscriptTurn():
                self._apply_turn(event)
            case ev.IncidentAlertRaised() | ev.IncidentAlertHandled():
                self._apply_alert(event)
            case ev.CallbackProgress():
                self._apply_callback(event)
            case ev.CallHandoff():
                self._apply_handoff(event)
            case _:
                pass  # audit-only events (vendor codes...) are not on the dashboard

    def skip(self, seq: int) -> None:
        """Advance past a message that is not a known event."""
        self.seq = max(self.seq, seq)

    def incidents_of(self, visible: Callable[[str], bool]) -> list[Incident]:
        return [i for i in self.incidents.values() if visible(i.property_id)]

    def calls_of(self, visible: Callable[[str], bool]) -> list[Call]:
        return [c for c in self.calls.values() if visible(c.property_id)]

    # --- incidents -------------------------------------------------------------

    def _incident(self, event: Event, incident_id: str) -> Incident:
        incident = self.incidents.get(incident_id)
        if incident is None:  # its creation aged out of the stream: show what we know
            incident = Incident(incident_id=incident_id, property_id=event.property_id,
                                created_at=event.occurred_at)
            self.incidents[incident_id] = incident
        incident.updated_at = event.occurred_at
        return incident

    def _apply_incident(self, event: ev.IncidentCreated | ev.IncidentUpdated) -> None:
        incident = self._incident(event, event.incident_id)
        if isinstance(event, ev.IncidentCreated):
            incident.category, incident.severity = event.category, event.severity
            incident.description, incident.status = event.description, event.status
            incident.caller_phone, incident.call_id = event.caller_phone, event.call_id
            incident.created_at = event.occurred_at
            entry = HistoryEntry(id=event.id, status=event.status, note="reported", at=event.occurred_at)
        else:
            incident.status = event.status
            entry = HistoryEntry(id=event.id, status=event.status, previous_status=event.previous_status,
                                 note=event.note, at=event.occurred_at)
        if all(h.id != entry.id for h in incident.history):
            incident.history.append(entry)
        if incident.status in CLOSED_STATUSES:
            self._prune_incidents(incident.property_id)

    def _apply_outreach(self, event: Event) -> None:
        incident = self._incident(event, event.incident_id)  # type: ignore[attr-defined]
        match event:
            case ev.QuoteReceived():
                quote = Quote(quote_id=event.quote_id, vendor_id=event.vendor_id, price=event.price,
                              currency=event.currency, earliest_start=event.earliest_start,
                              call_id=event.call_id, at=event.occurred_at)
                incident.quotes = [q for q in incident.quotes if q.quote_id != quote.quote_id] + [quote]
            case ev.DecisionMade():
                incident.decision = Decision(decision_id=event.decision_id, approved=event.approved,
                                             vendor_id=event.vendor_id, notes=event.notes, at=event.occurred_at)
            case ev.RepairScheduled():
                incident.booking = Booking(booking_id=event.booking_id, vendor_id=event.vendor_id,
                                           calendar_event_id=event.calendar_event_id, start=event.start,
                                           end=event.end, at=event.occurred_at)
            case ev.OutreachProgress():
                if all(step.id != event.id for step in incident.outreach):
                    incident.outreach.append(OutreachStep(
                        id=event.id, stage=event.stage, detail=event.detail, vendor_id=event.vendor_id,
                        call_id=event.call_id, at=event.occurred_at))
                if event.stage == "recommended":
                    incident.recommendation = event.detail

    def _apply_alert(self, event: ev.IncidentAlertRaised | ev.IncidentAlertHandled) -> None:
        """Raised once per alert id (a repeat changes nothing, a handled one stays handled);
        handled only for an alert this incident has."""
        incident = self._incident(event, event.incident_id)
        alert = incident.alert(event.alert_id)
        if isinstance(event, ev.IncidentAlertRaised):
            if alert is None:
                incident.alerts.append(Alert(alert_id=event.alert_id, reason=event.reason, detail=event.detail,
                                             raised_at=event.occurred_at))
        elif alert is not None and not alert.handled:
            alert.handled, alert.handled_at, alert.handled_by = True, event.occurred_at, event.by

    def _apply_callback(self, event: ev.CallbackProgress) -> None:
        """On the cut-off call (if still shown: never a phantom live call) and on its incident."""
        call = self.calls.get(event.call_id)
        if call is not None:
            call.callback = CallbackStep(stage=event.stage, detail=event.detail,
                                         callback_call_id=event.callback_call_id, at=event.occurred_at)
        if event.incident_id:
            incident = self._incident(event, event.incident_id)
            if all(step.id != event.id for step in incident.outreach):
                incident.outreach.append(OutreachStep(id=event.id, stage=f"callback_{event.stage}",
                                                      detail=event.detail, call_id=event.callback_call_id,
                                                      at=event.occurred_at))

    def _apply_handoff(self, event: ev.CallHandoff) -> None:
        """On the call (if still shown) and, as a ``handoff_<stage>`` step, on its incident."""
        call = self.calls.get(event.call_id)
        if call is not None and (call.handoff is None or call.handoff.at <= event.occurred_at):
            call.handoff = HandoffStep(stage=event.stage, to_number=event.to_number, summary=event.summary,
                                       dial_status=event.dial_status, at=event.occurred_at)
        incident_id = event.incident_id or (call.incident_id if call is not None else None)
        if incident_id:
            incident = self._incident(event, incident_id)
            if all(step.id != event.id for step in incident.outreach):
                incident.outreach.append(OutreachStep(id=event.id, stage=f"handoff_{event.stage}",
                                                      detail=event.summary or event.dial_status,
                                                      call_id=event.call_id, at=event.occurred_at))

    def _prune_incidents(self, property_id: str) -> None:
        # an incident with an alert nobody handled stays, however old
        closed = [i for i in self.incidents.values()
                  if i.property_id == property_id and i.status in CLOSED_STATUSES and not i.alerting]
        closed.sort(key=lambda i: i.updated_at or i.created_at or NEVER)
        for incident in closed[:-MAX_CLOSED_INCIDENTS_PER_PROPERTY]:
            del self.incidents[incident.incident_id]

    # --- calls -----------------------------------------------------------------

    def _call(self, event: Event, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            call = Call(call_id=call_id, property_id=event.property_id, started_at=event.occurred_at)
            self.calls[call_id] = call
        return call

    def _apply_call(self, event: ev.CallStarted | ev.CallStatusChanged | ev.CallEnded) -> None:
        call = self._call(event, event.call_id)
        match event:
            case ev.CallStarted():
                call.call_type, call.direction = event.call_type, event.direction
                call.from_number, call.to_number = event.from_number, event.to_number
                call.incident_id = event.incident_id or call.incident_id
                call.started_at = event.occurred_at
            case ev.CallStatusChanged():
                call.status = event.status
            case ev.CallEnded():
                call.live, call.status = False, "completed"
                call.ended_at, call.end_reason, call.duration_s = event.occurred_at, event.reason, event.duration_s
                call.incident_id = event.incident_id or call.incident_id
                self._prune_calls(call.property_id)

    def _apply_turn(self, event: ev.TranscriptTurn) -> None:
        call = self._call(event, event.call_id)
        turn = Turn(turn=event.turn, role=event.role, text=event.text, final=event.final,
                    interrupted=event.interrupted, at=event.occurred_at)
        for index in range(len(call.transcript) - 1, -1, -1):
            existing = call.transcript[index]
            if existing.turn == turn.turn and existing.role == turn.role:
                call.transcript[index] = turn
                return
        call.transcript.append(turn)
        del call.transcript[:-MAX_TURNS_PER_CALL]

    def _prune_calls(self, property_id: str) -> None:
        ended = [c for c in self.calls.values() if c.property_id == property_id and not c.live]
        ended.sort(key=lambda c: c.ended_at or c.started_at or NEVER)
        for call in ended[:-MAX_ENDED_CALLS_PER_PROPERTY]:
            del self.calls[call.call_id]
