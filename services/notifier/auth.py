"""Who may watch the dashboard, and which properties they see.

* ``DASHBOARD_TOKEN``: one token that sees every property (the operator's).
* ``DASHBOARD_TOKENS``: ``tokenA=p1,p2;tokenB=p3`` — tokens scoped to some properties.

Browsers exchange a token once (``POST /login`` or ``GET /login?token=``) for an HttpOnly
session cookie: ``<token id>.<expiry>.<HMAC(token, token id + expiry)>``. It is signed with
the token itself, so every notifier replica verifies it without shared state, and rotating
a token ends its sessions. Other clients send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from aiohttp import web

SESSION_COOKIE = "fixline_session"


@dataclass(frozen=True)
class Viewer:
    """An authenticated dashboard client. ``properties`` None = every property."""

    label: str                            # safe to log: never the token
    properties: frozenset[str] | None
    expires_at: float | None = None       # session expiry (cookie sessions)

    def may_see(self, property_id: str) -> bool:
        return self.properties is None or property_id in self.properties

    @property
    def scope_key(self) -> str:
        return "*" if self.properties is None else ",".join(sorted(self.properties))


class TokenConfigError(ValueError):
    pass


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def parse_scoped_tokens(raw: str) -> dict[str, frozenset[str]]:
    """``tokenA=p1,p2;tokenB=p3`` -> {tokenA: {p1, p2}, tokenB: {p3}}; clear errors otherwise."""
    tokens: dict[str, frozenset[str]] = {}
    for number, entry in enumerate(raw.split(";"), start=1):
        if not entry.strip():
            continue
        token, sep, props = entry.rpartition("=")
        token = token.strip()
        properties = frozenset(p.strip() for p in props.split(",") if p.strip())
        if not sep or len(token) < 8 or not properties:
            raise TokenConfigError(
                f"DASHBOARD_TOKENS entry {number}: expected '<token of 8+ chars>=<property>[,<property>...]'")
        tokens[token] = properties
    return tokens


class TokenTable:
    def __init__(self, admin_token: str = "", scoped: str = "") -> None:
        self._viewers: dict[str, Viewer] = {}
        for token, properties in parse_scoped_tokens(scoped).items():
            self._viewers[token] = Viewer(label=f"token:{_token_id(token)[:6]}", properties=properties)
        if admin_token:
            self._viewers[admin_token] = Viewer(label="token:admin", properties=None)
        self._by_id = {_token_id(token): token for token in self._viewers}

    def __bool__(self) -> bool:
        return bool(self._viewers)

    def viewer_for(self, presented: str) -> Viewer | None:
        """Constant-time comparison against every configured token."""
        found = None
        for token, viewer in self._viewers.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                found = viewer
        return found

    def issue_session(self, token: str, ttl_s: float, now: float | None = None) -> str:
        token_id = _token_id(token)
        expiry = int((now or time.time()) + ttl_s)
        return f"{token_id}.{expiry}.{_sign(token, token_id, expiry)}"

    def viewer_for_session(self, cookie: str, now: float | None = None) -> Viewer | None:
        try:
            token_id, expiry_raw, signature = cookie.split(".")
            expiry = int(expiry_raw)
        except ValueError:
            return None
        token = self._by_id.get(token_id)
        if token is None or expiry <= (now or time.time()):
            return None
        if not hmac.compare_digest(signature, _sign(token, token_id, expiry)):
            return None
        viewer = self._viewers[token]
        return Viewer(label=viewer.label, properties=viewer.properties, expires_at=float(expiry))


def _sign(token: str, token_id: str, expiry: int) -> str:
    digest = hmac.new(token.encode(), f"fixline-session:{token_id}.{expiry}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authenticate(request: web.Request, tokens: TokenTable) -> Viewer | None:
    """Bearer header first (API clients), then the session cookie (browsers)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return tokens.viewer_for(header[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return tokens.viewer_for_session(cookie)
    return None
