"""What outreach's workflows and steps hand each other (``services/outreach/jobs.py``) survives
DBOS's recording: every Struct round-trips through the serializer DBOS stores workflow inputs,
step outputs and messages with. And a call's result folds its routed messages as before."""

from __future__ import annotations

import inspect

import msgspec
from dbos._serialization import DefaultSerializer

from services.common.settings import Settings
from services.outreach import engine, jobs
from services.outreach.workflows import _complete, _with_message

VENDOR = jobs.Vendor(id="v-1", name="Ace Plumbing", phone="+15550001", rating=4.5, work_days=(1, 2, 3))
QUOTE = jobs.Quote(quote_id="q-1", vendor_id="v-1", price=180.0, currency="USD", earliest_start=None)
DECISION = jobs.Decision(decision_id="d-1", approved=True, vendor_id="v-1", notes="go ahead")
BOOKING = jobs.Booking(booking_id="b-1", calendar_event_id="ev-1", start="2026-05-02T16:00:00+00:00",
                       end="2026-05-02T18:00:00+00:00", booking_reference="REF-1")
SPEC = jobs.CallSpec(workflow_id="outreach:i-1:vendor:v-1", call_id="oc-1", kind="vendor", to_number="+15550001",
                     property_id="p-1", incident_id="i-1", vendor_id="v-1", briefing="hello", timeout_s=60.0,
                     grace_s=5.0, notify=jobs.Notify("outreach:i-1", 0))
SAMPLES: list[msgspec.Struct] = [
    jobs.OutreachOptions(timeout_s=60.0, grace_s=5.0, landlord_attempts=2, retry_delay_s=30.0),
    jobs.CallbackOptions(delay_s=1.0, retry_delay_s=2.0, timeout_s=60.0, grace_s=5.0),
    VENDOR,
    jobs.IncidentJob(incident_id="i-1", property_id="p-1", category="plumbing", severity="high", description="leak",
                     caller_phone=None, status="awaiting_quotes", urgency="today", property_name="Sea View",
                     address="1 Beach Rd", timezone="UTC", landlord_id=None, landlord_name=None, landlord_phone=None,
                     emergency=False, vendors=(VENDOR,), parallel=2, max_calls=3, quiet_hours=("22:00:00", "07:00:00")),
    jobs.Notify("outreach:i-1", 0),
    SPEC,
    QUOTE,
    DECISION,
    jobs.Hangup(reason="completed"),
    jobs.CallResult(call_id="oc-1", vendor_id="v-1", ended="completed", quote=QUOTE, decision=DECISION),
    jobs.VendorQuote.of(QUOTE, VENDOR),
    jobs.VendorChoice(vendor_id="v-1", reason="cheapest", source="fallback"),
    jobs.QuietWait(seconds=60.0, local_end="07:00"),
    BOOKING,
    jobs.BookingFailed("conflict: taken"),
    jobs.Outcome(status="scheduled", vendor_id="v-1", booking=BOOKING),
    jobs.Promise(call_id="c-1", property_id="p-1", to_number="+15550002", reason="time_limit", incident_id=None,
                 note="", promised_at="2026-05-02T16:00:00+00:00"),
    jobs.IncidentSummary(id="i-1", category="plumbing", description="leak", status="open"),
    jobs.CallbackJob(call_id="c-1", property_id="p-1", to_number="+15550002", why="the time limit",
                     property_name="Sea View", address="1 Beach Rd", timezone="UTC",
                     quiet_hours=("22:00:00", "07:00:00"),
                     call_started="2026-05-02T16:00:00+00:00", incident_id="i-1",
                     incident=jobs.IncidentSummary(id="i-1", category="plumbing", description="leak", status="open")),
    jobs.Refusal(reason="the number is not the caller's", incident_id=None),
]


def _structs_of_jobs() -> set[type]:
    return {cls for _, cls in inspect.getmembers(jobs, inspect.isclass)
            if issubclass(cls, msgspec.Struct) and cls.__module__ == jobs.__name__}


def test_every_struct_of_jobs_has_a_sample():
    assert {type(s) for s in SAMPLES} == _structs_of_jobs()


def test_every_struct_round_trips_through_the_dbos_serializer():
    serializer = DefaultSerializer()
    for sample in SAMPLES:
        back = serializer.deserialize(serializer.serialize(sample))
        assert type(back) is type(sample) and back == sample, type(sample).__name__


def test_outreach_keeps_the_dbos_default_serializer():
    assert engine.config(Settings(service="outreach")).get("serializer") is None


def test_a_vendor_call_is_complete_with_its_hangup_and_its_quote():
    result = jobs.CallResult(call_id="oc-1", vendor_id="v-1")
    result = _with_message(result, jobs.Hangup(reason=""))
    assert result.ended == "ended" and not _complete(result, "vendor")
    result = _with_message(result, QUOTE)
    assert result.quote == QUOTE and _complete(result, "vendor")


def test_a_landlord_call_is_complete_with_its_decision_before_the_hangup():
    result = _with_message(jobs.CallResult(call_id="oc-2", vendor_id="v-1"), DECISION)
    assert result.decision == DECISION and result.ended is None and _complete(result, "landlord")


def test_a_landlord_call_that_ended_without_a_decision_still_waits_for_it():
    result = _with_message(jobs.CallResult(call_id="oc-2", vendor_id="v-1"), jobs.Hangup(reason="completed"))
    assert not _complete(result, "landlord")


def test_a_guest_call_is_complete_at_its_hangup():
    result = jobs.CallResult(call_id="oc-3", vendor_id=None)
    assert not _complete(result, "guest")
    assert _complete(_with_message(result, jobs.Hangup(reason="completed")), "guest")
