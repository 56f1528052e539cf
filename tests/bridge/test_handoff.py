"""The warm hand-off's whisper: one line, who/where/why, never a number or a code; its URLs."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

from services.bridge.call_context import CallContext
from services.bridge.call_control import warm_transfer_twiml
from services.bridge.handoff import SUMMARY_MAX_CHARS, plan_handoff, whisper_summary

CTX = CallContext(call_id="c1", call_type="guest", property_id="p1", incident_id="inc-1",
                  caller_phone="+15557654321", property_name="Seaside Cottage", call_sid="CA" + "0" * 32)


def test_the_whisper_names_who_where_and_why_without_secrets():
    line = whisper_summary(CTX, "No heat.\nDoor code is 4471 and the key safe 2-2-9, call me on +1 555 123 4567")
    assert line.startswith("Fixline transfer: a guest at Seaside Cottage about an open incident. Reason: No heat.")
    for secret in ("4471", "229", "2-2-9", "555", "4567", "\n"):
        assert secret not in line, secret
    assert "ABCX" not in whisper_summary(CTX, "the lockbox code is ABCX; no hot water")
    assert len(whisper_summary(CTX, "x" * 1000)) <= SUMMARY_MAX_CHARS
    assert "a vendor at" in whisper_summary(CallContext(call_id="c", call_type="vendor", property_id="p"), "")


def test_the_plan_puts_the_summary_in_the_signed_whisper_url_and_the_leg_in_both():
    plan = plan_handoff(CTX, "+15550008888", "wants a person", "https://ingress.example/")
    whisper = urlsplit(plan.whisper_url)
    assert whisper.path == "/twilio/handoff/whisper" and whisper.netloc == "ingress.example"
    query = parse_qs(whisper.query)
    encoded = query["summary"][0]
    assert base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode() == plan.summary
    assert query["leg"] == ["0"] and parse_qs(urlsplit(plan.action_url).query) == {
        "call_id": ["c1"], "to": ["+15550008888"], "leg": ["0"]}
    twiml = warm_transfer_twiml(plan.number, plan.whisper_url, plan.action_url)
    assert '<Dial action="https://ingress.example/twilio/handoff/result?call_id=c1&amp;' in twiml
    assert 'url="https://ingress.example/twilio/handoff/whisper?' in twiml and ">+15550008888</Number>" in twiml
    event, msg_id = plan.requested(CTX)
    assert (event.stage, event.to_number, event.summary, event.incident_id) == (
        "requested", "+15550008888", plan.summary, "inc-1")
    assert msg_id == "c1:handoff.requested"
