"""``python -m fixline twilio-setup`` against the Twilio emulator (the real SDK, base URL from
TWILIO_API_BASE_URL as ingress uses it): the properties' numbers point at the voice webhook and
the status callback; a second run changes nothing; an unknown property or a number the account
does not own is refused before anything changes."""
from __future__ import annotations

import dataclasses
import uuid

import asyncpg
import pytest

from emulators.twilio import TwilioEmulator
from fixline import twilio_setup
from fixline.db.provision import provision_database
from tests.support.services import settings_for

PUBLIC = "https://fixline.example"


@pytest.fixture
async def database(stack) -> str:
    """A database of this test's own: the shared one holds other tests' properties."""
    return await provision_database(stack.database_url, f"fixline_tw_{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def twilio():
    async with TwilioEmulator(auth_token="setup-token") as emu:
        yield emu


async def _numbers(database: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch("SELECT property_id, phone_number FROM property_phone_numbers ORDER BY 2")
    finally:
        await conn.close()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["property_id"], []).append(row["phone_number"])
    return found


def _settings(database: str, twilio: TwilioEmulator, **overrides: object):
    values: dict[str, object] = {"database_url": database, "public_base_url": PUBLIC,
                                 "twilio_account_sid": twilio.account_sid, "twilio_auth_token": "setup-token",
                                 "twilio_api_base_url": twilio.base_url + "/2010-04-01", **overrides}
    return dataclasses.replace(settings_for("ingress"), **values)


def _updates(twilio: TwilioEmulator) -> list:
    return [r for r in twilio.rest_requests if "/IncomingPhoneNumbers/" in r[1]]


async def test_one_property_then_all_then_nothing_to_do(database, twilio, capsys):
    numbers = await _numbers(database)
    owned = {phone: twilio.add_incoming_number(phone) for phones in numbers.values() for phone in phones}
    assert await twilio_setup.run(_settings(database, twilio), ["p1"]) == 0
    for phone, number in owned.items():
        pointed = phone in numbers["p1"]
        assert number.config["voice_url"] == (f"{PUBLIC}/twilio/voice" if pointed else "")
        assert number.config["status_callback"] == (f"{PUBLIC}/twilio/status" if pointed else "")
    out = capsys.readouterr().out
    assert f"p1 {numbers['p1'][0]}" in out and "voice_url: (none) -> https://fixline.example/twilio/voice" in out
    assert await twilio_setup.run(_settings(database, twilio), None) == 0  # every property
    assert all(n.config["voice_url"] == f"{PUBLIC}/twilio/voice" for n in owned.values())
    sent = len(_updates(twilio))
    assert sent == len(owned)  # p1's numbers were not updated twice
    assert await twilio_setup.run(_settings(database, twilio), None) == 0
    assert len(_updates(twilio)) == sent  # idempotent: nothing to change, nothing sent
    assert f"0 of {len(owned)} number(s) changed" in capsys.readouterr().out


async def test_unknown_property_or_number_not_in_the_account_changes_nothing(database, twilio, capsys):
    numbers = await _numbers(database)
    for phone in numbers["p1"]:
        twilio.add_incoming_number(phone)  # p2's numbers are not in this Twilio account
    assert await twilio_setup.run(_settings(database, twilio), ["p9"]) == 2
    assert "unknown property p9" in capsys.readouterr().out
    assert await twilio_setup.run(_settings(database, twilio), ["p1", "p2"]) == 2
    assert f"{numbers['p2'][0]} (property p2) is not a number of Twilio account" in capsys.readouterr().out
    assert await twilio_setup.run(_settings(database, twilio, public_base_url="fixline.example"), ["p1"]) == 2
    assert "PUBLIC_BASE_URL must be an http(s) URL" in capsys.readouterr().out
    assert _updates(twilio) == []  # p1 was not touched either
    assert all(twilio.incoming_number(p).config["voice_url"] == "" for p in numbers["p1"])
