import os
import zlib

import msgspec
import pytest

from services.common import media_token
from services.common.media_token import (TOKEN_MAX_CHARS, MediaClaims, TokenError, UsedTokens, issue, verify)
from services.common.stream_parameters import join_parameter, split_parameter

CLAIMS = MediaClaims(call_id="c1", call_sid="CA1", call_type="guest", property_id="p1", direction="inbound",
                     from_number="+15557770000", to_number="+15550100001", briefing="Leak in the bathroom.")


def test_round_trip_and_single_use():
    token = issue("s3cret", CLAIMS)
    claims = verify("s3cret", token)
    assert msgspec.structs.replace(claims, expires_at=0.0, nonce="") == CLAIMS
    assert claims.other_party_number == "+15557770000"
    used = UsedTokens()
    used.consume(claims)
    with pytest.raises(TokenError, match="already used"):
        used.consume(verify("s3cret", token))


@pytest.mark.parametrize("mangle", [lambda t: t + "x", lambda t: "A" + t[1:], lambda t: t.split(".")[0], lambda t: ""])
def test_forged_or_malformed_tokens_are_refused(mangle):
    with pytest.raises(TokenError):
        verify("s3cret", mangle(issue("s3cret", CLAIMS)))


def test_other_secret_and_expiry_are_refused():
    token = issue("s3cret", CLAIMS, ttl_s=5)
    with pytest.raises(TokenError, match="bad signature"):
        verify("other", token)
    with pytest.raises(TokenError, match="expired"):
        verify("s3cret", token, now=10**12)


@pytest.mark.parametrize("briefing", ["Vendor 7 quoted 180 USD, Tuesday 10:00. " * 120,
                                      os.urandom(3000).hex(), "é€ü漢" * 1000])
def test_a_long_briefing_is_cut_so_the_token_fits_the_stream_parameters(briefing):
    token = issue("s3cret", msgspec.structs.replace(CLAIMS, briefing=briefing))
    assert len(token) <= TOKEN_MAX_CHARS
    parts = split_parameter("token", token)
    assert all(len(name) + len(value) < 500 for name, value in parts)
    claims = verify("s3cret", join_parameter(dict(parts), "token"))
    assert claims.briefing and briefing.startswith(claims.briefing)


def _signed(secret: str, raw: bytes) -> str:
    body = media_token._b64(zlib.compress(raw, 9))
    return f"{body}.{media_token._sign(secret, body)}"


@pytest.mark.parametrize("raw,reason", [
    (b'{"call_id": "c1"}', "malformed claims"),                                        # required claims missing
    (msgspec.json.encode({**msgspec.structs.asdict(CLAIMS), "admin": True, "expires_at": 1e12,
                          "nonce": "n"}), "malformed claims"),                            # unknown claim
    (msgspec.json.encode({**msgspec.structs.asdict(CLAIMS), "call_sid": "", "expires_at": 1e12, "nonce": "n"}),
     "incomplete claims"),                                                                # not bound to a call
    (b'{"pad": "' + b"x" * 200_000 + b'"}', "too large"),                                 # bounded inflate
])
def test_signed_but_bad_claims_are_refused(raw, reason):
    with pytest.raises(TokenError, match=reason):
        verify("s3cret", _signed("s3cret", raw))
