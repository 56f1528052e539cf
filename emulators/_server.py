"""Shared plumbing: run an aiohttp app on a host/port (optionally TLS) as an async
context manager, exposing the bound port."""
from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiohttp import web


class AppServer:
    """Base class for the emulators: subclasses build ``self.app`` in ``_make_app``."""

    scheme = "http"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self._requested_port = host, port
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._background: set[asyncio.Task] = set()

    def _make_app(self) -> web.Application:
        raise NotImplementedError

    def _ssl_context(self) -> ssl.SSLContext | None:
        return None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("emulator not started")
        return f"{self.scheme}://{self.host}:{self.port}"

    async def start(self) -> "AppServer":
        app = self._make_app()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port,
                           ssl_context=self._ssl_context(), reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def spawn(self, coro: Any) -> asyncio.Task:
        """Run a background task owned by the emulator (cancelled on ``stop``)."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
