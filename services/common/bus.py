"""NATS connection with unlimited reconnects, and the JetStream streams every service expects."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError

from fixline_proto import subjects

from .bus_permissions import inbox_prefix
from .settings import Settings

log = logging.getLogger(__name__)

STREAMS = (
    # The outbox relay dedupes on Nats-Msg-Id = outbox id; one hour covers any retry burst.
    StreamConfig(name=subjects.EVENTS_STREAM, subjects=[subjects.EVENTS_ALL], storage=StorageType.FILE,
                 duplicate_window=3600.0, max_age=7 * 24 * 3600.0),
    StreamConfig(name=subjects.CALLS_STREAM, subjects=[subjects.CALLS_ALL], storage=StorageType.FILE,
                 duplicate_window=float(subjects.CALLS_DUPLICATE_WINDOW_S), max_age=7 * 24 * 3600.0),
)


@dataclass(frozen=True)
class BusIdentity:
    """Who a process is on the bus: a role of ``bus_permissions.ROLES`` and where its NKey is."""

    role: str
    credentials_dir: str = ""   # holds <role>.nk; "" = anonymous (refused by a secured server)
    ca_file: str = ""           # CA for a tls:// server; "" = the system's

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"inbox_prefix": inbox_prefix(self.role)}
        if self.credentials_dir:
            options["nkeys_seed"] = str(Path(self.credentials_dir) / f"{self.role}.nk")
        if self.ca_file:
            options["tls"] = ssl.create_default_context(cafile=self.ca_file)
        return options

# Bridges claim each call's one media stream here (services/bridge/stream_claims.py); a day
# outlives any media token.
MEDIA_STREAMS = KeyValueConfig(bucket=subjects.MEDIA_STREAMS_BUCKET, history=1, ttl=24 * 3600.0,
                               storage=StorageType.FILE)


async def connect(url: str, name: str, identity: BusIdentity, connect_timeout: float = 2.0) -> NATS:
    """Connect, retrying the first connection forever; after that nats-py reconnects forever."""
    delay = 0.1
    while True:
        try:
            return await nats.connect(
                url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                connect_timeout=connect_timeout, ping_interval=10, max_outstanding_pings=3,
                error_cb=_log_error, disconnected_cb=_log_disconnected, reconnected_cb=_log_reconnected,
                **identity.options(),
            )
        except (OSError, nats.errors.NoServersError, asyncio.TimeoutError) as exc:
            log.warning("nats not reachable yet, retrying", extra={"error": str(exc), "retry_in_s": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def ensure_streams(nc: NATS, replicas: int | None = None, *, manage: bool = True) -> None:
    """Create or update the streams with ``replicas`` copies (default: NATS_STREAM_REPLICAS).
    An update never lowers the replicas a stream already has: an operator's (or another
    service's) R3 survives a service started with the single-node default. A role that may
    not manage streams (``manage=False``) waits until they exist."""
    wanted = replicas if replicas is not None else Settings.from_env("bus").nats_stream_replicas
    if wanted < 1:
        raise ValueError(f"NATS_STREAM_REPLICAS must be at least 1, got {wanted}")
    js = nc.jetstream()
    if not manage:
        await _wait_for_streams(js)
        return
    for config in STREAMS:
        try:
            current = (await js.stream_info(_name(config))).config
        except NotFoundError:
            current = None
        if current is None:
            try:
                await js.add_stream(replace(config, num_replicas=wanted))
                continue
            except BadRequestError:  # created concurrently by another service
                current = (await js.stream_info(_name(config))).config
        await js.update_stream(stream_update(config, current, wanted))
    try:
        await js.key_value(MEDIA_STREAMS.bucket)
    except BucketNotFoundError:
        await js.create_key_value(replace(MEDIA_STREAMS, replicas=wanted))


def _name(config: StreamConfig) -> str:
    assert config.name, "every stream in STREAMS is named"
    return config.name


def stream_update(config: StreamConfig, current: StreamConfig, wanted: int) -> StreamConfig:
    """``config`` with the larger of the current and the wanted replicas."""
    return replace(config, num_replicas=max(current.num_replicas or 1, wanted))


async def _wait_for_streams(js: JetStreamContext) -> None:
    delay = 0.1
    for name in (*(_name(config) for config in STREAMS), subjects.MEDIA_STREAMS_KV_STREAM):
        while True:
            try:
                await js.stream_info(name)
                break
            except (NotFoundError, nats.errors.TimeoutError):
                log.info("waiting for a service that manages streams to create one", extra={"stream": name})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


async def _log_error(exc: Exception) -> None:
    log.warning("nats error: %s", exc, extra={"error": str(exc)})


async def _log_disconnected() -> None:
    log.warning("nats disconnected")


async def _log_reconnected() -> None:
    log.info("nats reconnected")
