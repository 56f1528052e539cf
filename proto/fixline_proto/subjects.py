"""Every NATS subject and JetStream stream name, in one place."""

from __future__ import annotations

# Tools: a nats.micro service; one endpoint per tool under this prefix.
TOOLS_SERVICE = "tools"
TOOLS_QUEUE_GROUP = "tools"


def tool(name: str) -> str:
    """``tool("create_incident")`` -> ``tools.create_incident``."""
    return f"{TOOLS_SERVICE}.{name}"


# Tools only the workflows may ask (no call behind them): a group of their own, so the
# bus permissions can tell them from the call tools (``tools.*`` is one token deep).
WORKFLOW_TOOLS_GROUP = f"{TOOLS_SERVICE}.workflow"


def workflow_tool(name: str) -> str:
    """``workflow_tool("schedule_repair")`` -> ``tools.workflow.schedule_repair``."""
    return f"{WORKFLOW_TOOLS_GROUP}.{name}"


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


# Call control, answered by whichever bridge holds the call (core NATS request/reply).
def call_control(call_id: str) -> str:
    return f"call.{call_id}.control"


# Bridge capacity reports (core NATS, periodic) and service heartbeats.
BRIDGE_CAPACITY = "bridge.capacity"
SERVICE_HEARTBEAT = "service.heartbeat"
