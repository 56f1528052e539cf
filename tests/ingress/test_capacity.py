"""The bridge capacity table: latest report per bridge, freshness, draining bridges."""

from fixline_proto.commands import BridgeCapacity
from services.ingress.capacity import BridgeCapacityTable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_free_slots_sum_fresh_non_draining_bridges_and_keep_only_the_latest_report():
    clock = Clock()
    table = BridgeCapacityTable(ttl_s=10, clock=clock)
    assert table.snapshot().live_bridges == 0
    table.update(BridgeCapacity(bridge_id="a", active_calls=1, max_calls=4))
    table.update(BridgeCapacity(bridge_id="a", active_calls=3, max_calls=4))   # replaces the first
    clock.now += 5
    table.update(BridgeCapacity(bridge_id="b", active_calls=9, max_calls=8))   # over-full counts as 0, not -1
    table.update(BridgeCapacity(bridge_id="c", active_calls=0, max_calls=50, draining=True))
    snap = table.snapshot()
    assert (snap.free_slots, snap.live_bridges, snap.oldest_report_at) == (1, 2, 1000.0)
    clock.now += 6  # a's report is now 11 s old
    snap = table.snapshot()
    assert (snap.free_slots, snap.live_bridges, snap.oldest_report_at) == (0, 1, 1005.0)
