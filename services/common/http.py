"""The HTTP side every service shares: /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

ReadinessCheck = Callable[[], bool | Awaitable[bool]]


class Readiness:
    """Ready when not draining and every named check passes."""

    def __init__(self) -> None:
        self.checks: dict[str, ReadinessCheck] = {}
        self.draining = False

    def add(self, name: str, check: ReadinessCheck) -> None:
        self.checks[name] = check

    async def report(self) -> dict[str, bool]:
        results = {"not_draining": not self.draining}
        for name, check in self.checks.items():
            try:
                value = check()
                if inspect.isawaitable(value):
                    value = await asyncio.wait_for(value, 2.0)
                results[name] = bool(value)
            except Exception:  # noqa: BLE001 - a failing check means not ready, never a 500
                results[name] = False
        return results


def add_health_routes(app: web.Application, readiness: Readiness, registry: CollectorRegistry) -> None:
    async def healthz(_: web.Request) -> web.Response:
        # Liveness: the event loop answers. Never depends on NATS, Postgres or Gemini.
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        checks = await readiness.report()
        ready = all(checks.values())
        return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
