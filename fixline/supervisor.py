"""Start and supervise the five services as separate processes (used by ``make run``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from services.common.settings import DEFAULT_PORTS

from .console import Console

log = logging.getLogger("fixline.supervisor")
SERVICES = ("ingress", "bridge", "tools", "notifier", "outreach")
MAX_BACKOFF_S = 10.0


@dataclass
class Supervised:
    """One service process, restarted with backoff when it dies unexpectedly."""

    name: str
    env: dict[str, str]
    console: Console = field(default_factory=lambda: Console(pretty=False))
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(self.env.get(f"{self.name.upper()}_PORT", DEFAULT_PORTS[self.name]))

    async def run(self) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            started = time.monotonic()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", f"services.{self.name}", env=self.env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
            assert self.process.stdout is not None  # stdout=PIPE
            await pump(self.process.stdout, self.name, self.console)
            code = await self.process.wait()
            if self.stopping.is_set():  # stop() ended it: no restart
                return
            self.restarts += 1
            backoff = 0.5 if time.monotonic() - started > 30 else min(backoff * 2, MAX_BACKOFF_S)
            print(f"[supervisor] {self.name} exited with {code}; restart #{self.restarts} in {backoff:.1f}s",
                  file=sys.stderr, flush=True)
            await asyncio.sleep(backoff)

    async def stop(self, timeout: float) -> None:
        self.stopping.set()
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.task:
            await self.task


async def pump(stream: asyncio.StreamReader, service: str, console: Console) -> None:
    """Copy a service's output to ours, line by line, as the console wants it (until EOF)."""
    while line := await stream.readline():
        text = console.render(service, line.decode(errors="replace"))
        if text is not None:
            print(text, flush=True)


async def wait_all_ready(procs: list[Supervised], timeout: float = 120.0) -> float:
    """Poll every ``/readyz`` until all answer 200; return the seconds it took."""
    started = time.monotonic()
    pending = {p.name: p for p in procs}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as http:
        while pending and time.monotonic() - started < timeout:
            for name, proc in list(pending.items()):
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"http://127.0.0.1:{proc.port}/readyz") as resp:
                        if resp.status == 200:
                            del pending[name]
            await asyncio.sleep(0.1)
    if pending:
        raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
    return time.monotonic() - started


def ports_in_use(procs: list[Supervised]) -> list[str]:
    """Services whose port something else already holds (another ``make run``?)."""
    busy = []
    for proc in procs:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", proc.port)) == 0:
                busy.append(f"{proc.name} ({proc.port})")
    return busy


async def supervise(env: dict[str, str], stop: asyncio.Event, drain_timeout: float = 30.0,
                    on_ready: Callable[[], None] | None = None, console: Console | None = None) -> None:
    procs = [Supervised(name, env, console or Console(pretty=False)) for name in SERVICES]
    if busy := ports_in_use(procs):
        raise SystemExit(f"ports already in use: {', '.join(busy)} — is another `make run` running? "
                         "(or set <SERVICE>_PORT)")
    for proc in procs:
        proc.task = asyncio.create_task(proc.run())
    try:
        waited = await wait_all_ready(procs)
        print(f"[supervisor] all {len(procs)} services ready in {waited:.2f}s", flush=True)
        for proc in procs:
            print(f"  {proc.name:<9} http://127.0.0.1:{proc.port}  (/healthz /readyz /metrics)", flush=True)
        if on_ready:
            on_ready()
        await stop.wait()
    finally:
        print("[supervisor] stopping services...", flush=True)
        await asyncio.gather(*(p.stop(drain_timeout) for p in procs))


def service_env(base: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    env.update(extra)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def install_stop_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    # SIGHUP too: a closed terminal must still stop the embedded servers (they run in sessions
    # of their own, so nothing else would).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)


def os_env() -> dict[str, str]:
    return dict(os.environ)
