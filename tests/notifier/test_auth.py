import pytest

from services.notifier.auth import TokenConfigError, TokenTable, parse_scoped_tokens


def test_scoped_tokens_parse():
    assert parse_scoped_tokens("tokenAAAA=p1, p2; tokenBBBB=p3;") == {
        "tokenAAAA": frozenset({"p1", "p2"}), "tokenBBBB": frozenset({"p3"})}


@pytest.mark.parametrize("raw", ["tokenAAAA", "tokenAAAA=", "short=p1", "=p1"])
def test_bad_scoped_token_config_is_a_clear_error_without_the_token(raw):
    with pytest.raises(TokenConfigError, match="entry 1") as info:
        parse_scoped_tokens(raw)
    assert "tokenAAAA" not in str(info.value)


def test_viewers_and_scopes():
    table = TokenTable("admin-token-xyz", "scoped-token=p2,p3")
    assert table.viewer_for("admin-token-xyz").properties is None
    scoped = table.viewer_for("scoped-token")
    assert scoped.may_see("p2") and not scoped.may_see("p1")
    assert table.viewer_for("scoped-tokeN") is None and table.viewer_for("") is None
    assert not TokenTable()


def test_sessions_are_signed_expire_and_die_with_their_token():
    table = TokenTable("admin-token-xyz", "scoped-token=p2")
    cookie = table.issue_session("scoped-token", ttl_s=60, now=1000.0)
    assert "scoped-token" not in cookie
    viewer = table.viewer_for_session(cookie, now=1030.0)
    assert viewer.properties == frozenset({"p2"}) and viewer.expires_at == 1060.0
    assert table.viewer_for_session(cookie, now=1061.0) is None            # expired
    token_id, expiry, signature = cookie.split(".")
    assert table.viewer_for_session(f"{token_id}.{int(expiry) + 999}.{signature}", now=1030.0) is None
    assert table.viewer_for_session("garbage", now=1030.0) is None
    rotated = TokenTable("admin-token-xyz", "new-scoped-token=p2")
    assert rotated.viewer_for_session(cookie, now=1030.0) is None            # token rotated
