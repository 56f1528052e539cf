"""Every service: health routes, readiness that follows NATS, graceful stop."""

import asyncio
import contextlib
import importlib

import aiohttp
import pytest

from fixline.devstack import EmbeddedNats
from services.common.runtime import serve
from tests.support.services import running, settings_for

SERVICES = {
    "ingress": "IngressService",
    "bridge": "BridgeService",
    "tools": "ToolsService",
    "notifier": "NotifierService",
    "outreach": "OutreachService",
}


def _service(name: str):
    module = importlib.import_module(f"services.{name}.app")
    return getattr(module, SERVICES[name])()


async def _ready(http: aiohttp.ClientSession, url: str) -> bool:
    async with http.get(f"{url}/readyz") as resp:
        return resp.status == 200


async def _wait_for(http, urls, want: bool, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        states = [await _ready(http, u) for u in urls]
        if all(s == want for s in states):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"readiness did not become {want}: {dict(zip(urls, states, strict=True))}")


async def test_every_service_follows_nats_availability(tmp_path, database_url):
    restartable = EmbeddedNats(tmp_path / "nats").start()
    url = restartable.url
    async with contextlib.AsyncExitStack() as stack:
        services = [
            await stack.enter_async_context(running(_service(name), settings_for(name, nats_url=url,
                                                                    nats_credentials_dir=str(restartable.credentials_dir))))
            for name in SERVICES
        ]
        urls = [s.url for s in services]
        http = await stack.enter_async_context(aiohttp.ClientSession())
        await _wait_for(http, urls, True)
        for svc in services:
            async with http.get(f"{svc.url}/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"{svc.url}/metrics") as resp:
                assert "process_cpu_seconds_total" in await resp.text()
        restartable.stop()
        await _wait_for(http, urls, False)
        for svc in services:  # liveness never depends on NATS
            async with http.get(f"{svc.url}/healthz") as resp:
                assert resp.status == 200
        restartable.start()  # same port, same store
        await _wait_for(http, urls, True, timeout=30)
    restartable.stop()


@pytest.mark.parametrize("name", list(SERVICES))
async def test_stop_drains_and_reports_not_ready(name, nats_url, database_url):
    before = asyncio.all_tasks()
    async with running(_service(name), settings_for(name)) as svc:
        async with aiohttp.ClientSession() as http:
            await _wait_for(http, [svc.url], True)  # e.g. the notifier first catches up on the stream
            svc.stopping.set()
            await asyncio.wait_for(svc.task, 15)
    assert svc.runtime.readiness.draining
    assert svc.runtime.nc.is_closed
    await asyncio.sleep(0)  # done callbacks run
    left = {t.get_name() for t in asyncio.all_tasks() - before - {asyncio.current_task()} if not t.done()}
    assert not left, f"{name} left tasks running after it stopped"
    await asyncio.wait_for(svc.service.drain(svc.runtime), 5)  # stopping twice is harmless


async def test_cancelled_before_draining_still_closes_nats_and_the_heartbeat(nats_url, database_url):
    service = _service("notifier")
    started = asyncio.Event()
    task = asyncio.create_task(serve(service, settings_for("notifier"), started=started))
    await asyncio.wait_for(started.wait(), 30)
    rt = service.runtime
    heartbeat = next(iter(rt.tasks))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 15)
    assert rt.nc.is_closed
    assert heartbeat.cancelled() and len(rt.tasks) == 0
