"""The health panel: the latest ServiceHeartbeat of every service instance (core NATS)."""

from __future__ import annotations

import time

import msgspec

from fixline_proto.commands import ServiceHeartbeat

STALE_AFTER_S = 15.0       # three missed 5 s beats
FORGET_AFTER_S = 300.0     # an instance silent this long is gone (scaled in, restarted)


class HealthBoard:
    def __init__(self) -> None:
        self._beats: dict[tuple[str, str], ServiceHeartbeat] = {}

    def record(self, beat: ServiceHeartbeat) -> None:
        self._beats[(beat.service, beat.instance)] = beat

    def current(self, now: float | None = None) -> list[ServiceHeartbeat]:
        now = now or time.time()
        for key, beat in list(self._beats.items()):
            if now - beat.ts > FORGET_AFTER_S:
                del self._beats[key]
        return sorted(self._beats.values(), key=lambda b: (b.service, b.instance))

    def summary(self, now: float | None = None) -> list[dict[str, object]]:
        now = now or time.time()
        return [
            {**msgspec.structs.asdict(beat), "age_s": round(now - beat.ts, 1),
             "stale": now - beat.ts > STALE_AFTER_S}
            for beat in self.current(now)
        ]
