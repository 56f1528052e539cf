"""The notifier's contract check: only a valid event on its own subject is admitted."""

from __future__ import annotations

import msgspec
import pytest

from fixline_proto import encode
from fixline_proto import events as ev
from services.notifier.event_gate import RejectedEvent, admit

QUOTE = ev.QuoteReceived(property_id="p1", incident_id="i1", quote_id="q1", vendor_id="v1", price=120.0)


def test_a_valid_event_on_its_own_subject_is_admitted():
    assert admit("events.p1.quote.received", encode(QUOTE), "events") == QUOTE


@pytest.mark.parametrize(("data", "reason"), [
    (b"<script>alert(1)</script>", "malformed"),
    (b"", "malformed"),
    (b'{"type": "incident.created"', "malformed"),
    (b"[]", "invalid"),
    (b'{"type": "no.such.event", "property_id": "p1"}', "invalid"),
    (b'{"property_id": "p1", "incident_id": "i1"}', "invalid"),                       # no type tag
    (msgspec.json.encode({**msgspec.to_builtins(QUOTE), "currency": 7}), "invalid"),  # wrong field type
    (msgspec.json.encode({**msgspec.to_builtins(QUOTE), "price": "<b>1</b>"}), "invalid"),
    (msgspec.json.encode({k: v for k, v in msgspec.to_builtins(QUOTE).items() if k != "vendor_id"}), "invalid"),
])
def test_what_does_not_decode_is_rejected_with_a_reason(data, reason):
    with pytest.raises(RejectedEvent) as info:
        admit("events.p1.quote.received", data, "events")
    assert info.value.reason == reason


@pytest.mark.parametrize("subject", [
    "events.p2.quote.received",            # another property than the payload's
    "events.p1.incident.created",          # another type than the payload's
    "events.p1.quote",                     # truncated type
    "events.p1.quote.received.extra",
    "other.p1.quote.received",             # another prefix
    "events.p1",
])
def test_a_payload_on_a_subject_that_is_not_its_own_is_rejected(subject):
    with pytest.raises(RejectedEvent) as info:
        admit(subject, encode(QUOTE), "events")
    assert info.value.reason == "subject_mismatch"


def test_a_property_id_with_a_dot_never_matches_its_subject():
    dotted = ev.QuoteReceived(property_id="p1.quote", incident_id="i1", quote_id="q1", vendor_id="v1", price=1.0)
    with pytest.raises(RejectedEvent, match="subject"):
        admit("events.p1.quote.quote.received", encode(dotted), "events")


def test_a_prefix_with_dots_is_handled():
    assert admit("nt.x.p1.quote.received", encode(QUOTE), "nt.x") == QUOTE
