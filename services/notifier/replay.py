"""Resuming a client from a stream sequence.

* ``requested + 1`` still in the stream -> replay ``(requested, hub seq]`` straight from
  JetStream (an ephemeral ordered consumer filtered to the client's properties), then the
  live fan-out takes over at ``hub seq + 1``: no gap, no duplicate.
* ``requested + 1`` older than the stream's first message (aged out), or beyond its last
  (another stream, e.g. recreated) -> ``reset`` + snapshot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from fixline_proto.base import Event

from .auth import Viewer
from .event_gate import RejectedEvent, admit

REPLAY_MSG_TIMEOUT_S = 5.0
_SUBJECT_UNSAFE = set(".*> \t")


@dataclass(frozen=True)
class ResumePlan:
    replay: bool
    reset_reason: str | None = None
    first_seq: int = 0
    last_seq: int = 0


async def plan_resume(js: JetStreamContext, stream: str, requested: int) -> ResumePlan:
    state = (await js.stream_info(stream)).state
    first, last = state.first_seq, state.last_seq
    if requested > last:
        return ResumePlan(replay=False, reset_reason="unknown_sequence", first_seq=first, last_seq=last)
    if requested + 1 < first:
        return ResumePlan(replay=False, reset_reason="aged_out", first_seq=first, last_seq=last)
    return ResumePlan(replay=True, first_seq=first, last_seq=last)


def replay_filters(subject_prefix: str, viewer: Viewer) -> list[str]:
    """Server-side filters for the replay consumer (client-side checks still apply)."""
    if viewer.properties is None or any(set(p) & _SUBJECT_UNSAFE for p in viewer.properties):
        return [f"{subject_prefix}.>"]
    return sorted(f"{subject_prefix}.{p}.>" for p in viewer.properties)


async def replay(js: JetStreamContext, stream: str, subject_prefix: str, viewer: Viewer,
                 after: int, through: int) -> AsyncIterator[tuple[int, Event]]:
    """Yield ``(seq, event)`` for the viewer's state events with after < seq <= through.

    The same contract check as the live hub (which counts the rejects: counting here too
    would count a message once per replaying client)."""
    if through <= after:
        return
    filters = replay_filters(subject_prefix, viewer)
    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1,
                            filter_subjects=filters if len(filters) > 1 else None, inactive_threshold=30.0)
    sub = await js.subscribe(filters[0], stream=stream, ordered_consumer=True, config=config)
    try:
        info = await sub.consumer_info()
        if (info.num_pending or 0) + ((info.delivered.consumer_seq if info.delivered else None) or 0) == 0:
            return
        while True:
            msg = await sub.next_msg(timeout=REPLAY_MSG_TIMEOUT_S)
            seq = msg.metadata.sequence.stream
            if seq > through:
                return
            event = _admitted(msg.subject, msg.data, subject_prefix)
            if event is not None and viewer.may_see(event.property_id) and getattr(event, "final", True):
                yield seq, event
            if seq == through or msg.metadata.num_pending == 0:
                return
    finally:
        await sub.unsubscribe()


def _admitted(subject: str, data: bytes, subject_prefix: str) -> Event | None:
    try:
        return admit(subject, data, subject_prefix)
    except RejectedEvent:
        return None
