"""Admission control: admit a call only if a bridge can take its media stream.

free = sum(max - active) over fresh, non-draining bridges (their latest reports), minus
the calls already admitted that those reports cannot include yet (admitted but not
streaming, or streaming since before the least recent report). Those reservations live in
PostgreSQL, and the decision runs under a transaction-scoped advisory lock, so a burst of
webhooks, even across ingress replicas, cannot overshoot. A reservation lapses after
``ADMISSION_RESERVATION_TTL_S`` (a call whose stream never started holds no slot forever).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from . import calls_repo
from .capacity import BridgeCapacityTable


@dataclass(frozen=True)
class Decision:
    admitted: bool
    reason: str     # admitted | full | no_bridge
    free: int = 0   # slots left before this call


class Admission:
    def __init__(self, table: BridgeCapacityTable, reservation_ttl_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.reservation_ttl_s = reservation_ttl_s
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def decide(self, conn: asyncpg.Connection) -> Decision:
        """Call inside the transaction that records the decision (it takes the admission lock)."""
        await calls_repo.lock_admissions(conn)
        snapshot = self.table.snapshot()
        if snapshot.live_bridges == 0:
            return Decision(False, "no_bridge")
        now = self.clock()
        reserved = await calls_repo.count_reserved(
            conn, datetime.fromtimestamp(now - self.reservation_ttl_s, UTC),
            datetime.fromtimestamp(snapshot.oldest_report_at, UTC))
        free = snapshot.free_slots - reserved
        return Decision(True, "admitted", free) if free > 0 else Decision(False, "full", max(free, 0))
