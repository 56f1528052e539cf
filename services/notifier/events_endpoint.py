"""``GET /events``: the SSE stream (snapshot or replay, then live events and heartbeats)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import msgspec
from aiohttp import web
from nats.aio.client import Client as NATS
from nats.js.client import JetStreamContext

from . import sse
from .auth import TokenTable, Viewer, authenticate
from .clients import SseClient
from .hub import Hub, event_frame
from .metrics import NotifierMetrics
from .replay import ResumePlan, plan_resume, replay
from .snapshots import SnapshotBuilder

log = logging.getLogger(__name__)
CATCH_UP_WAIT_S = 10.0
WRITE_BATCH = 64
ROOMY_BUFFER = 16 * 1024
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}


@dataclass
class StreamOptions:
    stream: str
    subject_prefix: str
    retry_ms: int
    queue_size: int
    send_timeout_s: float
    max_clients: int


class EventsEndpoint:
    def __init__(self, hub: Hub, tokens: TokenTable, snapshots: SnapshotBuilder,
                 options: StreamOptions, metrics: NotifierMetrics) -> None:
        self.hub, self.tokens, self.snapshots = hub, tokens, snapshots
        self.options, self.metrics = options, metrics
        self.nc: NATS | None = None

    def _js(self) -> JetStreamContext:
        if self.nc is None:
            raise RuntimeError("the events endpoint serves only once the service has started")
        return self.nc.jetstream()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        viewer = authenticate(request, self.tokens)
        if viewer is None:
            return self._refuse("unauthorized", 401, "a dashboard session or bearer token is required")
        try:
            resume_after = sse.parse_resume_point(request.headers.get("Last-Event-ID"), dict(request.query))
        except sse.BadResumePoint as exc:
            return self._refuse("bad_resume_point", 400, str(exc))
        if len(self.hub.clients) >= self.options.max_clients:
            return self._refuse("capacity", 429, "too many dashboard connections", {"Retry-After": "5"})
        try:
            await asyncio.wait_for(self.hub.caught_up.wait(), CATCH_UP_WAIT_S)
            plan = None if resume_after is None else await plan_resume(
                self._js(), self.options.stream, resume_after)
        except (TimeoutError, OSError, asyncio.TimeoutError) as exc:
            log.warning("events not available", extra={"error": str(exc)})
            return self._refuse("unavailable", 503, "the event stream is not available yet", {"Retry-After": "2"})
        return await self._stream(request, viewer, resume_after, plan)

    def _refuse(self, reason: str, status: int, message: str,
                headers: dict[str, str] | None = None) -> web.Response:
        self.metrics.rejected.labels(reason).inc()
        return web.json_response({"error": message}, status=status, headers=headers)

    async def _stream(self, request: web.Request, viewer: Viewer, resume_after: int | None,
                      plan: ResumePlan | None) -> web.StreamResponse:
        response = web.StreamResponse(headers=SSE_HEADERS)
        await response.prepare(request)
        client = SseClient(viewer, self.options.queue_size, request.transport, self.metrics)
        try:
            await response.write(sse.retry(self.options.retry_ms))
            await self._open(response, client, resume_after, plan)
            await self._pump(response, client)
        except (ConnectionError, TimeoutError, asyncio.TimeoutError) as exc:
            client.drop("send_timeout" if isinstance(exc, TimeoutError | asyncio.TimeoutError) else "gone")
        finally:
            self.hub.unregister(client)
        return response

    async def _open(self, response: web.StreamResponse, client: SseClient, resume_after: int | None,
                    plan: ResumePlan | None) -> None:
        """Register with the hub and send the snapshot (fresh or reset) or the replay."""
        self.hub.register(client)          # from here on, live frames queue up for this client
        through = self.hub.seq             # ... every one of them after `through`
        if plan is not None and plan.replay and resume_after is not None:  # a plan is made only for a resume
            client.after = max(through, resume_after)
            await self._replay(response, client, resume_after, through)
            return
        client.after = through
        snapshot = self.snapshots.encode(client.viewer, through)
        if plan is not None:
            self.metrics.resets.labels(plan.reset_reason).inc()
            reset = {"reason": plan.reset_reason, "requested": resume_after, "first_seq": plan.first_seq,
                     "last_seq": plan.last_seq}
            await self._write(response, client, sse.frame(msgspec.json.encode(reset), event="reset"))
        await self._write(response, client, sse.frame(snapshot, event="snapshot", seq=through))

    async def _replay(self, response: web.StreamResponse, client: SseClient, after: int, through: int) -> None:
        stream = replay(self._js(), self.options.stream, self.options.subject_prefix,
                        client.viewer, after, through)
        async for seq, event in stream:
            await self._write(response, client, event_frame(event, seq).data)
            self.metrics.replayed.inc()

    async def _pump(self, response: web.StreamResponse, client: SseClient) -> None:
        deadline = client.viewer.expires_at
        while not client.closed.is_set():
            if deadline is not None and time.time() >= deadline:
                client.drop("session_expired")   # the browser reconnects and meets the login
                return
            frame = await client.queue.get()
            if client.closed.is_set() or frame is None:
                return
            batch = [frame.data]            # whatever queued meanwhile goes out in one write
            while len(batch) < WRITE_BATCH and (more := client.queue.get_nowait()) is not None:
                batch.append(more.data)
            await self._write(response, client, b"".join(batch))

    async def _write(self, response: web.StreamResponse, client: SseClient, data: bytes) -> None:
        """Bounded by the send timeout; a write into a roomy socket buffer needs no timer."""
        transport = client.transport
        if transport is not None and transport.get_write_buffer_size() < ROOMY_BUFFER:
            await response.write(data)
            return
        async with asyncio.timeout(self.options.send_timeout_s):
            await response.write(data)

