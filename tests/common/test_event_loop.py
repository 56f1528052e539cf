"""EVENT_LOOP: every service runs on uvloop by default, on asyncio's loop when asked (or when
uvloop is not installed), and refuses an unknown loop before it starts anything.

The suite's own async tests run on pytest's loop (``TEST_EVENT_LOOP``); these start a real
``python -m services.<name>`` process, which picks its loop the way a deployment's does."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys

import aiohttp
import pytest
import uvloop

from services.common.runtime import event_loop_factory
from services.common.settings import Settings
from tests.scenarios.processes import ROOT, ServiceProcess, environment
from tests.support.services import settings_for


def test_the_default_is_uvloop_and_the_setting_reads_any_case(monkeypatch):
    monkeypatch.delenv("EVENT_LOOP", raising=False)
    assert Settings.from_env("bridge").event_loop == "uvloop"
    assert event_loop_factory("uvloop") is uvloop.new_event_loop
    monkeypatch.setenv("EVENT_LOOP", "AsyncIO")
    assert Settings.from_env("bridge").event_loop == "asyncio"
    assert event_loop_factory("asyncio") is None  # asyncio.Runner's own loop


def test_an_unknown_loop_is_refused_by_name():
    with pytest.raises(ValueError, match=r"EVENT_LOOP must be one of uvloop, asyncio, got 'trio'"):
        event_loop_factory("trio")


def test_without_uvloop_installed_it_says_so_and_runs_on_asyncio(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what `import uvloop` sees where it is not installed
    assert event_loop_factory("uvloop") is None
    assert "uvloop is not installed" in caplog.text


def _listening(proc: ServiceProcess) -> dict:
    lines = [json.loads(line) for line in proc.log_path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("msg") == "listening"][-1]


@pytest.mark.parametrize(("name", "choice"), [("bridge", "uvloop"), ("notifier", "uvloop"), ("bridge", "asyncio")])
async def test_a_service_process_runs_on_the_loop_it_was_given(nc, database_url, name, choice):
    """Started as deployed: it connects to NATS as its role, heartbeats (subscribed and
    started), answers readiness, reports the loop it runs on, and drains on SIGTERM."""
    settings = dataclasses.replace(settings_for(name, event_loop=choice), http_port=0)
    proc = ServiceProcess(settings, nc)
    proc.log_path.unlink(missing_ok=True)
    await proc.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{proc.url}/readyz") as resp:
            assert resp.status == 200, await resp.text()
        assert _listening(proc)["event_loop"] == choice
    finally:
        await proc.stop()
    assert proc.proc is not None and proc.proc.returncode == 0, proc.log_path.read_text()[-2000:]


async def test_a_process_given_an_unknown_loop_exits_before_listening(nc):
    env = environment(settings_for("bridge")) | {"EVENT_LOOP": "trio"}
    child = await asyncio.create_subprocess_exec(sys.executable, "-m", "services.bridge", cwd=ROOT, env=env,
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(child.communicate(), 60)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise AssertionError("the service started on an unknown EVENT_LOOP") from None
    assert child.returncode != 0
    assert b"EVENT_LOOP must be one of uvloop, asyncio, got 'trio'" in out
    assert b'"listening"' not in out
