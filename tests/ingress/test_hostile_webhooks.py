"""Signed-but-odd webhooks against the real ingress: each is a 400 naming the field, logged
once without a traceback, and changes nothing (the call row, the outbox, JetStream)."""

from __future__ import annotations

import logging

import aiohttp

import pytest

from tests.ingress.conftest import events_for_call, new_sid, report_capacity

SID_NUL = "CA" + "0" * 31 + "\x00"


async def admitted_call(twilio, ingress, nc, ingress_pool, number: str):
    await report_capacity(nc, ingress, active=0, max_calls=50)
    sid = new_sid()
    assert "<Connect>" in (await twilio.voice(sid, to=number))[1]
    return sid, await ingress_pool.fetchrow("SELECT * FROM calls WHERE twilio_call_sid = $1", sid)


def refusals(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "services.ingress.webhooks" and "refused" in r.getMessage()]


def tracebacks(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def snapshot(ingress_pool, call_id: str) -> tuple:
    row = await ingress_pool.fetchrow("SELECT * FROM calls WHERE id = $1", call_id)
    return row, await ingress_pool.fetchval("SELECT count(*) FROM outbox"), \
        await ingress_pool.fetchval("SELECT count(*) FROM calls")


STATUS_PROBES = [
    ({"CallSid": SID_NUL, "CallStatus": "completed"}, "CallSid contains control characters"),
    ({"CallStatus": "completed", "SequenceNumber": str(2**31)}, "SequenceNumber is beyond 2147483647"),
    ({"CallStatus": "completed", "SequenceNumber": str(2**40)}, "SequenceNumber is not a whole number"),
    ({"CallStatus": "completed", "SequenceNumber": "7", "CallDuration": "nan"},
     "CallDuration is not a whole number of seconds"),
    ({"CallStatus": "completed", "SequenceNumber": "7", "CallDuration": "inf"},
     "CallDuration is not a whole number of seconds"),
    ({"CallStatus": "completed", "SequenceNumber": "7", "CallDuration": "-5"},
     "CallDuration is not a whole number of seconds"),
    ({"CallStatus": "completed\x00"}, "CallStatus contains control characters"),
    ({"CallStatus": "completed", "AnsweredBy": "human" * 20}, "AnsweredBy is not an AMD result"),
]


@pytest.mark.parametrize("fields,message", STATUS_PROBES)
async def test_odd_status_callbacks_are_400s_that_change_nothing(twilio, ingress, nc, ingress_pool, prop,
                                                                 no_open_calls, caplog, fields, message):
    property_id, number = prop
    sid, call = await admitted_call(twilio, ingress, nc, ingress_pool, number)
    before = await snapshot(ingress_pool, call["id"])
    caplog.set_level(logging.INFO)
    code, body = await twilio.post(f"/twilio/status?call_id={call['id']}", {"CallSid": sid, **fields})
    assert (code, body) == (400, message)
    assert await snapshot(ingress_pool, call["id"]) == before
    assert len(refusals(caplog)) == 1 and tracebacks(caplog) == []
    assert [type(e).__name__ for e in await events_for_call(nc, property_id, call["id"], want=1)] == ["CallStarted"]


VOICE_PROBES = [
    ({"CallSid": SID_NUL}, "CallSid contains control characters"),
    ({"From": "+1555\x007770000"}, "From contains control characters"),
    ({"From": "+15557770000" + "9" * 40}, "From is not an E.164 phone number"),
    ({"To": "+1555010\x000001"}, "To contains control characters"),
    ({"CallerName": "x" * 10_000}, "CallerName is longer than 8192 characters"),
    ({"CallSid": "CA" + "z" * 32}, "CallSid is not a Twilio call SID (CA + 32 hex digits)"),
]


@pytest.mark.parametrize("fields,message", VOICE_PROBES)
async def test_odd_voice_webhooks_are_400s_that_record_nothing(twilio, ingress, nc, ingress_pool, prop,
                                                               no_open_calls, caplog, fields, message):
    property_id, number = prop
    await report_capacity(nc, ingress, active=0, max_calls=50)
    calls, outbox = (await ingress_pool.fetchval("SELECT count(*) FROM calls"),
                     await ingress_pool.fetchval("SELECT count(*) FROM outbox"))
    caplog.set_level(logging.INFO)
    code, body = await twilio.voice(new_sid(), to=number, **fields)
    assert (code, body) == (400, message)
    assert await ingress_pool.fetchval("SELECT count(*) FROM calls") == calls
    assert await ingress_pool.fetchval("SELECT count(*) FROM outbox") == outbox
    assert len(refusals(caplog)) == 1 and tracebacks(caplog) == []


async def test_odd_stream_callbacks_are_400s_that_change_nothing(twilio, ingress, nc, ingress_pool, prop,
                                                                 no_open_calls, caplog):
    property_id, number = prop
    sid, call = await admitted_call(twilio, ingress, nc, ingress_pool, number)
    before = await snapshot(ingress_pool, call["id"])
    caplog.set_level(logging.INFO)
    probes = [({"StreamEvent": "stream-started", "StreamSid": "MZ\x00"}, "StreamSid contains control characters"),
              ({"StreamEvent": "stream-error", "StreamError": "e" * 501}, "StreamError is longer than 500 characters"),
              ({"StreamEvent": "stream-stopped", "StreamSid": "MZ1"},
               "StreamSid is not a Twilio stream SID (MZ + 32 hex digits)")]
    for fields, message in probes:
        code, body = await twilio.post(f"/twilio/stream-status?call_id={call['id']}", {"CallSid": sid, **fields})
        assert (code, body) == (400, message)
    code, body = await twilio.post("/twilio/stream-status?call_id=%00",
                                   {"CallSid": sid, "StreamEvent": "stream-started"})
    assert (code, body) == (400, "call_id contains control characters")
    assert await snapshot(ingress_pool, call["id"]) == before
    assert len(refusals(caplog)) == len(probes) + 1 and tracebacks(caplog) == []


async def test_a_multipart_file_field_is_a_400_that_changes_nothing(twilio, ingress, nc, ingress_pool, prop,
                                                                    no_open_calls, caplog):
    """A form can carry a file part; Twilio never sends one, and it is never read as text."""
    property_id, number = prop
    sid, call = await admitted_call(twilio, ingress, nc, ingress_pool, number)
    before = await snapshot(ingress_pool, call["id"])
    caplog.set_level(logging.INFO)
    form = aiohttp.FormData({"CallSid": sid, "CallStatus": "completed"})
    form.add_field("Recording", b"\x00\x01 not text", filename="x.bin", content_type="application/octet-stream")
    path = f"/twilio/status?call_id={call['id']}"
    signature = twilio.sign(path, {"CallSid": sid, "CallStatus": "completed"})
    async with twilio.http.post(twilio.local_url + path, data=form, headers={"X-Twilio-Signature": signature}) as resp:
        assert (resp.status, await resp.text()) == (400, "a form field is not text")
    assert await snapshot(ingress_pool, call["id"]) == before
    assert len(refusals(caplog)) == 1 and tracebacks(caplog) == []
    assert [type(e).__name__ for e in await events_for_call(nc, property_id, call["id"], want=1)] == ["CallStarted"]
