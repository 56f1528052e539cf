"""Snapshots: everything one viewer may see, as of a stream sequence, JSON-encoded.

Encoded once per (scope, sequence) and shared: a thousand browsers reconnecting together
after a deploy cost one encoding per distinct scope.
"""

from __future__ import annotations

import time

import msgspec

from .auth import Viewer
from .directory import Directory
from .health import HealthBoard
from .state import DashboardState
from .views import Snapshot

HEALTH_FRESHNESS_S = 2.0
_ENCODER = msgspec.json.Encoder()


class SnapshotBuilder:
    def __init__(self, state: DashboardState, directory: Directory, health: HealthBoard) -> None:
        self.state, self.directory, self.health = state, directory, health
        self._cache: dict[str, tuple[int, int, bytes]] = {}

    def build(self, viewer: Viewer, seq: int) -> Snapshot:
        visible = viewer.may_see
        incidents = self.state.incidents_of(visible)
        calls = self.state.calls_of(visible)
        property_ids = {p for p in self.directory.properties if visible(p)}
        property_ids |= {i.property_id for i in incidents} | {c.property_id for c in calls}
        return Snapshot(
            seq=seq,
            properties=[self.directory.property(p) for p in sorted(property_ids)],
            vendors=list(self.directory.vendors.values()),
            incidents=incidents,
            calls=calls,
            services=self.health.current(),
        )

    def encode(self, viewer: Viewer, seq: int) -> bytes:
        bucket = int(time.monotonic() / HEALTH_FRESHNESS_S)
        cached = self._cache.get(viewer.scope_key)
        if cached and cached[0] == seq and cached[1] == bucket:
            return cached[2]
        data = _ENCODER.encode(self.build(viewer, seq))
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[viewer.scope_key] = (seq, bucket, data)
        return data
