"""``POST /api/alerts/handled``: a manager marks an incident's alert handled.

The alert lives in the dashboard state (folded from ``incident.alert.raised`` events, so it
survives reconnects and restarts while the stream holds it); handling it is an event too,
``incident.alert.handled``, published here and folded like any other. Only a viewer who may
see the incident's property may handle its alert: anything else is refused and nothing is
published. Cross-site POSTs never get here (``web_security.same_origin_writes``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import msgspec
from aiohttp import web
from nats.aio.client import Client as NATS

from fixline_proto import encode
from fixline_proto.events import IncidentAlertHandled

from .auth import TokenTable, authenticate
from .hub import Hub

log = logging.getLogger(__name__)
MAX_BODY = 4096
APPLY_WAIT_S = 2.0
NO_STORE = {"Cache-Control": "no-store"}
AlertId = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9:_.-]+$")]


class HandleAlert(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: AlertId
    alert_id: AlertId
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


_DECODER = msgspec.json.Decoder(HandleAlert)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=NO_STORE)


class AlertsEndpoint:
    def __init__(self, hub: Hub, tokens: TokenTable, subject_prefix: str) -> None:
        self.hub, self.tokens, self.subject_prefix = hub, tokens, subject_prefix
        self.nc: NATS | None = None

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/alerts/handled", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        viewer = authenticate(request, self.tokens)
        if viewer is None:
            return _error(401, "a dashboard session or bearer token is required")
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return _error(413, f"the request body is larger than {MAX_BODY} bytes")
        try:
            req = _DECODER.decode(body)
        except msgspec.DecodeError as exc:
            return _error(400, f"expected JSON {{incident_id, alert_id, note?}}: {exc}")
        incident = self.hub.state.incidents.get(req.incident_id)
        alert = incident.alert(req.alert_id) if incident is not None else None
        if incident is None or alert is None or not viewer.may_see(incident.property_id):
            return _error(404, "no such alert on an incident you can see")  # out of scope looks the same
        if alert.handled:
            return web.json_response({"handled": True, "already": True, "by": alert.handled_by}, headers=NO_STORE)
        seq = await self._publish(incident.property_id, req, viewer.label)
        await self._applied(seq)
        log.info("alert handled", extra={"incident_id": req.incident_id, "alert_id": req.alert_id,
                                         "viewer": viewer.label})
        return web.json_response({"handled": True, "already": False, "seq": seq}, headers=NO_STORE)

    async def _publish(self, property_id: str, req: HandleAlert, by: str) -> int:
        if self.nc is None:
            raise web.HTTPServiceUnavailable(text='{"error": "not started"}', content_type="application/json")
        msg_id = f"{req.alert_id}:handled"  # a double click is one event
        event = IncidentAlertHandled(id=msg_id, property_id=property_id, incident_id=req.incident_id,
                                     alert_id=req.alert_id, by=by, note=req.note)
        subject = f"{self.subject_prefix}.{property_id}.{event.__struct_config__.tag}"
        ack = await self.nc.jetstream().publish(subject, encode(event), headers={"Nats-Msg-Id": msg_id})
        return int(ack.seq)

    async def _applied(self, seq: int) -> None:
        """Answer once this replica's state shows it, so the next snapshot does too."""
        for _ in range(int(APPLY_WAIT_S / 0.05)):
            if self.hub.seq >= seq:
                return
            await asyncio.sleep(0.05)
