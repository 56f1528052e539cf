from datetime import UTC, datetime

from fixline_proto import events as ev
from services.notifier import state as state_module
from services.notifier.state import DashboardState


def test_incident_lifecycle_with_outreach_folds_into_one_view():
    state = DashboardState()
    created = ev.IncidentCreated(property_id="p1", incident_id="i1", category="plumbing", severity="high",
                                 description="leak")
    start = datetime(2026, 11, 20, 17, tzinfo=UTC)
    stream = [
        created,
        created,  # redelivered: no duplicate history entry
        ev.IncidentUpdated(property_id="p1", incident_id="i1", status="awaiting_quotes", previous_status="open"),
        ev.QuoteReceived(property_id="p1", incident_id="i1", quote_id="q1", vendor_id="v1", price=180.0),
        ev.QuoteReceived(property_id="p1", incident_id="i1", quote_id="q2", vendor_id="v2", price=240.0),
        ev.OutreachProgress(property_id="p1", incident_id="i1", stage="recommended", detail="v1: cheapest"),
        ev.DecisionMade(property_id="p1", incident_id="i1", decision_id="d1", approved=True, vendor_id="v1"),
        ev.RepairScheduled(property_id="p1", incident_id="i1", booking_id="b1", vendor_id="v1",
                           calendar_event_id="e1", start=start, end=start),
        ev.VendorCodeReleased(property_id="p1", vendor_id="v1"),   # not on the dashboard
    ]
    for seq, event in enumerate(stream, start=1):
        state.apply(event, seq)
    incident = state.incidents["i1"]
    assert state.seq == len(stream)
    assert [h.status for h in incident.history] == ["open", "awaiting_quotes"]
    assert [q.quote_id for q in incident.quotes] == ["q1", "q2"]
    assert incident.recommendation == "v1: cheapest"
    assert incident.decision.approved and incident.booking.calendar_event_id == "e1"


def test_events_for_an_unknown_incident_make_a_stub():
    state = DashboardState()
    state.apply(ev.IncidentUpdated(property_id="p9", incident_id="old", status="scheduled",
                                   previous_status="awaiting_approval"), 7)
    assert state.incidents["old"].status == "scheduled" and state.incidents["old"].property_id == "p9"


def test_transcript_partials_are_replaced_by_the_final_turn():
    state = DashboardState()
    state.apply(ev.CallStarted(property_id="p1", call_id="c1", call_type="vendor", direction="outbound",
                               from_number="+1", to_number="+2"), 1)
    for seq, (text, final) in enumerate([("Hi", False), ("Hi there", False), ("Hi there.", True)], start=2):
        state.apply(ev.TranscriptTurn(property_id="p1", call_id="c1", role="agent", text=text, turn=0,
                                      final=final), seq)
    state.apply(ev.TranscriptTurn(property_id="p1", call_id="c1", role="caller", text="Hello", turn=0), 5)
    call = state.calls["c1"]
    assert [(t.role, t.text, t.final) for t in call.transcript] == [("agent", "Hi there.", True),
                                                                     ("caller", "Hello", True)]
    state.apply(ev.CallEnded(property_id="p1", call_id="c1", reason="completed", duration_s=42.0), 6)
    assert not call.live and call.duration_s == 42.0


def test_closed_incidents_and_ended_calls_are_capped(monkeypatch):
    monkeypatch.setattr(state_module, "MAX_CLOSED_INCIDENTS_PER_PROPERTY", 2)
    monkeypatch.setattr(state_module, "MAX_ENDED_CALLS_PER_PROPERTY", 1)
    state = DashboardState()
    seq = 0
    for n in range(4):
        for event in (ev.IncidentCreated(property_id="p1", incident_id=f"i{n}", category="other",
                                         severity="low", description="d"),
                      ev.IncidentUpdated(property_id="p1", incident_id=f"i{n}", status="resolved",
                                         previous_status="open"),
                      ev.CallEnded(property_id="p1", call_id=f"c{n}", reason="completed")):
            seq += 1
            state.apply(event, seq)
    state.apply(ev.IncidentCreated(property_id="p1", incident_id="open", category="other", severity="low",
                                   description="d"), seq + 1)
    assert sorted(state.incidents) == ["i2", "i3", "open"]
    assert list(state.calls) == ["c3"]


def test_call_back_progress_shows_on_the_cut_off_call_and_its_incident_never_as_a_live_call():
    s = DashboardState()
    s.apply(ev.CallStarted(property_id="p1", call_id="c-cut", call_type="guest", direction="inbound",
                           from_number="+15550001111", to_number="+15550100001"), 1)
    s.apply(ev.CallEnded(property_id="p1", call_id="c-cut", reason="completed"), 2)
    s.apply(ev.CallbackProgress(property_id="p1", call_id="c-cut", stage="scheduled", detail="in 300 s",
                                incident_id="inc-1"), 3)
    s.apply(ev.CallbackProgress(property_id="p1", call_id="c-cut", stage="calling", callback_call_id="oc-1",
                                incident_id="inc-1"), 4)
    s.apply(ev.CallbackProgress(property_id="p1", call_id="c-gone", stage="done"), 5)  # its call aged out
    call = s.calls["c-cut"]
    assert call.callback is not None and (call.callback.stage, call.callback.callback_call_id) == ("calling", "oc-1")
    assert [step.stage for step in s.incidents["inc-1"].outreach] == ["callback_scheduled", "callback_calling"]
    assert "c-gone" not in s.calls and not any(c.live for c in s.calls.values())


def test_a_warm_handoff_shows_on_the_call_and_its_incident():
    s = DashboardState()
    s.apply(ev.CallStarted(property_id="p1", call_id="c-h", call_type="guest", direction="inbound",
                           from_number="+15550001111", to_number="+15550100001", incident_id="inc-h"), 1)
    requested = ev.CallHandoff(property_id="p1", call_id="c-h", stage="requested", to_number="+15550008888",
                               summary="Fixline transfer: a guest at Seaside Cottage", incident_id="inc-h")
    s.apply(requested, 2)
    s.apply(requested, 3)  # redelivered: one step
    s.apply(ev.CallHandoff(property_id="p1", call_id="c-h", stage="unanswered", to_number="+15550008888",
                           dial_status="no-answer"), 4)  # ingress's event: the incident comes from the call
    s.apply(ev.CallHandoff(property_id="p1", call_id="c-gone", stage="completed"), 5)  # its call aged out
    call = s.calls["c-h"]
    assert call.handoff is not None and (call.handoff.stage, call.handoff.dial_status) == ("unanswered", "no-answer")
    steps = s.incidents["inc-h"].outreach
    assert [(step.stage, step.detail) for step in steps] == [
        ("handoff_requested", "Fixline transfer: a guest at Seaside Cottage"), ("handoff_unanswered", "no-answer")]
    assert "c-gone" not in s.calls
