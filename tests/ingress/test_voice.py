"""The voice webhook: property lookup, TwiML with the stream parameters and a token the
bridge accepts, idempotency on CallSid, outbound calls looked up by our call id."""

import asyncio
import uuid
import xml.etree.ElementTree as ET

import aiohttp

from fixline_proto.events import CallStarted
from services.common import media_token
from services.common.stream_parameters import join_parameter
from tests.ingress.conftest import (MEDIA_SECRET, PUBLIC, TwilioSide, events_for_call, ingress_running, new_sid,
                                  report_capacity)


def _stream(twiml: str) -> tuple[ET.Element, dict[str, str]]:
    root = ET.fromstring(twiml)
    stream = root.find("./Connect/Stream")
    assert stream is not None, twiml
    return stream, {p.get("name"): p.get("value") for p in stream.findall("Parameter")}


async def test_unknown_number_gets_a_polite_goodbye_and_nothing_is_stored(twilio, ingress_pool):
    sid = new_sid()
    before = await ingress_pool.fetchval("SELECT count(*) FROM outbox")
    status, body = await twilio.voice(sid, to="+15559999999")
    assert status == 200
    root = ET.fromstring(body)
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "not connected to a property" in root.find("Say").text
    assert await ingress_pool.fetchval("SELECT count(*) FROM calls WHERE twilio_call_sid = $1", sid) == 0
    assert await ingress_pool.fetchval("SELECT count(*) FROM outbox") == before


async def test_admitted_call_is_recorded_and_streams_to_the_bridge_with_a_valid_token(
        twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    await report_capacity(nc, ingress, active=0, max_calls=4)
    sid = new_sid()
    status, body = await twilio.voice(sid, to=number, from_="+15557770001")
    assert status == 200
    stream, params = _stream(body)
    call = await ingress_pool.fetchrow("SELECT * FROM calls WHERE twilio_call_sid = $1", sid)
    assert (call["property_id"], call["call_type"], call["direction"], call["admission"]) == (
        property_id, "guest", "inbound", "admitted")
    assert stream.get("url") == "wss://ingress.fixline.test/twilio/media"
    assert stream.get("statusCallback") == f"{PUBLIC}/twilio/stream-status?call_id={call['id']}"
    place = await ingress_pool.fetchrow("SELECT name, address, timezone FROM properties WHERE id = $1", property_id)
    assert set(params) == {"call_id", "token"} and params["call_id"] == call["id"]  # the token carries the rest
    claims = media_token.verify(MEDIA_SECRET, join_parameter(params, "token"))
    assert (claims.call_id, claims.call_sid, claims.call_type, claims.property_id, claims.direction) == (
        call["id"], sid, "guest", property_id, "inbound")
    assert (claims.from_number, claims.to_number, claims.other_party_number) == ("+15557770001", number,
                                                                                 "+15557770001")
    assert (claims.property_name, claims.property_address) == (place["name"], place["address"] or "")
    assert (claims.property_timezone, claims.callback_number) == (place["timezone"], "")  # inbound: no voicemail
    events = await events_for_call(nc, property_id, call["id"], want=1)
    assert [type(e) for e in events] == [CallStarted]
    assert (events[0].from_number, events[0].to_number, events[0].direction) == ("+15557770001", number, "inbound")


async def test_twilio_retries_of_the_same_call_record_it_once(twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    await report_capacity(nc, ingress, active=0, max_calls=2)
    sid = new_sid()
    answers = await asyncio.gather(*(twilio.voice(sid, to=number) for _ in range(5)))
    answers.append(await twilio.voice(sid, to=number))
    tokens = {_stream(body)[1]["token"] for status, body in answers if status == 200}
    assert len(tokens) == 6  # every answer streams, each with a fresh one-time token
    rows = await ingress_pool.fetch("SELECT id FROM calls WHERE twilio_call_sid = $1", sid)
    assert len(rows) == 1
    # One admission only: the second slot is still free for another caller.
    assert "<Connect>" in (await twilio.voice(new_sid(), to=number))[1]
    events = await events_for_call(nc, property_id, rows[0]["id"], want=1)
    assert len(events) == 1


async def test_signed_webhook_missing_fields_is_a_bad_request(twilio, ingress_pool, prop):
    sid = new_sid()
    status, body = await twilio.post("/twilio/voice", {"CallSid": sid, "From": "+15557770000"})
    assert (status, body) == (400, "missing To")
    assert await ingress_pool.fetchval("SELECT count(*) FROM calls WHERE twilio_call_sid = $1", sid) == 0


BRIEFING = "Quotes: " + "; ".join(f"vendor {n} quoted {100 + n} USD, earliest Tuesday 10:00" for n in range(30))


async def test_outbound_call_answer_uses_the_call_record(twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    call_id, incident_id, sid = uuid.uuid4().hex, f"inc-{uuid.uuid4().hex[:8]}", new_sid()
    await ingress_pool.execute(
        "INSERT INTO incidents (id, property_id, category, severity, description) VALUES ($1, $2, 'plumbing',"
        " 'high', 'leak')", incident_id, property_id)
    await ingress_pool.execute(
        "INSERT INTO calls (id, property_id, incident_id, call_type, direction, from_number, to_number, vendor_id,"
        " status, dial_state, briefing) VALUES ($1, $2, $3, 'vendor', 'outbound', $4, '+15550201001', 'v-plumb-1',"
        " 'queued', 'placed', $5)", call_id, property_id, incident_id, number, BRIEFING)
    await report_capacity(nc, ingress, active=0, max_calls=1)
    status, body = await twilio.voice(sid, to="+15550201001", from_=number, query=f"?call_id={call_id}",
                                      Direction="outbound-api", CallStatus="in-progress", AnsweredBy="human")
    assert status == 200
    stream, params = _stream(body)
    # Twilio refuses a <Parameter> of 500+ characters: the token is split, and joins back.
    assert all(len(p.get("name")) + len(p.get("value")) < 500 for p in stream.findall("Parameter"))
    claims = media_token.verify(MEDIA_SECRET, join_parameter(params, "token"))
    assert (claims.call_type, claims.incident_id, claims.answered_by, claims.call_sid) == (
        "vendor", incident_id, "human", sid)
    assert (claims.other_party_number, claims.vendor_id, claims.direction) == (
        "+15550201001", "v-plumb-1", "outbound")  # the agent speaks with the vendor it dialled
    assert claims.briefing == BRIEFING
    row = await ingress_pool.fetchrow("SELECT * FROM calls WHERE id = $1", call_id)
    assert (row["twilio_call_sid"], row["answered_by"], row["admission"]) == (sid, "human", "admitted")


async def test_webhook_for_an_unknown_call_id_hangs_up(twilio, ingress_pool):
    sid = new_sid()
    status, body = await twilio.voice(sid, query="?call_id=nosuchcall")
    assert status == 200 and "<Hangup />" in body and "<Connect>" not in body
    assert await ingress_pool.fetchval("SELECT count(*) FROM calls WHERE twilio_call_sid = $1", sid) == 0


async def test_without_a_media_token_secret_calls_are_refused_politely_and_not_recorded(
        nats_url, ingress_database_url, nc, ingress_pool, prop, no_open_calls):
    sid = new_sid()
    async with ingress_running(nats_url, ingress_database_url, media_token_secret="") as svc:
        await report_capacity(nc, svc, active=0, max_calls=5)
        async with aiohttp.ClientSession() as http:
            status, body = await TwilioSide(http, svc.url).voice(sid, to=prop[1])
    assert status == 200 and "<Hangup />" in body and "<Connect>" not in body
    assert await ingress_pool.fetchval("SELECT count(*) FROM calls WHERE twilio_call_sid = $1", sid) == 0


async def _vendor_booked_at(pool, property_id: str, starts_in_min: float) -> tuple[str, str]:
    """A vendor of its own (id, phone) with a two-hour booking at ``property_id``."""
    vendor_id, phone = f"v-{uuid.uuid4().hex[:10]}", "+1555" + str(uuid.uuid4().int)[:7]
    incident_id = f"inc-{uuid.uuid4().hex[:12]}"
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO vendors (id, name, trade, phone) VALUES ($1, 'Sparks Ltd', 'electrical', $2)",
                           vendor_id, phone)
        await conn.execute("INSERT INTO incidents (id, property_id, category, severity, description)"
                           " VALUES ($1, $2, 'electrical', 'medium', 'lights flicker')", incident_id, property_id)
        await conn.execute(
            "INSERT INTO repair_bookings (id, incident_id, vendor_id, property_id, calendar_event_id, starts_at,"
            " ends_at, reference) VALUES ($1, $2, $3, $4, $5, now() + make_interval(mins => $6),"
            " now() + make_interval(mins => $6 + 120), '12345678')",
            f"bk-{uuid.uuid4().hex}", incident_id, vendor_id, property_id, uuid.uuid4().hex, starts_in_min)
    return vendor_id, phone


async def test_a_booked_vendor_calling_in_is_a_vendor_call_and_the_token_says_so(
        twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    await report_capacity(nc, ingress, active=0, max_calls=4)
    vendor_id, phone = await _vendor_booked_at(ingress_pool, property_id, starts_in_min=30)
    sid = new_sid()
    status, body = await twilio.voice(sid, to=number, from_=phone)
    assert status == 200
    _, params = _stream(body)
    call = await ingress_pool.fetchrow("SELECT * FROM calls WHERE twilio_call_sid = $1", sid)
    assert (call["call_type"], call["vendor_id"], call["direction"], call["incident_id"]) == (
        "vendor", vendor_id, "inbound", None)
    claims = media_token.verify(MEDIA_SECRET, join_parameter(params, "token"))
    assert (claims.call_type, claims.vendor_id, claims.other_party_number) == ("vendor", vendor_id, phone)
    (started,) = await events_for_call(nc, property_id, call["id"], want=1)
    assert started.call_type == "vendor"


async def test_a_vendor_without_a_booking_now_is_a_guest_call(twilio, ingress, nc, ingress_pool, prop, no_open_calls):
    property_id, number = prop
    await report_capacity(nc, ingress, active=0, max_calls=4)
    _, phone = await _vendor_booked_at(ingress_pool, property_id, starts_in_min=24 * 60)  # tomorrow
    sid = new_sid()
    status, _ = await twilio.voice(sid, to=number, from_=phone)
    assert status == 200
    call = await ingress_pool.fetchrow("SELECT call_type, vendor_id FROM calls WHERE twilio_call_sid = $1", sid)
    assert (call["call_type"], call["vendor_id"]) == ("guest", None)
