"""What a scenario with a promised call-back observes: the promise the bridge recorded on the
guest's first call, the call-backs dialled to the guest, and the call-back's stage as the
dashboard shows it on that call (folded from the stream exactly as the notifier does)."""

from __future__ import annotations

from typing import Any

from fixline_proto import subjects
from services.notifier.state import DashboardState
from tests.support.events import stream_events


async def callback_facts(world, run) -> dict[str, Any]:
    first = await world.pool.fetchval("SELECT id FROM calls WHERE direction = 'inbound' AND from_number = $1"
                                      " ORDER BY created_at LIMIT 1", run.guests[0])
    called_back = await world.pool.fetch(
        "SELECT id, ended_at, stream_started_at FROM calls WHERE direction = 'outbound' AND call_type = 'guest'"
        " AND to_number = ANY($1)", run.guests)
    state, promises = DashboardState(), []
    events = await stream_events(world.nc, subjects.event("*", "call.>"), idle_s=0.3) if first else []
    events += await stream_events(world.nc, subjects.event("*", "callback.>"), idle_s=0.3) if first else []
    for seq, event in enumerate(sorted(events, key=lambda e: e.occurred_at), 1):
        if getattr(event, "call_id", None) == first:
            state.apply(event, seq)
            if event.__struct_config__.tag == "callback.promised":
                promises.append(event.reason)
    call = state.calls.get(first) if first else None
    return {"promised": promises, "called_back": len(called_back),
            "called_back_reached": sum(1 for c in called_back if c["stream_started_at"] and c["ended_at"]),
            "callback_on_dashboard": call.callback.stage if call and call.callback else None}
