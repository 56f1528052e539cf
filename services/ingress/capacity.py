"""The bridges' capacity, as they report it on ``bridge.capacity`` (core NATS, every few seconds).

Only the latest report per bridge counts, and only while it is fresher than the TTL (a
bridge that stopped reporting is presumed gone). Freshness uses the local receive time,
so clock skew between pods does not matter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from fixline_proto import decode, subjects
from fixline_proto.commands import BridgeCapacity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    capacity: BridgeCapacity
    received_at: float  # wall clock (seconds), comparable with call timestamps in the database


@dataclass(frozen=True)
class Snapshot:
    free_slots: int          # sum(max - active) over fresh, non-draining bridges
    live_bridges: int        # fresh, non-draining
    oldest_report_at: float  # the least recent fresh report (0 when there is none)


class BridgeCapacityTable:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._latest: dict[str, Report] = {}

    def update(self, report: BridgeCapacity) -> None:
        self._latest[report.bridge_id] = Report(report, self.clock())

    def snapshot(self) -> Snapshot:
        now = self.clock()
        self._latest = {b: r for b, r in self._latest.items() if now - r.received_at <= self.ttl_s}
        live = [r for r in self._latest.values() if not r.capacity.draining]
        free = sum(max(0, r.capacity.max_calls - r.capacity.active_calls) for r in live)
        oldest = min((r.received_at for r in live), default=0.0)
        return Snapshot(free_slots=free, live_bridges=len(live), oldest_report_at=oldest)

    async def subscribe(self, nc: NATS) -> None:
        await nc.subscribe(subjects.BRIDGE_CAPACITY, cb=self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        try:
            self.update(decode(msg.data, BridgeCapacity))
        except msgspec.ValidationError as exc:
            log.warning("ignoring malformed bridge capacity report", extra={"error": str(exc)})
