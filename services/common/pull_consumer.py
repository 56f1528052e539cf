"""A durable JetStream pull consumer on the EVENTS stream, and the loop that feeds it to a handler.

Several services read events this way (ingress's stream-end watcher, the tools service's call
records, outreach's triggers): the consumer is created or updated at start (a durable from an
older release gets this release's filters), and the loop keeps fetching through NATS reconnects
until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from fixline_proto import subjects

log = logging.getLogger(__name__)
FETCH_TIMEOUT_S = 1.0
RETRY_AFTER_S = 1.0


async def subscribe_to_events(js: JetStreamContext, durable: str, filters: list[str], *, ack_wait: float,
                              max_ack_pending: int) -> JetStreamContext.PullSubscription:
    """Create or update the durable (new events only) and bind a pull subscription to it."""
    config = ConsumerConfig(name=durable, durable_name=durable, ack_wait=ack_wait, deliver_policy=DeliverPolicy.NEW,
                            filter_subjects=filters, max_ack_pending=max_ack_pending)
    await js.add_consumer(subjects.EVENTS_STREAM, config=config)
    return await js.pull_subscribe_bind(durable=durable, stream=subjects.EVENTS_STREAM)


async def consume(sub: JetStreamContext.PullSubscription, handle: Callable[[Msg], Awaitable[None]],
                  stopping: asyncio.Event, *, batch: int = 50, name: str = "") -> None:
    """Fetch and hand each message to ``handle`` in stream order until ``stopping`` is set;
    unsubscribes at the end. ``handle`` acks or naks."""
    try:
        while not stopping.is_set():
            try:
                msgs = await sub.fetch(batch, timeout=FETCH_TIMEOUT_S)
            except (NatsTimeoutError, asyncio.TimeoutError):
                continue
            except Exception as exc:  # noqa: BLE001 - NATS reconnecting: keep the consumer alive
                log.warning("fetch failed; retrying", extra={"consumer": name, "error": str(exc)})
                await asyncio.sleep(RETRY_AFTER_S)
                continue
            for msg in msgs:
                await handle(msg)
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
