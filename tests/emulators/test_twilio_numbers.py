"""IncomingPhoneNumbers on the Twilio emulator, through the real SDK (sync and async): list
filtered by PhoneNumber, fetch, update (VoiceUrl, StatusCallback and their methods), 21402 for
a bad URL, 20404 for an unknown sid; an inbound call to a configured number rings its VoiceUrl
and reports to its StatusCallback."""
from __future__ import annotations

import asyncio

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient

from emulators.twilio import TwilioEmulator

from .agent_app import AgentApp
from .test_twilio_carrier import TOKEN


@pytest.fixture
async def twilio():
    async with TwilioEmulator(auth_token=TOKEN, verb_time_scale=0.05) as emu:
        yield emu
        assert emu.errors == []


async def test_list_fetch_update_with_the_async_sdk(twilio):
    number = twilio.add_incoming_number("+15550100001", "Seaside Cottage")
    twilio.add_incoming_number("+15550100002")
    async with AsyncTwilioHttpClient(timeout=5) as http:
        client = twilio.client(http_client=http)
        (found,) = await client.incoming_phone_numbers.list_async(phone_number="+15550100001")
        assert found.sid == number.sid and found.sid.startswith("PN") and found.voice_url is None
        assert found.friendly_name == "Seaside Cottage" and found.date_created.tzinfo is not None
        assert len(await client.incoming_phone_numbers.list_async()) == 2
        assert await client.incoming_phone_numbers.list_async(phone_number="+15550109999") == []
        updated = await client.incoming_phone_numbers(number.sid).update_async(
            voice_url="https://fixline.example/twilio/voice", voice_method="POST",
            status_callback="https://fixline.example/twilio/status", status_callback_method="POST")
        fetched = await client.incoming_phone_numbers(number.sid).fetch_async()
    for resource in (updated, fetched):
        assert resource.voice_url == "https://fixline.example/twilio/voice" and resource.voice_method == "POST"
        assert resource.status_callback == "https://fixline.example/twilio/status"
        assert resource.status_callback_method == "POST" and resource.phone_number == "+15550100001"


async def test_bad_url_and_unknown_sid_are_refused_and_change_nothing(twilio):
    number = twilio.add_incoming_number("+15550100001")
    client = twilio.client()
    with pytest.raises(TwilioRestException) as bad:
        await asyncio.to_thread(client.incoming_phone_numbers(number.sid).update, voice_url="ftp://nope")
    with pytest.raises(TwilioRestException) as unknown:
        await asyncio.to_thread(client.incoming_phone_numbers("PN" + "0" * 32).update,
                                voice_url="https://fixline.example/twilio/voice")
    assert (bad.value.status, bad.value.code) == (400, 21402)
    assert (unknown.value.status, unknown.value.code) == (404, 20404)
    assert number.config["voice_url"] == ""


async def test_a_call_to_a_configured_number_uses_its_webhook_and_status_callback(twilio):
    async with AgentApp(TOKEN) as app:
        app.twiml = "<Response><Say>Hello.</Say><Hangup/></Response>"
        number = twilio.add_incoming_number("+15550100001")
        await asyncio.to_thread(twilio.client().incoming_phone_numbers(number.sid).update,
                                voice_url=app.url + "/voice", status_callback=app.url + "/status")
        call = await twilio.place_inbound_call(to="+15550100001", from_="+15550002222")
        await call.wait(10)
        await asyncio.sleep(0.2)
    assert app.webhooks and app.webhooks[0]["To"] == "+15550100001"
    assert [c["CallStatus"] for c in app.callbacks if c["path"] == "/status"] == ["completed"]
    with pytest.raises(ValueError, match="not a number of this account"):
        await twilio.place_inbound_call(to="+15550100009", from_="+15550002222")
