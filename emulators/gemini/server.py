"""``GeminiEmulator``: one TLS port serving the Live WebSocket and the REST routes."""
from __future__ import annotations

import asyncio
import ssl
import tempfile
from typing import Any, Callable, Iterable

from aiohttp import web

from .._server import AppServer
from ..tls import TlsBundle
from . import protocol as p
from .live import LIVE_PATH, LiveEndpoint
from .rest import REST_PATH, RestEndpoint, RestScript, Rule, google_error
from .scenario import Scenario
from .session import LiveSession

ScenarioLike = Scenario | dict | str
Selector = Callable[[p.SetupConfig], ScenarioLike | None]


class GeminiEmulator(AppServer):
    """Emulated ``generativelanguage.googleapis.com`` for the real ``google-genai`` SDK.

    Scenario for a new (non-resumed) Live connection, first match wins: the
    ``x-emulator-scenario`` request header (a built-in name), the FIFO of
    ``queue_scenario``, ``selector(setup)``, then ``scenario``.
    """

    scheme = "https"

    def __init__(self, scenario: ScenarioLike = "guest", *, api_key: str = "test-key",
                 host: str = "127.0.0.1", port: int = 0, extra_models: Iterable[str] = (),
                 selector: Selector | None = None, connection_lifetime_s: float | None = None,
                 go_away_time_left_s: float | None = None,
                 abort_audio_during_blocking_call: bool = False, binary_frames: bool = True,
                 tls_dir: str | None = None):
        super().__init__(host, port)
        self.scenario = Scenario.load(scenario)
        self.api_key = api_key
        self.models = set(p.LIVE_MODELS) | set(extra_models)
        self.selector = selector
        self.connection_lifetime_s = connection_lifetime_s
        self.go_away_time_left_s = go_away_time_left_s
        self.abort_audio_during_blocking_call = abort_audio_during_blocking_call
        self.binary_frames = binary_frames
        self.tls = TlsBundle.create(tls_dir or tempfile.mkdtemp(prefix="gemini-emu-"))
        self.sessions: list[LiveSession] = []
        self.requests: list[dict] = []  # live handshakes: path, headers
        self.rejected: list[tuple[int, str]] = []  # closes before setupComplete
        self.errors: list[BaseException] = []  # emulator bugs (should stay empty)
        self.rest_requests: list[dict] = []
        self.rest = RestScript()
        self._queue: list[ScenarioLike] = []
        self._session_added = asyncio.Condition()
        self._live = LiveEndpoint(self)
        self._rest = RestEndpoint(self)

    # ------------------------------------------------------------ TLS / client config

    @property
    def ca_file(self) -> str:
        """PEM of the CA that signed the server certificate (trust this)."""
        return self.tls.ca_file

    def _ssl_context(self) -> ssl.SSLContext:
        return self.tls.server_context()

    def ssl_context(self) -> ssl.SSLContext:
        """Client-side context trusting the emulator's CA."""
        return self.tls.client_context()

    def http_options(self, api_version: str | None = None, **kwargs: Any):
        """``google.genai.types.HttpOptions`` pointing at the emulator and trusting its CA
        on every transport: httpx2 sync (``client_args.verify``), httpx2 async
        (``async_client_args.verify``), aiohttp REST and the Live websocket (``.ssl``)."""
        from google.genai import types

        ctx = self.ssl_context()
        async_args = {"ssl": ctx, "verify": ctx, **kwargs.pop("async_client_args", {})}
        return types.HttpOptions(base_url=self.base_url, api_version=api_version,
                                 client_args={"verify": ctx, **kwargs.pop("client_args", {})},
                                 async_client_args=async_args, **kwargs)

    def client(self, api_version: str | None = None, **kwargs: Any):
        """A ``google.genai.Client`` wired to this emulator."""
        from google import genai

        return genai.Client(api_key=self.api_key, http_options=self.http_options(api_version, **kwargs))

    # ------------------------------------------------------------ scenarios / scripting

    def queue_scenario(self, *scenarios: ScenarioLike) -> None:
        """Scenarios for the next new Live connections, in order."""
        self._queue.extend(scenarios)

    def _pick_scenario(self, header: str | None, cfg: p.SetupConfig) -> ScenarioLike:
        if header:
            return header
        if self._queue:
            return self._queue.pop(0)
        chosen = self.selector(cfg) if self.selector else None
        return chosen if chosen is not None else self.scenario

    def script_generate(self, match: str | None = None, *, json: Any = None, text: str | None = None,
                        times: int | None = None) -> None:
        """Answer ``generateContent`` prompts matching ``match`` (regex) with JSON or text."""
        self.rest.rules.append(Rule(match=match, json=json, text=text, times=times))

    def fail_next(self, status: int, times: int = 1, message: str = "") -> None:
        """The next ``times`` REST calls fail with ``status`` (429, 500, 503, ...)."""
        self.rest.failures.extend([(status, message)] * times)

    # ------------------------------------------------------------ sessions

    def _register(self, session: LiveSession, request: web.Request) -> None:
        self.sessions.append(session)
        self.spawn(self._notify())

    async def _notify(self) -> None:
        async with self._session_added:
            self._session_added.notify_all()

    async def wait_for_session(self, count: int = 1, timeout: float = 10.0) -> LiveSession:
        """Wait until ``count`` Live sessions have been set up; returns the latest."""
        async with self._session_added:
            await asyncio.wait_for(
                self._session_added.wait_for(lambda: len(self.sessions) >= count), timeout)
        return self.sessions[-1]

    # ------------------------------------------------------------ routing

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = request.raw_path
        live = LIVE_PATH.match(raw)
        if live:
            self.requests.append({"path": raw, "headers": dict(request.headers)})
            return await self._live.handle(request, live.group(1))
        rest = REST_PATH.match(raw)
        if rest:
            return await self._rest.handle(request, *rest.groups())
        return google_error(404, f"Requested entity was not found: {request.path}")
