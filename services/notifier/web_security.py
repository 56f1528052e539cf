"""Browser-facing hardening: security headers on every response, and no cross-site writes.

* Every response (pages, static files, SSE, JSON, health, errors) carries a strict CSP —
  scripts only from this origin, no inline script or style, no framing — plus nosniff,
  ``Referrer-Policy: same-origin`` and ``X-Frame-Options: DENY``. The dashboard inserts
  data only as text; the CSP is the second wall should that ever regress.
* State-changing requests (POST and friends) from another site are refused with 403
  before any handler runs, so nothing changes (no session set or cleared). ``Origin``
  decides; without it ``Sec-Fetch-Site``, then ``Referer``. A request with none of the
  three is not from a browser and carries no ambient session to abuse.

``Referrer-Policy`` is ``same-origin``, not ``no-referrer``: under ``no-referrer`` a
browser sends ``Origin: null`` on the page's own form POSTs (Fetch spec), and sign-out
would be refused as cross-origin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import Counter

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})   # "none": the user typed or clicked it


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: runs for every response, streamed ones included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value


def is_https(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _own_origins(request: web.Request) -> set[str]:
    scheme = "https" if is_https(request) else "http"
    hosts = {request.host}
    forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    if forwarded:
        hosts.add(forwarded)
    return {f"{scheme}://{host}".lower() for host in hosts}


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


def cross_site_reason(request: web.Request) -> str | None:
    """Why this request did not come from the dashboard's own pages, or None if it did
    (or is not from a browser at all)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return None if _origin_of(origin) in _own_origins(request) else "Origin is another site"
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return None if site.strip().lower() in _TRUSTED_FETCH_SITES else f"Sec-Fetch-Site is {site[:20]!r}"
    referer = request.headers.get("Referer")
    if referer is not None:
        return None if _origin_of(referer) in _own_origins(request) else "Referer is another site"
    return None


def navigation_is_cross_site(request: web.Request) -> bool:
    """A GET that would change state (the sign-in link): refuse it when another site
    started the navigation (a GET carries no ``Origin``, so ``Sec-Fetch-Site``/``Referer``)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.strip().lower() not in _TRUSTED_FETCH_SITES
    referer = request.headers.get("Referer")
    return referer is not None and _origin_of(referer) not in _own_origins(request)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def same_origin_writes(refused: Counter) -> Middleware:
    """Middleware: refuse cross-site state-changing requests before their handler runs."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in SAFE_METHODS:
            reason = cross_site_reason(request)
            if reason is not None:
                refused.labels("cross_origin").inc()
                return web.json_response(
                    {"error": f"cross-origin {request.method} refused: {reason}"}, status=403)
        return await handler(request)

    return middleware
