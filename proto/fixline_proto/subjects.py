"""Every NATS subject and JetStream stream name, in one place."""

from __future__ import annotations

# Tools: a nats.micro service; one endpoint per tool under this prefix.
TOOLS_SERVICE = "tools"
TOOLS_QUEUE_GROUP = "tools"


TOOLS_WORKFLOW = f"{TOOLS_SERVICE}.workflow"


def tool(name: str) -> str:
    """A call tool, used by the bridge for a live call: ``tools.create_incident``."""
    return f"{TOOLS_SERVICE}.{name}"


def workflow_tool(name: str) -> str:
    """A workflow tool, used by outreach without a call: ``tools.workflow.schedule_repair``.
    One token deeper than the call tools, so ``tools.*`` and ``tools.workflow.>`` never overlap."""
    return f"{TOOLS_WORKFLOW}.{name}"


# Domain events (JetStream stream EVENTS). The property comes first after the prefix so
# the notifier can subscribe per property: ``events.<property_id>.<event.type>``.
EVENTS_STREAM = "EVENTS"
EVENTS_PREFIX = "events"
EVENTS_ALL = f"{EVENTS_PREFIX}.>"


def event(property_id: str, event_type: str) -> str:
    return f"{EVENTS_PREFIX}.{property_id}.{event_type}"


def events_of_property(property_id: str) -> str:
    return f"{EVENTS_PREFIX}.{property_id}.>"


# Outbound dialing (JetStream stream CALLS, long duplicate window for idempotent dials).
CALLS_STREAM = "CALLS"
CALLS_DIAL = "calls.dial"
CALLS_ALL = "calls.>"
CALLS_DUPLICATE_WINDOW_S = 24 * 3600


# One live media stream per call: bridges claim call ids in this JetStream key-value bucket.
MEDIA_STREAMS_BUCKET = "MEDIA_STREAMS"
MEDIA_STREAMS_KV_STREAM = f"KV_{MEDIA_STREAMS_BUCKET}"
MEDIA_STREAMS_KEYS = f"$KV.{MEDIA_STREAMS_BUCKET}.>"


# Call control, answered by whichever bridge holds the call (core NATS request/reply).
def call_control(call_id: str) -> str:
    return f"call.{call_id}.control"


# Bridge capacity reports (core NATS, periodic) and service heartbeats.
BRIDGE_CAPACITY = "bridge.capacity"
SERVICE_HEARTBEAT = "service.heartbeat"
