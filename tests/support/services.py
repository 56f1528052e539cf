"""Run a service in-process, exactly as ``python -m services.<name>`` would, on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

from services.common.runtime import Runtime, Service, serve
from services.common.settings import Settings


@dataclasses.dataclass
class RunningService:
    service: Service
    runtime: Runtime
    stopping: asyncio.Event
    task: asyncio.Task

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.runtime.port}"


def settings_for(service: str, **overrides: object) -> Settings:
    base = Settings.from_env(service)
    return dataclasses.replace(base, http_host="127.0.0.1", http_port=0, drain_timeout_s=10.0, **overrides)


@contextlib.asynccontextmanager
async def running(service: Service, settings: Settings, timeout: float = 30.0) -> AsyncIterator[RunningService]:
    stopping, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(service, settings, stopping=stopping, started=started))
    waiter = asyncio.create_task(started.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()  # raises the start-up error
    if waiter not in done:
        task.cancel()
        raise TimeoutError(f"{service.name} did not start in {timeout}s")
    try:
        yield RunningService(service, service.runtime, stopping, task)
    finally:
        stopping.set()
        await asyncio.wait_for(task, 30)
