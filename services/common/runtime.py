"""One process lifecycle for every service: settings, logs, HTTP health, NATS, Postgres,
start, wait for SIGTERM, drain, stop.

A service is a small object with ``name``, ``needs_database``, ``setup(rt)`` (register HTTP
routes and readiness checks; runs before the HTTP server starts), ``start(rt)`` (subscribe,
serve; NATS and the pool are ready) and ``drain(rt)`` (stop taking work, finish in-flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg
from aiohttp import web
from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from fixline_proto import encode, subjects
from fixline_proto.commands import HealthState, ServiceHeartbeat

from . import bus, db
from .bus_permissions import ROLES
from .http import Readiness, add_health_routes
from .logs import configure_logging
from .settings import Settings
from .tasks import TaskSet

log = logging.getLogger(__name__)
HEARTBEAT_INTERVAL_S = 5.0


class Service(Protocol):
    name: str
    needs_database: bool
    runtime: "Runtime"  # set by serve() before setup()

    def setup(self, rt: "Runtime") -> None: ...
    async def start(self, rt: "Runtime") -> None: ...
    async def drain(self, rt: "Runtime") -> None: ...


@dataclass
class Runtime:
    settings: Settings
    web: web.Application
    readiness: Readiness = field(default_factory=Readiness)
    registry: CollectorRegistry = field(default_factory=lambda: _registry_with_process_metrics())
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: TaskSet = field(default_factory=lambda: TaskSet("runtime"))  # cancelled after drain
    nc: NATS | None = None
    pool: asyncpg.Pool | None = None
    port: int = 0


def _registry_with_process_metrics() -> CollectorRegistry:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


async def serve(service: Service, settings: Settings | None = None, *,
                stopping: asyncio.Event | None = None, started: asyncio.Event | None = None) -> None:
    """Run ``service`` until ``stopping`` is set, then drain and stop."""
    settings = settings or Settings.from_env(service.name)
    rt = Runtime(settings=settings, web=web.Application(client_max_size=1 << 20),
                 stopping=stopping or asyncio.Event())
    add_health_routes(rt.web, rt.readiness, rt.registry)
    service.runtime = rt
    service.setup(rt)
    # lingering_time=0: once answered, a request whose body was not read (refused, timed out)
    # closes its connection at once instead of reading a slow sender's rest for 10 s.
    runner = web.AppRunner(rt.web, access_log=None, shutdown_timeout=5.0, lingering_time=0.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    rt.port = runner.addresses[0][1]
    log.info("listening", extra={"url": f"http://{settings.http_host}:{rt.port}", "settings": settings.public_view(),
                                 "event_loop": running_loop_kind()})
    try:
        nc = await _connect(service, rt)
        await service.start(rt)
        await nc.flush()  # subscriptions are registered on the server before we say "started"
        rt.tasks.spawn(_heartbeat(service, rt), name="heartbeat")
        if started:
            started.set()
        await rt.stopping.wait()
        await _drain(service, rt)
    finally:  # also when cancelled before draining: nothing is left open
        await rt.tasks.close()
        await _close_nats(rt)
        if rt.pool:
            await rt.pool.close()
        await runner.cleanup()
        log.info("stopped")


async def _connect(service: Service, rt: Runtime) -> NATS:
    identity = bus.BusIdentity(service.name, rt.settings.nats_credentials_dir, rt.settings.nats_ca_file)
    rt.nc = nc = await bus.connect(rt.settings.nats_url, f"{service.name}:{rt.instance}", identity)
    rt.readiness.add("nats", lambda: rt.nc is not None and rt.nc.is_connected)
    role = ROLES.get(service.name)
    await bus.ensure_streams(rt.nc, manage=role is None or role.manages_streams,
                             replicas=rt.settings.nats_stream_replicas)
    if service.needs_database:
        rt.pool = await _create_pool(rt.settings)
        rt.readiness.add("database", lambda: db.ping(rt.pool))
    return nc


async def _create_pool(settings: Settings) -> asyncpg.Pool:
    delay = 0.1
    while True:
        try:
            return await db.create_pool(settings.database_url, settings.db_statement_cache_size)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("database not reachable yet, retrying", extra={"error": str(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def _drain(service: Service, rt: Runtime) -> None:
    log.info("draining", extra={"deadline_s": rt.settings.drain_timeout_s})
    rt.readiness.draining = True
    try:
        await asyncio.wait_for(service.drain(rt), rt.settings.drain_timeout_s)
    except TimeoutError:
        log.warning("drain deadline reached; stopping with work in flight")


async def _close_nats(rt: Runtime) -> None:
    if rt.nc and not rt.nc.is_closed:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(rt.nc.drain(), 10)


async def _heartbeat(service: Service, rt: Runtime) -> None:
    while True:
        checks = await rt.readiness.report()
        state: HealthState = "draining" if rt.readiness.draining else ("ready" if all(checks.values()) else "not_ready")
        beat = ServiceHeartbeat(service=service.name, instance=rt.instance, state=state, ts=time.time())
        if rt.nc and rt.nc.is_connected:
            with contextlib.suppress(Exception):
                await rt.nc.publish(subjects.SERVICE_HEARTBEAT, encode(beat))
        await asyncio.sleep(HEARTBEAT_INTERVAL_S)


EVENT_LOOPS = ("uvloop", "asyncio")


def event_loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The loop ``main`` runs a service on (``EVENT_LOOP``); None = asyncio's own.

    uvloop (libuv, with its TLS in C) is the default: the bridge's per-frame cost is mostly
    the loop and the TLS layer (docs/benchmarks.md). Without uvloop installed (a platform it
    does not support) the service says so and runs on asyncio's loop."""
    if choice not in EVENT_LOOPS:
        raise ValueError(f"EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, got {choice!r}")
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        log.warning("uvloop is not installed; running on asyncio's event loop", extra={"event_loop": choice})
        return None
    return uvloop.new_event_loop


def running_loop_kind() -> str:
    """``uvloop`` or ``asyncio``: what this coroutine actually runs on."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"


def main(service: Service) -> None:
    """Entry point used by each ``services/<name>/__main__.py``."""
    settings = Settings.from_env(service.name)
    configure_logging(service.name, settings.log_level, settings.secret_values())
    loop_factory = event_loop_factory(settings.event_loop)

    async def _run() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await serve(service, settings, stopping=stopping)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_run())
