"""The warm hand-off's webhooks: the whisper and the Dial result. Signed like every webhook and
bound to the call's CallSid; forged, mismatched or malformed requests are refused and change
nothing (no hand-off row, no outbox event, no token). Each stage is recorded once."""

from __future__ import annotations

from urllib.parse import urlencode

from services.bridge.handoff import encode_summary
from services.common import media_token
from tests.ingress.conftest import MEDIA_SECRET, events_for_call, new_sid, report_capacity

MANAGER = "+15550008888"
SUMMARY = "Fixline transfer: a guest at Test Flat. Reason: no hot water"


async def admitted_call(twilio, ingress, nc, ingress_pool, number: str):
    await report_capacity(nc, ingress, active=0, max_calls=50)
    sid = new_sid()
    assert "<Connect>" in (await twilio.voice(sid, to=number))[1]
    return sid, await ingress_pool.fetchrow("SELECT * FROM calls WHERE twilio_call_sid = $1", sid)


def whisper_path(call_id: str, summary: str = SUMMARY, leg: int = 0) -> str:
    return "/twilio/handoff/whisper?" + urlencode({"call_id": call_id, "summary": encode_summary(summary), "leg": leg})


def result_path(call_id: str, leg: int = 0) -> str:
    return "/twilio/handoff/result?" + urlencode({"call_id": call_id, "to": MANAGER, "leg": leg})


def whisper_form(parent_sid: str) -> dict[str, str]:
    return {"CallSid": new_sid(), "ParentCallSid": parent_sid, "From": "+15557770000", "To": MANAGER,
            "CallStatus": "in-progress", "Direction": "outbound-dial"}


def result_form(sid: str, status: str) -> dict[str, str]:
    return {"CallSid": sid, "DialCallStatus": status, "DialCallSid": new_sid(), "DialCallDuration": "0"}


async def state(ingress_pool) -> tuple[int, int]:
    return (await ingress_pool.fetchval("SELECT count(*) FROM call_handoffs"),
            await ingress_pool.fetchval("SELECT count(*) FROM outbox"))


async def test_whisper_says_the_summary_once_and_records_answered(twilio, ingress, nc, ingress_pool, prop,
                                                                  no_open_calls):
    property_id, number = prop
    sid, call = await admitted_call(twilio, ingress, nc, ingress_pool, number)
    for _ in range(2):  # Twilio retries: one stage, one event
        code, body = await twilio.post(whisper_path(call["id"]), whisper_form(sid))
        assert code == 200 and f"<Say language=\"en-US\" voice=\"Polly.Joanna\">{SUMMARY}</Say>" in body, body
    rows = await ingress_pool.fetch("SELECT stage, leg FROM call_handoffs WHERE call_id = $1", call["id"])
    assert [(r["stage"], r["leg"]) for r in rows] == [("answered", 0)]
    events = await events_for_call(nc, property_id, call["id"], want=2)
    handoffs = [e for e in events if type(e).__name__ == "CallHandoff"]
    assert [(e.stage, e.summary) for e in handoffs] == [("answered", SUMMARY)]


async def test_unanswered_result_returns_the_caller_to_the_agent_with_a_fresh_token(
        twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    sid, call = await admitted_call(twilio, ingress, nc, ingress_pool, number)
    code, body = await twilio.post(result_path(call["id"]), result_form(sid, "no-answer"))
    assert code == 200 and "<Connect><Stream" in body
    token = "".join(part.split('value="')[1].split('"')[0] for part in body.split("<Parameter ")[1:]
                    if part.startswith('name="token'))
    claims = media_token.verify(MEDIA_SECRET, token)
    assert claims.stream_leg == 1 and claims.call_id == call["id"] and claims.call_sid == sid
    assert "did not answer (no-answer)" in claims.briefing and "schedule_callback" in claims.briefing
    code, body = await twilio.post(result_path(call["id"], leg=1), result_form(sid, "completed"))
    assert code == 200 and "<Hangup />" in body
    rows = await ingress_pool.fetch("SELECT stage, leg, dial_status FROM call_handoffs WHERE call_id = $1 ORDER BY at",
                                    call["id"])
    assert [tuple(r) for r in rows] == [("unanswered", 0, "no-answer"), ("completed", 1, "completed")]


async def test_returns_stop_after_the_limit(twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    _, number = prop
    sid, call = await admitted_call(twilio, ingress, nc, ingress_pool, number)
    code, body = await twilio.post(result_path(call["id"], leg=3), result_form(sid, "busy"))
    assert code == 200 and "<Connect>" not in body and "<Hangup />" in body


async def test_forged_and_mismatched_handoff_requests_change_nothing(twilio, ingress, nc, ingress_pool, prop,
                                                                     no_open_calls):
    _, number = prop
    sid, call = await admitted_call(twilio, ingress, nc, ingress_pool, number)
    before = await state(ingress_pool)
    forged = twilio.sign(whisper_path(call["id"], "Fixline transfer: all is fine"), whisper_form(sid))
    code, _ = await twilio.post(whisper_path(call["id"]), whisper_form(sid), signature=forged)  # summary changed
    assert code == 403
    code, _ = await twilio.post(result_path(call["id"]), result_form(sid, "no-answer"), signature="bm9wZQ==")
    assert code == 403
    code, _ = await twilio.post(result_path(call["id"]), result_form(sid, "no-answer"), signature="")
    assert code == 403
    other = new_sid()  # a signed request about another Twilio call: no whisper, no token
    code, body = await twilio.post(whisper_path(call["id"]), whisper_form(other))
    assert code == 200 and "<Say" not in body and "<Hangup />" in body
    code, body = await twilio.post(result_path(call["id"]), result_form(other, "no-answer"))
    assert code == 200 and "<Connect>" not in body and "token" not in body
    code, body = await twilio.post(result_path("no-such-call"), result_form(sid, "no-answer"))
    assert code == 200 and "<Connect>" not in body
    for path, form, rule in (
            (result_path(call["id"]), result_form(sid, "ringing"), "DialCallStatus"),
            (whisper_path(call["id"]).replace("leg=0", "leg=x"), whisper_form(sid), "leg"),
            (whisper_path(call["id"], "x" * 300), whisper_form(sid), "summary"),
            ("/twilio/handoff/whisper?call_id=" + call["id"] + "&leg=0&summary=not%20base64", whisper_form(sid),
             "summary"),
            (whisper_path(call["id"], "line\x00two"), whisper_form(sid), "summary"),
            ("/twilio/handoff/result?call_id=" + call["id"] + "&to=nobody&leg=0", result_form(sid, "busy"), "to")):
        code, body = await twilio.post(path, form)
        assert code == 400 and rule in body, (rule, code, body)
    assert await state(ingress_pool) == before
