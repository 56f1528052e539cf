"""Read what landed in the JetStream EVENTS stream (tests assert on the real stream)."""

from __future__ import annotations

import msgspec
import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from fixline_proto import Event, codec


async def stream_events(nc: nats.aio.client.Client, subject: str, idle_s: float = 0.3) -> list[Event]:
    """Every decodable event on ``subject`` from the start of the stream, in stream order."""
    sub = await nc.jetstream().subscribe(subject, ordered_consumer=True,
                                         config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
    found: list[Event] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=idle_s)
            except nats.errors.TimeoutError:
                break
            try:
                found.append(codec.EVENT_DECODER.decode(msg.data))
            except msgspec.ValidationError:
                continue
    finally:
        await sub.unsubscribe()
    return found
