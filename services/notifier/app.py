"""Wiring of the notifier: the JetStream hub, the SSE endpoint, the dashboard, health relay."""

from __future__ import annotations

import logging

import msgspec
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from fixline_proto import subjects
from fixline_proto.codec import ENCODER
from fixline_proto.commands import ServiceHeartbeat
from services.common.runtime import Runtime

from . import sse
from .alerts import AlertsEndpoint
from .auth import TokenTable
from .client_queue import Frame
from .directory import Directory
from .events_endpoint import EventsEndpoint, StreamOptions
from .health import HealthBoard
from .history_api import HistoryApi
from .recording_proxy import RecordingProxy
from .hub import Hub
from .metrics import NotifierMetrics
from .pages import Pages
from .snapshots import SnapshotBuilder
from .web_security import add_security_headers, same_origin_writes

log = logging.getLogger(__name__)
_HEARTBEAT_DECODER = msgspec.json.Decoder(ServiceHeartbeat)


class NotifierService:
    name = "notifier"
    runtime: Runtime  # set by serve()
    hub: Hub  # these four from setup()
    endpoint: EventsEndpoint
    alerts: AlertsEndpoint
    metrics: NotifierMetrics
    history: HistoryApi
    recordings: RecordingProxy
    needs_database = True   # read-only: property names/time zones, vendor names, history

    def __init__(self) -> None:
        self.health = HealthBoard()
        self.directory = Directory()
        self._health_sub: Subscription | None = None

    def setup(self, rt: Runtime) -> None:
        settings = rt.settings
        tokens = TokenTable(settings.dashboard_token, settings.dashboard_tokens)
        if not tokens:
            log.warning("no DASHBOARD_TOKEN / DASHBOARD_TOKENS set: every dashboard request gets 401")
        self.metrics = metrics = NotifierMetrics(rt.registry)
        rt.web.on_response_prepare.append(add_security_headers)
        rt.web.middlewares.append(same_origin_writes(metrics.http_refused))
        self.hub = Hub(settings.notifier_stream, settings.notifier_subject_prefix, metrics, settings.sse_heartbeat_s)
        snapshots = SnapshotBuilder(self.hub.state, self.directory, self.health)
        options = StreamOptions(
            stream=settings.notifier_stream, subject_prefix=settings.notifier_subject_prefix,
            retry_ms=settings.sse_retry_ms,
            queue_size=settings.sse_client_queue, send_timeout_s=settings.sse_send_timeout_s,
            max_clients=settings.sse_max_clients)
        self.endpoint = EventsEndpoint(self.hub, tokens, snapshots, options, metrics)
        rt.web.router.add_get("/events", self.endpoint.handle)
        Pages(tokens, snapshots, self.health, settings.dashboard_session_ttl_s).add_routes(rt.web)
        self.alerts = AlertsEndpoint(self.hub, tokens, settings.notifier_subject_prefix)
        self.alerts.add_routes(rt.web)
        self.history = HistoryApi(tokens)
        self.history.add_routes(rt.web)
        self.recordings = RecordingProxy(tokens, settings.twilio_account_sid, settings.twilio_auth_token,
                                         settings.twilio_api_base_url)
        self.recordings.add_routes(rt.web)
        rt.readiness.add("events_caught_up", self.hub.caught_up.is_set)

    async def start(self, rt: Runtime) -> None:
        assert rt.nc is not None  # serve() connects before start()
        self.endpoint.nc = rt.nc
        self.alerts.nc = rt.nc
        self.history.pool = rt.pool
        await self.recordings.start(rt.pool)
        await self.directory.load(rt.pool)
        self.directory.start_refreshing(rt.pool)
        self._health_sub = await rt.nc.subscribe(subjects.SERVICE_HEARTBEAT, cb=self._on_heartbeat)
        await self.hub.start(rt.nc)

    async def drain(self, rt: Runtime) -> None:
        sub, self._health_sub = self._health_sub, None  # a second drain has nothing to unsubscribe
        if sub is not None:
            await sub.unsubscribe()
        await self.hub.stop()
        await self.directory.stop()
        await self.recordings.close()

    async def _on_heartbeat(self, msg: Msg) -> None:
        try:
            beat = _HEARTBEAT_DECODER.decode(msg.data)
        except msgspec.DecodeError:
            self.metrics.heartbeats_rejected.inc()
            return
        self.health.record(beat)
        data = sse.frame(ENCODER.encode(beat), event="service.heartbeat")
        self.hub.broadcast(Frame(data, coalesce_key=("health", beat.service, beat.instance)))
