"""The field rules of signed webhooks (pure; the hostile suite drives them over HTTP)."""

import pytest
from multidict import MultiDict, MultiDictProxy

from services.ingress import fields
from services.ingress.fields import BadWebhook

SID = "CA" + "a" * 32


def form(**values: str) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict(values))


NO_QUERY = form()


def test_a_normal_voice_webhook_parses():
    req = fields.voice_request(form(CallSid=SID, From="+15557770000", To="+15550100001", CallStatus="ringing",
                                    CallerName="J\u00f6rg M\u00fcller"), form(call_id="c-1"))
    assert (req.sid, req.from_number, req.to_number, req.status, req.call_id) == (
        SID, "+15557770000", "+15550100001", "ringing", "c-1")


@pytest.mark.parametrize("caller", ["anonymous", "Restricted", "+266696687", "UNKNOWN"])
def test_a_withheld_caller_id_is_anonymous(caller):
    assert fields.voice_request(form(CallSid=SID, From=caller, To="+15550100001"), NO_QUERY).from_number == \
        "anonymous"


@pytest.mark.parametrize("values,reason", [
    ({"CallSid": "CA" + "a" * 31 + "\x00", "From": "+15557770000", "To": "+15550100001"}, "CallSid"),
    ({"CallSid": SID, "From": "+1555777\x000000", "To": "+15550100001"}, "From contains control"),
    ({"CallSid": SID, "From": "555-0100", "To": "+15550100001"}, "From is not an E.164"),
    ({"CallSid": SID, "From": "+15557770000", "To": "sip:evil@example.com"}, "To is not an E.164"),
    ({"CallSid": SID, "From": "+15557770000", "To": "+15550100001", "CallStatus": "x" * 40}, "CallStatus"),
    ({"CallSid": SID, "From": "+15557770000", "To": "+15550100001", "CallerName": "a" * 9000}, "longer"),
    ({"CallSid": SID, "From": "+15557770000", "To": "+15550100001", "X\x07": "1"}, "field name"),
    ({"CallSid": SID, "From": "+15557770000"}, "missing To"),
])
def test_bad_voice_fields_are_named(values, reason):
    with pytest.raises(BadWebhook, match=reason):
        fields.voice_request(form(**values), NO_QUERY)


def test_repeated_fields_and_bad_call_ids_are_refused():
    repeated = MultiDictProxy(MultiDict([("CallSid", SID), ("CallSid", "CA" + "b" * 32), ("From", "+15557770000"),
                                         ("To", "+15550100001")]))
    with pytest.raises(BadWebhook, match="more than once"):
        fields.voice_request(repeated, NO_QUERY)
    with pytest.raises(BadWebhook, match="call_id"):
        fields.voice_request(form(CallSid=SID, From="+15557770000", To="+15550100001"), form(call_id="x'; --"))


@pytest.mark.parametrize("extra,reason", [
    ({"SequenceNumber": str(2**31)}, "beyond"), ({"SequenceNumber": "99999999999"}, "whole number"),
    ({"SequenceNumber": "-1"}, "whole number"), ({"SequenceNumber": "\u0661"}, "whole number"),
    ({"SequenceNumber": "+5"}, "whole number"), ({"CallDuration": "nan"}, "seconds"),
    ({"CallDuration": "inf"}, "seconds"), ({"CallDuration": "-5"}, "seconds"), ({"CallDuration": "1e9"}, "seconds"),
    ({"AnsweredBy": "human\n"}, "AnsweredBy"),
])
def test_bad_status_numbers_are_refused(extra, reason):
    with pytest.raises(BadWebhook, match=reason):
        fields.status_callback(form(CallSid=SID, CallStatus="completed", **extra), NO_QUERY)


def test_status_numbers_in_range_parse():
    cb = fields.status_callback(form(CallSid=SID, CallStatus="completed", SequenceNumber=str(2**31 - 1),
                                     CallDuration="42"), NO_QUERY)
    assert (cb.sequence, cb.duration_s) == (2**31 - 1, 42.0)


@pytest.mark.parametrize("extra,reason", [
    ({"StreamEvent": "stream-exploded"}, "StreamEvent"), ({"StreamEvent": "stream-error", "StreamError": "e" * 600},
                                                          "StreamError"),
    ({"StreamEvent": "stream-started", "StreamSid": "MZ\x00"}, "StreamSid"),
])
def test_bad_stream_fields_are_refused(extra, reason):
    with pytest.raises(BadWebhook, match=reason):
        fields.stream_callback(form(CallSid=SID, **extra), NO_QUERY)
