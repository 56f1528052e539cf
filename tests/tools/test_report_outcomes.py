"""The report's outcome comes from recorded facts, most specific first; the plain summary and
follow-ups say what happened without a model."""

from __future__ import annotations

from typing import Any

import pytest

from services.tools.records import classify
from services.tools.records.gather import CallFacts, Turn

TALK = [Turn(0, "agent", "Hello.", False), Turn(1, "caller", "Hi, the oven does not heat.", False)]


def facts(call: dict[str, Any] | None = None, agent: str | None = None, **rest: Any) -> CallFacts:
    row = {"id": "c1", "call_type": "guest", "direction": "inbound", "status": "completed", **(call or {})}
    return CallFacts(call=row, facts={"agent_outcome": agent} if agent else {}, **{"turns": TALK, **rest})


INCIDENT = {"id": "i1", "category": "appliance", "severity": "medium", "status": "open", "call_id": "c1",
            "description": "oven"}


@pytest.mark.parametrize(("case", "expected"), [
    (facts({"answered_by": "machine_end_beep", "direction": "outbound"}), "voicemail"),
    (facts({"status": "no-answer", "direction": "outbound"}, turns=[]), "no_answer"),
    (facts({"status": "busy"}), "no_answer"),
    (facts({"status": "failed"}), "failed"),
    (facts({"dial_state": "failed", "status": "initiated"}), "failed"),
    (facts(agent="transferred", incident=INCIDENT, incident_opened=True), "escalated"),
    (facts({"call_type": "landlord", "direction": "outbound"},
           decisions=[{"approved": False, "notes": "too dear"}]), "decision"),
    (facts({"call_type": "vendor", "direction": "outbound"},
           quotes=[{"price": 180.0, "currency": "USD"}]), "quote"),
    (facts(incident=INCIDENT, incident_opened=True), "incident_opened"),
    (facts(incident={**INCIDENT, "call_id": "other"}), "resolved_by_troubleshooting"),
    (facts(turns=[Turn(0, "agent", "Hello?", False)]), "failed"),
    (facts({"direction": "outbound", "call_type": "vendor"}, turns=[Turn(0, "agent", "Hello?", False)]),
     "no_answer"),
    (facts(agent="agent_unavailable_transfer"), "failed"),
    (facts({"call_type": "vendor", "direction": "outbound"}), "failed"),
    (facts(), "resolved_by_troubleshooting"),
    (facts({"direction": "outbound"}, incident={**INCIDENT, "call_id": "other"}), "update_given"),
])
def test_outcome_from_recorded_facts(case: CallFacts, expected: str):
    assert classify.outcome(case) == expected


def test_plain_summary_and_follow_ups_say_what_happened():
    f = facts({"call_type": "landlord", "direction": "outbound"}, decisions=[{"approved": False, "notes": "too dear"}])
    summary = classify.plain_summary(f, "decision")
    assert summary.startswith("Owner was called;") and "declined the repair (too dear)" in summary
    assert classify.plain_follow_ups(f, "decision") == ["Tell the guest the repair was declined."]
    long = facts(turns=[Turn(0, "caller", "x" * 1000, False)])
    assert len(classify.plain_summary(long, "failed")) < 450, "a long first turn is clipped"
    assert classify.plain_follow_ups(facts(), "resolved_by_troubleshooting") == []
