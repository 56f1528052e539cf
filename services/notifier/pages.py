"""The browser side: login/logout, the dashboard page, its static files, and JSON views."""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from fixline_proto.codec import ENCODER

from .auth import SESSION_COOKIE, TokenTable, Viewer, authenticate
from .health import HealthBoard
from .snapshots import SnapshotBuilder
from .web_security import is_https, navigation_is_cross_site

STATIC_DIR = Path(__file__).with_name("static")
NO_STORE = {"Cache-Control": "no-store"}


class Pages:
    def __init__(self, tokens: TokenTable, snapshots: SnapshotBuilder, health: HealthBoard,
                 session_ttl_s: float) -> None:
        self.tokens, self.snapshots, self.health = tokens, snapshots, health
        self.session_ttl_s = session_ttl_s

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.dashboard)
        app.router.add_get("/login", self.login_get)
        app.router.add_post("/login", self.login_post)
        app.router.add_post("/logout", self.logout)
        app.router.add_get("/api/snapshot", self.snapshot)
        app.router.add_get("/health/services", self.services)
        app.router.add_static("/static/", STATIC_DIR, append_version=False)

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        if authenticate(request, self.tokens) is None:
            return _login_page(status=401)
        return web.FileResponse(STATIC_DIR / "index.html", headers=NO_STORE)

    async def login_get(self, request: web.Request) -> web.StreamResponse:
        """``/login?token=…`` (the link ``make run`` prints) signs in and strips the token from the URL.

        Not when another site started the navigation: that would sign the victim in to
        the attacker's session (login CSRF)."""
        token = request.query.get("token")
        if token is None:
            return _login_page(status=200)
        if navigation_is_cross_site(request):
            return _login_page(status=403, error="Sign-in links work only when opened directly: "
                                                 "paste the link into the address bar, or enter the token.")
        return self._sign_in(request, token)

    async def login_post(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        return self._sign_in(request, str(form.get("token", "")))

    def _sign_in(self, request: web.Request, token: str) -> web.StreamResponse:
        if not token or self.tokens.viewer_for(token) is None:
            return _login_page(status=401, error="That token is not valid.")
        response = _see_other("/")
        response.set_cookie(SESSION_COOKIE, self.tokens.issue_session(token, self.session_ttl_s),
                            max_age=int(self.session_ttl_s), httponly=True, samesite="Strict",
                            secure=is_https(request), path="/")
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        response = _see_other("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    async def snapshot(self, request: web.Request) -> web.Response:
        viewer = _require(request, self.tokens)
        body = self.snapshots.encode(viewer, self.snapshots.state.seq)
        return web.Response(body=body, content_type="application/json", headers=NO_STORE)

    async def services(self, request: web.Request) -> web.Response:
        _require(request, self.tokens)
        return web.Response(body=ENCODER.encode({"services": self.health.summary()}),
                            content_type="application/json", headers=NO_STORE)


def _require(request: web.Request, tokens: TokenTable) -> Viewer:
    viewer = authenticate(request, tokens)
    if viewer is None:
        raise web.HTTPUnauthorized(text='{"error": "a dashboard session or bearer token is required"}',
                                   content_type="application/json")
    return viewer


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={**NO_STORE, "Location": location})


def _login_page(status: int, error: str = "") -> web.Response:
    page = (STATIC_DIR / "login.html").read_text()
    notice = f'<p class="login-error" role="alert">{html.escape(error)}</p>' if error else ""
    return web.Response(text=page.replace("<!--ERROR-->", notice), status=status,
                        content_type="text/html", headers=NO_STORE)
