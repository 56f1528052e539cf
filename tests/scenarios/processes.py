"""A service of the story world in its own OS process, so a scenario can SIGKILL it.

``python -m services.<name>`` with exactly the settings the world gave the in-process service
(as environment variables, the way a deployment configures it): the same NATS credentials
directory (the process connects as its role), database, consumers, ports and, for outreach,
DBOS executor id, so a restart recovers what the killed process left PENDING.

    proc = await in_own_process(world, "outreach")   # drains the in-process one first
    await proc.kill()                                # SIGKILL: no drain, no goodbye
    await proc.start()                               # same settings, same port
    await back_in_process(world, "outreach")         # the world as it was (for the next case)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from fixline.devstack import free_port
from fixline_proto import decode, subjects
from fixline_proto.commands import ServiceHeartbeat
from services.bridge.app import BridgeService
from services.common.settings import Settings
from services.ingress.app import IngressService
from services.outreach.app import OutreachService
from services.tools.app import ToolsService
from tests.support.services import running

ROOT = Path(__file__).resolve().parents[2]
IN_PROCESS = {"ingress": IngressService, "tools": ToolsService, "outreach": OutreachService, "bridge": BridgeService}
START_TIMEOUT_S = 60.0
# Ingress admits calls only once it has heard the bridges' capacity (reported every 2 s).
HEARD_BEFORE_READY = {"ingress": subjects.BRIDGE_CAPACITY}


def environment(settings: Settings) -> dict[str, str]:
    """The variables from which ``Settings.from_env`` reads back ``settings``."""
    env = dict(os.environ)
    for field in dataclasses.fields(Settings):
        if field.name in ("service", "http_port"):
            continue
        value = getattr(settings, field.name)
        env[field.name.upper()] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    env[f"{settings.service.upper()}_PORT"] = str(settings.http_port)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ServiceProcess:
    """One service as a child process; ``start`` returns once it heartbeats (started, subscribed)."""

    def __init__(self, settings: Settings, nc) -> None:
        port = settings.http_port or free_port()  # fixed across restarts (ingress: the webhook URL)
        self.settings = dataclasses.replace(settings, http_port=port)
        self.nc = nc  # the harness connection, to hear the heartbeat
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"fixline-scenario-{settings.service}-{os.getpid()}.log"
        self.kills = 0

    @property
    def name(self) -> str:
        return self.settings.service

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    async def start(self) -> None:
        ready = asyncio.get_running_loop().create_future()

        async def heard(msg) -> None:
            beat = decode(msg.data, ServiceHeartbeat)
            if self.proc and beat.instance.endswith(f"-{self.proc.pid}") and not ready.done():
                ready.set_result(beat)

        sub = await self.nc.subscribe(subjects.SERVICE_HEARTBEAT, cb=heard)
        try:
            with self.log_path.open("ab") as log:
                self.proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", f"services.{self.name}", cwd=ROOT, env=environment(self.settings),
                    stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
            exited = asyncio.ensure_future(self.proc.wait())
            done, _ = await asyncio.wait({ready, exited}, timeout=START_TIMEOUT_S,
                                         return_when=asyncio.FIRST_COMPLETED)
            exited.cancel()
            if ready not in done:
                raise RuntimeError(f"{self.name} did not start in its own process (log: {self.log_path})")
        finally:
            await sub.unsubscribe()
        if self.name in HEARD_BEFORE_READY:  # it is subscribed (it heartbeats after start): it hears the next one
            await _next_message(self.nc, HEARD_BEFORE_READY[self.name])

    async def kill(self) -> None:
        """SIGKILL: the process gets no chance to drain, ack, checkpoint or say goodbye."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.kills += 1

    async def stop(self) -> None:
        """SIGTERM: the graceful drain of a deployment."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), self.settings.drain_timeout_s + 10)
        except TimeoutError:
            await self.kill()


async def _next_message(nc, subject: str, timeout_s: float = 10.0) -> None:
    heard = asyncio.Event()

    async def cb(_msg) -> None:
        heard.set()

    sub = await nc.subscribe(subject, cb=cb)
    try:
        await asyncio.wait_for(heard.wait(), timeout_s)
    finally:
        await sub.unsubscribe()


async def in_own_process(world, name: str) -> ServiceProcess:
    """Replace the world's in-process ``name`` by the same service in a child process."""
    current = world.services[name]
    if isinstance(current, ServiceProcess):
        return current
    settings = current.runtime.settings
    current.stopping.set()
    await asyncio.wait_for(current.task, 30)
    if name in ("ingress", "bridge"):  # a fixed port the emulators know; keep it
        settings = dataclasses.replace(settings, http_port=current.runtime.port)
    proc = ServiceProcess(settings, world.nc)
    await proc.start()
    world.services[name] = proc
    return proc


async def back_in_process(world, name: str) -> None:
    """Stop the child process (gracefully) and run ``name`` in-process again, same settings."""
    proc = world.services[name]
    if not isinstance(proc, ServiceProcess):
        return
    await proc.stop()
    settings = proc.settings if name in ("ingress", "bridge") else dataclasses.replace(proc.settings, http_port=0)
    context = running(IN_PROCESS[name](), settings)
    world.services[name] = await context.__aenter__()
    world.restarted.append(context)
    if name in HEARD_BEFORE_READY:  # as in start(): the next case's call must not meet an overflow
        await _next_message(world.nc, HEARD_BEFORE_READY[name])


async def wait_for(condition, timeout_s: float, every_s: float = 0.05) -> bool:
    """Poll ``condition()`` (async, truthy) until it holds or the timeout; whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if await condition():
                return True
        await asyncio.sleep(every_s)
    return False
