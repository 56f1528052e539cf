"""Stream replicas: configurable, and never lowered by a service's update-on-start (on a real
three-server JetStream cluster)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sysconfig
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from fixline.devstack import free_port
from fixline_proto import subjects
from services.common import bus


def test_an_update_keeps_the_larger_replica_count():
    config = bus.STREAMS[0]
    assert bus.stream_update(config, StreamConfig(name=config.name, num_replicas=3), 1).num_replicas == 3
    assert bus.stream_update(config, StreamConfig(name=config.name, num_replicas=1), 3).num_replicas == 3
    assert bus.stream_update(config, StreamConfig(name=config.name, num_replicas=None), 1).num_replicas == 1


async def test_zero_replicas_is_refused(nc):
    with pytest.raises(ValueError, match="NATS_STREAM_REPLICAS must be at least 1"):
        await bus.ensure_streams(nc, replicas=0)


async def test_single_server_default_is_idempotent(nc, monkeypatch):
    monkeypatch.delenv("NATS_STREAM_REPLICAS", raising=False)
    await bus.ensure_streams(nc)
    await bus.ensure_streams(nc)
    info = await nc.jetstream().stream_info(subjects.EVENTS_STREAM)
    assert info.config.num_replicas == 1


def _nats_binary() -> str:
    return shutil.which("nats-server") or str(Path(sysconfig.get_path("scripts")) / "nats-server")


@contextlib.asynccontextmanager
async def jetstream_cluster(tmp: Path, size: int = 3) -> AsyncIterator[str]:
    ports = [(free_port(), free_port()) for _ in range(size)]
    routes = ", ".join(f"nats://127.0.0.1:{route}" for _, route in ports)
    procs = []
    try:
        for i, (client, route) in enumerate(ports):
            config = tmp / f"n{i}.conf"
            config.write_text(
                f'server_name: n{i}\nlisten: "127.0.0.1:{client}"\n'
                f'jetstream {{ store_dir: "{tmp / f"js{i}"}" }}\n'
                f'cluster {{ name: fixline-test, listen: "127.0.0.1:{route}", routes: [{routes}] }}\n')
            log = open(tmp / f"n{i}.log", "ab")  # noqa: ASYNC230 - test set-up, before any awaiting
            procs.append(subprocess.Popen([_nats_binary(), "-c", str(config)],  # noqa: ASYNC220 - set-up, as above
                                          stdout=subprocess.DEVNULL, stderr=log))
        yield ",".join(f"nats://127.0.0.1:{client}" for client, _ in ports)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


async def _ensure_when_the_cluster_is_up(nc, replicas: int | None) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        try:
            await bus.ensure_streams(nc, replicas)
            return
        except (nats.js.errors.APIError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
            # the cluster has no meta leader / enough peers yet (slow under load)
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_a_service_with_the_default_never_lowers_the_replicas(tmp_path, monkeypatch):
    monkeypatch.delenv("NATS_STREAM_REPLICAS", raising=False)
    async with jetstream_cluster(tmp_path) as servers:
        nc = await nats.connect(servers.split(","))
        try:
            await _ensure_when_the_cluster_is_up(nc, 3)        # the Kubernetes setting
            await _ensure_when_the_cluster_is_up(nc, None)     # a service started with the default (1)
            await _ensure_when_the_cluster_is_up(nc, 1)
            js = nc.jetstream()
            for stream in (subjects.EVENTS_STREAM, subjects.CALLS_STREAM):
                info = await js.stream_info(stream)
                assert info.config.num_replicas == 3, stream
                assert len(info.cluster.replicas or []) == 2, stream  # leader + two followers
        finally:
            await nc.close()
