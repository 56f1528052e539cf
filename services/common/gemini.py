"""One way to build a google-genai client from the settings (base URL, API version, and
the extra CA of the offline emulator), for every service that calls Gemini."""

from __future__ import annotations

import ssl

from google import genai
from google.genai import types

from .settings import Settings


def _ssl_context(ca_file: str) -> ssl.SSLContext:
    """The system's trust store plus ``ca_file`` (the emulator's self-signed CA)."""
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(ca_file)
    return ctx


def make_client(settings: Settings, *, api_version: str = "", timeout_s: float | None = None,
                websocket_args: dict[str, object] | None = None) -> genai.Client:
    async_args: dict[str, object] = dict(websocket_args or {})
    sync_args: dict[str, object] = {}
    if settings.gemini_ca_file:
        ctx = _ssl_context(settings.gemini_ca_file)
        # aiohttp and the Live websocket read "ssl"; httpx reads "verify" (the SDK drops
        # keys a transport does not take, so both are safe).
        async_args.update(ssl=ctx, verify=ctx)
        sync_args["verify"] = ctx
    options = types.HttpOptions(
        base_url=settings.gemini_base_url or None,
        api_version=api_version or settings.gemini_api_version or None,
        timeout=int(timeout_s * 1000) if timeout_s else None,  # milliseconds
        client_args=sync_args or None,
        async_client_args=async_args or None,
    )
    return genai.Client(api_key=settings.gemini_api_key or "unset", http_options=options)
