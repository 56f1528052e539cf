"""A guest calls the demo property that records its calls (p3, seeded with recording on): the
caller hears the notice before the agent, ingress starts a dual-channel recording through the
REST API once the media stream runs, Twilio's signed recording callback completes the row, and
the recording holds the agent's voice."""
from ..parts import END, caller
from ..story import GuestCall, Scenario
from ..world import agent


async def _recording(world, run) -> dict:
    twilio_call = run.twilio_calls[0]
    row = await world.pool.fetchrow(
        "SELECT r.sid, r.status, r.channels FROM call_recordings r JOIN calls c ON c.id = r.call_id"
        " WHERE c.twilio_call_sid = $1", twilio_call.sid)
    kinds = [e.kind for e in twilio_call.timeline]
    said = [str(e.detail.get("text", "")) for e in twilio_call.timeline if e.kind == "say"]
    held = world.twilio.recordings.recordings.get(row["sid"]) if row else None
    return {"recording": None if row is None else (row["status"], row["channels"]),
            "notice_before_agent": bool(said) and "recorded" in said[0]
            and "recording_started" in kinds and kinds.index("say") < kinds.index("recording_started"),
            "recording_has_agent_audio": held is not None
            and len(twilio_call.played_ulaw) > held.audio_offset}


SCENARIO = Scenario(
    name="recorded call",
    story="Wi-fi down at the cabin that records calls: notice, recording started on the live call, completed.",
    calls=[GuestCall(caller("The wifi is not working.", "Yes, it works now, thanks!"), property_id="p3")],
    agents={"guest": [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"},
        {"listen": "The wifi is not working."},
        {"tool_call": {"name": "search_maintenance", "args": {"query": "wifi not working"}}, "wait": True},
        {"say": "Please unplug the router for ten seconds and plug it back in. Is it back?"},
        {"listen": "Yes, it works now, thanks!"},
        {"say": "Great. Goodbye."}, END)]},
    extra=_recording,
    expect={"incidents": 0, "calls_open": 0, "live_calls": 0,
            "reports": ["guest/inbound:resolved_by_troubleshooting"],
            "recording": ("completed", 2), "notice_before_agent": True, "recording_has_agent_audio": True},
)
