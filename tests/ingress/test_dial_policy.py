"""The dial policy (pure): E.164, allowed country prefixes, blocked premium-rate ranges."""

import dataclasses

import pytest

from services.common.settings import Settings
from services.ingress.app import check_settings
from services.ingress.dial_policy import DialPolicy

DEFAULTS = Settings(service="ingress")
POLICY = DialPolicy.from_settings(DEFAULTS.dial_allowed_prefixes, DEFAULTS.dial_blocked_prefixes)


@pytest.mark.parametrize("number", ["+15550201001", "+12125550100", "+18005550100"])
def test_ordinary_numbers_pass(number):
    assert POLICY.refusal(number) is None


@pytest.mark.parametrize("number,why", [
    ("+19005550100", "blocked (premium-rate) range +1900"), ("+19765550100", "blocked (premium-rate) range +1976"),
    ("+447700900123", "outside the allowed"), ("+882345678901", "outside the allowed"),
    ("+1555010", "ten-digit"), ("+155502010011", "ten-digit"), ("15550201001", "E.164"),
    ("+1555\x000201001", "E.164"), ("", "E.164"), ("+1 555 020 1001", "E.164"),
])
def test_refused_numbers_say_why_without_echoing_the_number(number, why):
    refusal = POLICY.refusal(number)
    assert refusal is not None and why in refusal and (not number or number not in refusal)


def test_blocked_wins_inside_an_allowed_country():
    uk = DialPolicy.from_settings("+1,+44", DEFAULTS.dial_blocked_prefixes)
    assert uk.refusal("+442071234567") is None
    assert "+449" in uk.refusal("+449098765432") and "+4487" in uk.refusal("+448712345678")


@pytest.mark.parametrize("allowed,blocked,message", [
    ("", "", "DIAL_ALLOWED_PREFIXES is empty"), ("1", "", "must look like"), ("+1", "+1900;+1976", "must look"),
])
def test_bad_policy_settings_stop_the_service(allowed, blocked, message):
    with pytest.raises(ValueError, match=message):
        DialPolicy.from_settings(allowed, blocked)


def test_an_overflow_number_outside_the_policy_stops_the_service():
    with pytest.raises(ValueError, match="OVERFLOW_DIAL_NUMBER fails the dial policy"):
        check_settings(dataclasses.replace(DEFAULTS, overflow_mode="dial", overflow_dial_number="+19005550100"))
    check_settings(dataclasses.replace(DEFAULTS, overflow_mode="dial", overflow_dial_number="+15550109001"))
