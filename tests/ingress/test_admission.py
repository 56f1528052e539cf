"""Admission control from the bridges' capacity reports (real NATS) and the reservations of
admitted-but-not-yet-streaming calls (real PostgreSQL)."""

import asyncio
import xml.etree.ElementTree as ET

import aiohttp
import pytest

from fixline_proto.events import CallEnded, CallStarted
from services.common.settings import Settings
from services.ingress.app import check_settings, media_stream_url
from tests.ingress.conftest import TwilioSide, events_for_call, ingress_running, new_sid, report_capacity


def _tags(body: str) -> list[str]:
    return [child.tag for child in ET.fromstring(body)]


async def test_no_bridge_alive_means_a_polite_overflow_and_the_call_is_recorded_as_refused(
        twilio, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    sid = new_sid()
    status, body = await twilio.voice(sid, to=number)
    assert status == 200 and _tags(body) == ["Say", "Hangup"]
    assert "busy" in ET.fromstring(body).find("Say").text
    call = await ingress_pool.fetchrow("SELECT * FROM calls WHERE twilio_call_sid = $1", sid)
    assert (call["admission"], call["end_reason"]) == ("overflow", "overflow")
    events = await events_for_call(nc, property_id, call["id"], want=2)
    assert [type(e) for e in events] == [CallStarted, CallEnded] and events[1].reason == "overflow"
    # A retry of the refused call is refused the same way, without a second CallEnded.
    assert _tags((await twilio.voice(sid, to=number))[1]) == ["Say", "Hangup"]
    assert len(await events_for_call(nc, property_id, call["id"], want=3, timeout=0.5)) == 2


async def test_a_burst_never_exceeds_the_free_bridge_slots(twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    await report_capacity(nc, ingress, active=2, max_calls=5)     # 3 free
    await report_capacity(nc, ingress, active=4, max_calls=4)     # full
    await report_capacity(nc, ingress, active=0, max_calls=9, draining=True)  # draining: never counts
    answers = await asyncio.gather(*(twilio.voice(new_sid(), to=prop[1]) for _ in range(12)))
    connected = [body for status, body in answers if status == 200 and _tags(body) == ["Connect"]]
    refused = [body for status, body in answers if status == 200 and _tags(body) == ["Say", "Hangup"]]
    assert (len(connected), len(refused)) == (3, 9)
    assert await ingress_pool.fetchval(
        "SELECT count(*) FROM calls WHERE property_id = $1 AND admission = 'admitted'", prop[0]) == 3
    metrics = await (await twilio.http.get(f"{ingress.url}/metrics")).text()
    assert 'ingress_admissions_total{decision="admitted"} 3.0' in metrics
    assert 'ingress_admissions_total{decision="full"} 9.0' in metrics


async def test_a_slot_frees_only_once_the_bridge_has_reported_the_stream_or_the_call_ended(
        twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    number = prop[1]
    bridge = await report_capacity(nc, ingress, active=0, max_calls=1)
    first = new_sid()
    assert _tags((await twilio.voice(first, to=number))[1]) == ["Connect"]
    assert _tags((await twilio.voice(new_sid(), to=number))[1]) == ["Say", "Hangup"]  # reserved
    status, _ = await twilio.post("/twilio/stream-status", {"CallSid": first, "StreamEvent": "stream-started",
                                                            "StreamSid": "MZ" + first[2:]})
    assert status == 204
    # Streaming, but the bridge has not reported it yet: still reserved.
    assert _tags((await twilio.voice(new_sid(), to=number))[1]) == ["Say", "Hangup"]
    await report_capacity(nc, ingress, active=1, max_calls=1, bridge_id=bridge)
    assert _tags((await twilio.voice(new_sid(), to=number))[1]) == ["Say", "Hangup"]  # really busy now
    await twilio.post("/twilio/status", {"CallSid": first, "CallStatus": "completed", "SequenceNumber": "3"})
    await report_capacity(nc, ingress, active=0, max_calls=1, bridge_id=bridge)
    assert _tags((await twilio.voice(new_sid(), to=number))[1]) == ["Connect"]


async def test_stale_bridge_reports_are_ignored(nats_url, ingress_database_url, nc, prop, no_open_calls):
    async with ingress_running(nats_url, ingress_database_url, bridge_capacity_ttl_s=0.3) as svc:
        async with aiohttp.ClientSession() as http:
            tw = TwilioSide(http, svc.url)
            await report_capacity(nc, svc, active=0, max_calls=10)
            assert _tags((await tw.voice(new_sid(), to=prop[1]))[1]) == ["Connect"]
            await asyncio.sleep(0.5)  # the bridge stopped reporting
            assert _tags((await tw.voice(new_sid(), to=prop[1]))[1]) == ["Say", "Hangup"]


async def test_full_with_dial_mode_forwards_to_the_fallback_number(nats_url, ingress_database_url, nc, prop,
                                                                   no_open_calls):
    async with ingress_running(nats_url, ingress_database_url, overflow_mode="dial",
                               overflow_dial_number="+15550109999",
                               overflow_message="Connecting you to our team & partners.") as svc:
        async with aiohttp.ClientSession() as http:
            await report_capacity(nc, svc, active=3, max_calls=3)
            status, body = await TwilioSide(http, svc.url).voice(new_sid(), to=prop[1])
    root = ET.fromstring(body)
    assert status == 200 and _tags(body) == ["Say", "Dial"]
    assert root.find("Say").text == "Connecting you to our team & partners."
    assert root.find("./Dial/Number").text == "+15550109999"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"overflow_mode": "voicemail"}, "OVERFLOW_MODE must be one of"),
    ({"overflow_mode": "dial"}, "needs OVERFLOW_DIAL_NUMBER"),
    ({"media_stream_url": "wss://bridge.example/twilio/media?x=1"}, "must not have a query string"),
])
def test_contradictory_settings_are_refused_at_start(overrides, message):
    with pytest.raises(ValueError, match=message):
        check_settings(Settings(service="ingress", **overrides))


def test_media_url_defaults_to_the_public_url_with_a_websocket_scheme():
    assert media_stream_url(Settings(service="ingress", public_base_url="https://x.example/base")) == \
        "wss://x.example/base/twilio/media"
    assert media_stream_url(Settings(service="ingress", media_stream_url="wss://bridge.example/twilio/media")) == \
        "wss://bridge.example/twilio/media"
