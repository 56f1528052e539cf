"""Who may publish and subscribe what on NATS: the one table.

The embedded nats-server config (``fixline.nats_auth``), the Kubernetes NATS values
(``deploy/k8s``) and the permission tests are all generated from ``ROLES``. Each service
connects as the role of its name with its own NKey; anonymous connections are refused.

Every role gets a private inbox prefix (``_INBOX_<role>``) so it can read only replies
addressed to itself; answering a request it received is allowed by ``responds``
(NATS ``allow_responses``), which lets it publish once to that request's reply subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fixline_proto import events as ev
from fixline_proto import subjects
from fixline_proto.base import tag_of

JS_API = "$JS.API"


@dataclass(frozen=True)
class Role:
    name: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    responds: bool = False

    @property
    def manages_streams(self) -> bool:
        return f"{JS_API}.STREAM.CREATE.{subjects.EVENTS_STREAM}" in self.publish


def inbox_prefix(role: str) -> str:
    return f"_INBOX_{role}"


def subject_regex(patterns: tuple[str, ...]) -> str:
    """A POSIX regex matching the subjects NATS would match for ``patterns`` (for SQL filters)."""
    def one(pattern: str) -> str:
        tokens = ("[^.]+" if t == "*" else ".+" if t == ">" else re.escape(t) for t in pattern.split("."))
        return r"\.".join(tokens)
    return "^(" + "|".join(one(p) for p in patterns) + ")$"


_STREAMS = (subjects.EVENTS_STREAM, subjects.CALLS_STREAM, subjects.MEDIA_STREAMS_KV_STREAM)


def _streams_info() -> tuple[str, ...]:
    return (f"{JS_API}.INFO", *(f"{JS_API}.STREAM.INFO.{s}" for s in _STREAMS))


def _streams_manage() -> tuple[str, ...]:
    """Create/update the streams and the claims bucket (``bus.ensure_streams``); other roles only look."""
    names = _STREAMS
    return (*_streams_info(), *(f"{JS_API}.STREAM.{verb}.{s}" for verb in ("CREATE", "UPDATE") for s in names))


def _consume(stream: str) -> tuple[str, ...]:
    """Create, read and delete consumers of one stream, fetch from them, ack and flow-control."""
    consumer = f"{JS_API}.CONSUMER"
    return (f"{consumer}.CREATE.{stream}", f"{consumer}.CREATE.{stream}.>", f"{consumer}.DURABLE.CREATE.{stream}.*",
            f"{consumer}.INFO.{stream}.*", f"{consumer}.DELETE.{stream}.*", f"{consumer}.MSG.NEXT.{stream}.*",
            f"$JS.ACK.{stream}.>", f"$JS.FC.{stream}.>")


def _claim_media_streams() -> tuple[str, ...]:
    """Create-if-absent a call's key in the claims bucket, and read a key back."""
    kv = subjects.MEDIA_STREAMS_KV_STREAM
    return (subjects.MEDIA_STREAMS_KEYS, f"{JS_API}.STREAM.MSG.GET.{kv}", f"{JS_API}.DIRECT.GET.{kv}.>")


def _events(*types: type[ev.Event]) -> tuple[str, ...]:
    """Publish these event types for any property (``events.*.<tag>``), and nothing else."""
    return tuple(subjects.event("*", tag_of(t)) for t in types)


def _own(role: str, *rest: str) -> tuple[str, ...]:
    return (f"{inbox_prefix(role)}.>", *rest)


_EVERY_SERVICE_PUBLISHES = (subjects.SERVICE_HEARTBEAT,)
_CALL_CONTROL_ALL = subjects.call_control("*")

ROLES: dict[str, Role] = {role.name: role for role in (
    # Answers Twilio; admits calls from bridge capacity; dials from the CALLS stream; call events via its
    # outbox; ends calls whose media stream is over (a durable consumer on EVENTS: stream_end).
    Role("ingress",
         publish=(*_EVERY_SERVICE_PUBLISHES, *_streams_manage(), *_consume(subjects.CALLS_STREAM),
                  *_consume(subjects.EVENTS_STREAM),
                  *_events(ev.CallStarted, ev.CallStatusChanged, ev.CallEnded, ev.CallStreamChanged,
                           ev.CallHandoff)),
         subscribe=_own("ingress", subjects.BRIDGE_CAPACITY)),
    # Carries calls: asks the call tools, reports capacity, publishes transcripts and call-back promises;
    # answers its calls' control.
    Role("bridge",
         publish=(*_EVERY_SERVICE_PUBLISHES, *_streams_info(), subjects.tool("*"), subjects.BRIDGE_CAPACITY,
                  *_claim_media_streams(), *_events(ev.TranscriptTurn, ev.CallOutcome, ev.CallbackPromised,
                                                      ev.CallHandoff)),
         subscribe=_own("bridge", _CALL_CONTROL_ALL), responds=True),
    # Serves the tools (nats.micro, incl. its $SRV discovery); its outbox publishes the domain events;
    # its call records read the call events (a durable consumer on EVENTS) and publish the reports.
    Role("tools",
         publish=(*_EVERY_SERVICE_PUBLISHES, *_streams_manage(), *_consume(subjects.EVENTS_STREAM),
                  *_events(ev.IncidentCreated, ev.IncidentUpdated, ev.QuoteReceived, ev.DecisionMade,
                           ev.RepairScheduled, ev.VendorCodeReleased, ev.VendorCodeRefused, ev.CallReport)),
         subscribe=_own("tools", f"{subjects.TOOLS_SERVICE}.>", "$SRV.>"), responds=True),
    # Reads events for the dashboard and the services' heartbeats; publishes only a manager's
    # "alert handled" (an authorized dashboard POST).
    Role("notifier",
         publish=(*_EVERY_SERVICE_PUBLISHES, *_streams_info(), *_consume(subjects.EVENTS_STREAM),
                  *_events(ev.IncidentAlertHandled)),
         subscribe=_own("notifier", subjects.SERVICE_HEARTBEAT)),
    # Workflows: read events, ask the workflow tools, request dials, publish progress.
    Role("outreach",
         publish=(*_EVERY_SERVICE_PUBLISHES, *_streams_manage(), *_consume(subjects.EVENTS_STREAM),
                  subjects.workflow_tool("*"), subjects.CALLS_DIAL,
                  *_events(ev.OutreachProgress, ev.IncidentAlertRaised, ev.CallbackProgress)),
         subscribe=_own("outreach")),
    # A person's tools (and the tests acting as one): control a live call, watch heartbeats.
    Role("operator",
         publish=(*_streams_info(), _CALL_CONTROL_ALL),
         subscribe=_own("operator", subjects.SERVICE_HEARTBEAT)),
)}
