import pytest

from services.common.media_token import MediaClaims, TokenError, UsedTokens, issue, verify

CLAIMS = MediaClaims(call_id="c1", call_type="guest", property_id="p1")


def test_round_trip_and_single_use():
    token = issue("s3cret", CLAIMS)
    claims = verify("s3cret", token)
    assert (claims.call_id, claims.call_type, claims.property_id) == ("c1", "guest", "p1")
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
