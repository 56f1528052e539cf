"""Forged webhooks are refused with 403 and change nothing (signatures made with the SDK's
real RequestValidator.compute_signature)."""

import pytest
from twilio.request_validator import RequestValidator

from tests.ingress.conftest import AUTH_TOKEN, PUBLIC, new_sid


async def _counts(pool, sid: str) -> tuple[int, int, int]:
    return (await pool.fetchval("SELECT count(*) FROM calls WHERE twilio_call_sid = $1", sid),
            await pool.fetchval("SELECT count(*) FROM calls"),
            await pool.fetchval("SELECT count(*) FROM outbox"))


def _params(sid: str, to: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+15557770000", "To": to, "CallStatus": "ringing"}


FORGERIES = {
    "missing header": lambda tw, params: ("", params),
    "garbage signature": lambda tw, params: ("bm90IGEgc2lnbmF0dXJl", params),
    "wrong auth token": lambda tw, params: (
        RequestValidator("someone-elses-token").compute_signature(PUBLIC + "/twilio/voice", params), params),
    "signed for another URL": lambda tw, params: (
        RequestValidator(AUTH_TOKEN).compute_signature("https://evil.example/twilio/voice", params), params),
    "signed for another path": lambda tw, params: (tw.sign("/twilio/status", params), params),
    "tampered parameter": lambda tw, params: (tw.sign("/twilio/voice", params), {**params, "To": "+15550100002"}),
    "added parameter": lambda tw, params: (tw.sign("/twilio/voice", params), {**params, "AnsweredBy": "human"}),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_forged_voice_webhook_is_refused_and_stores_nothing(forgery, twilio, ingress, ingress_pool, prop):
    sid = new_sid()
    params = _params(sid, prop[1])
    signature, sent = FORGERIES[forgery](twilio, params)
    before = await _counts(ingress_pool, sid)
    status, body = await twilio.post("/twilio/voice", sent, signature=signature)
    assert status == 403
    assert "<Response" not in body
    assert await _counts(ingress_pool, sid) == before == (0, before[1], before[2])
    metrics = await (await twilio.http.get(f"{ingress.url}/metrics")).text()
    assert 'ingress_signature_failures_total{route="voice"} 1.0' in metrics


async def test_a_signature_over_a_different_query_string_is_refused(twilio, ingress_pool, prop):
    sid = new_sid()
    params = _params(sid, prop[1])
    signature = twilio.sign("/twilio/voice?call_id=abc", params)
    status, _ = await twilio.post("/twilio/voice?call_id=xyz", params, signature=signature)
    assert status == 403
    assert await ingress_pool.fetchval("SELECT count(*) FROM calls WHERE twilio_call_sid = $1", sid) == 0


@pytest.mark.parametrize("path", ["/twilio/status", "/twilio/stream-status"])
async def test_forged_callbacks_change_nothing(path, twilio, ingress_pool, prop):
    sid = new_sid()
    assert (await twilio.voice(sid, to=prop[1]))[0] == 200  # a real call (no bridge: overflow, still recorded)
    row = await ingress_pool.fetchrow("SELECT * FROM calls WHERE twilio_call_sid = $1", sid)
    outbox_before = await ingress_pool.fetchval("SELECT count(*) FROM outbox")
    params = {"CallSid": sid, "CallStatus": "in-progress", "SequenceNumber": "5", "StreamEvent": "stream-started",
              "StreamSid": "MZ1"}
    forged = {**params, "CallStatus": "completed"}
    status, _ = await twilio.post(path, forged, signature=twilio.sign(path, params))
    assert status == 403
    assert await ingress_pool.fetchrow("SELECT * FROM calls WHERE twilio_call_sid = $1", sid) == row
    assert await ingress_pool.fetchval("SELECT count(*) FROM outbox") == outbox_before


async def test_a_port_in_the_public_url_is_tolerated_like_twilio_does(twilio, prop):
    # Twilio may sign https://host:443/...; the SDK validator tries with and without the default port.
    params = _params(new_sid(), prop[1])
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC.replace(".test", ".test:443") + "/twilio/voice", params)
    status, body = await twilio.post("/twilio/voice", params, signature=signature)
    assert status == 200 and "<Response>" in body
