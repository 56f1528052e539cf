"""Security headers on every notifier response; cross-site sign-in and sign-out refused
with nothing changed (no session set or cleared)."""

from __future__ import annotations

import re

import aiohttp
import pytest

from services.notifier.web_security import SECURITY_HEADERS

from .support import ADMIN_TOKEN, bearer, create_stream, notifier, open_stream

EVIL = "https://evil.example"
CROSS_SITE = [
    {"Origin": EVIL},
    {"Origin": "null"},                                  # sandboxed frame, data: URL, no-referrer page
    {"Origin": EVIL, "Sec-Fetch-Site": "same-origin"},   # Origin decides when present
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},                     # a sibling subdomain is another origin
    {"Referer": EVIL + "/page"},
]


def assert_hardened(resp: aiohttp.ClientResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers.get(name) == value, (resp.url.path, name)
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp


async def test_every_route_carries_the_security_headers(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        for path, headers in [("/", bearer()), ("/", {}), ("/login", {}), ("/static/app.js", {}),
                              ("/static/index.html", {}), ("/static/app.css", {}), ("/static/favicon.svg", {}),
                              ("/static/missing.js", {}), ("/api/snapshot", bearer()), ("/api/snapshot", {}),
                              ("/health/services", bearer()), ("/metrics", {}), ("/healthz", {}), ("/readyz", {}),
                              ("/no-such-page", {}), ("/events", {})]:
            async with http.get(svc.url + path, headers=headers, allow_redirects=False) as resp:
                assert_hardened(resp)
        async with http.post(svc.url + "/login", data={"token": "wrong"}) as resp:
            assert resp.status == 401
            assert_hardened(resp)
        async with http.get(svc.url + "/static/app.js") as resp:
            assert resp.content_type == "application/javascript"   # with nosniff, the type must be right
        async with open_stream(http, svc.url) as reader:               # the SSE stream itself
            assert_hardened(reader.response)


async def test_pages_need_no_inline_script_or_style(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        for path, headers in [("/", bearer()), ("/login", {})]:
            async with http.get(svc.url + path, headers=headers) as resp:
                page = (await resp.text()).lower()
            assert "<script>" not in page and "<style" not in page and " style=" not in page
            assert not re.search(r"\son[a-z]+\s*=", page)   # no onclick= / onload= handlers
            assert "javascript:" not in page
            assert '<script src="/static/app.js"' in page or path == "/login"


@pytest.mark.parametrize("headers", CROSS_SITE)
async def test_cross_site_sign_in_is_refused_and_sets_no_cookie(nc, headers):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with http.post(svc.url + "/login", data={"token": ADMIN_TOKEN}, headers=headers,
                             allow_redirects=False) as resp:
            assert resp.status == 403 and "cross-origin" in (await resp.json())["error"]
            assert "Set-Cookie" not in resp.headers
        assert len(http.cookie_jar) == 0
        refused = svc.runtime.registry.get_sample_value("notifier_http_refused_total", {"reason": "cross_origin"})
        assert refused == 1


@pytest.mark.parametrize("headers", CROSS_SITE)
async def test_cross_site_sign_out_is_refused_and_the_session_survives(nc, headers):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(svc.url + "/login", data={"token": ADMIN_TOKEN}, headers={"Origin": svc.url},
                             allow_redirects=False) as resp:
            assert resp.status == 303 and "fixline_session=" in resp.headers["Set-Cookie"]
        async with http.post(svc.url + "/logout", headers=headers, allow_redirects=False) as resp:
            assert resp.status == 403 and "Set-Cookie" not in resp.headers
        async with http.get(svc.url + "/api/snapshot") as resp:
            assert resp.status == 200                     # still signed in
        async with http.post(svc.url + "/logout", headers={"Origin": svc.url, "Sec-Fetch-Site": "same-origin"},
                             allow_redirects=False) as resp:
            assert resp.status == 303 and "fixline_session=;" in resp.headers["Set-Cookie"].replace('""', "")
        async with http.get(svc.url + "/api/snapshot") as resp:
            assert resp.status == 401


@pytest.mark.parametrize("headers", [{"Origin": "{url}"}, {"Sec-Fetch-Site": "same-origin"},
                                     {"Referer": "{url}/login"}, {}])
async def test_same_origin_and_non_browser_sign_in_still_work(nc, headers):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        headers = {name: value.format(url=svc.url) for name, value in headers.items()}
        async with http.post(svc.url + "/login", data={"token": ADMIN_TOKEN}, headers=headers,
                             allow_redirects=False) as resp:
            assert resp.status == 303 and "fixline_session=" in resp.headers["Set-Cookie"]


async def test_behind_a_tls_proxy_the_https_origin_is_ours(nc):
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "dash.example.com"}
        for origin, status in (("https://dash.example.com", 303), ("http://dash.example.com", 403)):
            async with http.post(svc.url + "/login", data={"token": ADMIN_TOKEN}, allow_redirects=False,
                                 headers={**proxied, "Origin": origin}) as resp:
                assert resp.status == status, origin
                assert ("Secure" in resp.headers.get("Set-Cookie", "")) == (status == 303)


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Referer": EVIL + "/"}])
async def test_a_sign_in_link_opened_from_another_site_is_refused(nc, headers):
    """Login CSRF: another site must not sign the victim in to the attacker's session."""
    stream = await create_stream(nc)
    async with notifier(stream) as svc, aiohttp.ClientSession() as http:
        async with http.get(svc.url + "/login", params={"token": ADMIN_TOKEN}, headers=headers,
                            allow_redirects=False) as resp:
            assert resp.status == 403 and "opened directly" in await resp.text()
            assert "Set-Cookie" not in resp.headers
        async with http.get(svc.url + "/login", params={"token": ADMIN_TOKEN}, allow_redirects=False,
                            headers={"Sec-Fetch-Site": "none"}) as resp:   # typed or pasted: fine
            assert resp.status == 303 and "fixline_session=" in resp.headers["Set-Cookie"]
