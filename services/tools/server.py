"""The tools as a ``nats.micro`` service, one queue group so replicas share the load:

- call tools, ``tools.<name>``: used by the bridge for a live call; every request names its
  call and is authorized against that call's row (``calls.authorize``);
- workflow tools, ``tools.workflow.<name>``: used by outreach, no call.

Body in: the tool's request Struct (JSON); body out: a ToolResult union member, a ToolError
on any failure (never a stack trace). A ToolError reply also carries nats.micro's error headers
(``Nats-Service-Error-Code``: the ToolError code, ``Nats-Service-Error``: its message), so
``nats micro``/``nats req`` show it as an error. Each request runs in its own task: nats.py runs an
endpoint's handler one message at a time, so awaiting the work there would serialize every call on
that endpoint; micro's own $SRV.STATS therefore counts dispatches, fixline_tool_* metrics the work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg
import msgspec
from nats.aio.client import Client as NATS
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service

from fixline_proto import encode, subjects
from fixline_proto.tools import CALL_TYPES_OF_TOOL, TOOL_REQUESTS, WORKFLOW_TOOLS, ToolError, ToolRequest, ToolResult
from services.common.logs import log_context

from .calls import CallScope, authorize
from .context import ToolContext
from .errors import ToolFailure
from .incidents import create_incident, update_incident_status
from .metrics import ToolsMetrics
from .outreach_records import record_decision, record_quote
from .records.facts import record_tool_use
from .scheduling import schedule_repair
from .search import search_maintenance
from .vendor_codes import get_vendor_code

log = logging.getLogger("fixline.tools.server")
VERSION = "1.0.0"
MAX_REQUEST_BYTES = 64 * 1024
MAX_ERROR_HEADER_CHARS = 200

Handler = Callable[[ToolContext, ToolRequest, CallScope | None], Awaitable[ToolResult]]


async def _search(ctx: ToolContext, req: ToolRequest, call: CallScope | None) -> ToolResult:
    return await search_maintenance(ctx, req)  # the property was checked against the call


HANDLERS: dict[str, Handler] = {  # call tools: the handler gets the authorized call
    "search_maintenance": _search,
    "get_vendor_code": get_vendor_code,
    "create_incident": create_incident,
    "update_incident_status": update_incident_status,
    "schedule_repair": schedule_repair,
    "record_quote": record_quote,
    "record_decision": record_decision,
}
WORKFLOW_HANDLERS: dict[str, Handler] = {name: HANDLERS[name] for name in WORKFLOW_TOOLS}  # call = None
assert set(HANDLERS) == set(TOOL_REQUESTS) == set(CALL_TYPES_OF_TOOL), "every tool contract needs a handler"


async def _run_logged(handler: Handler, ctx: ToolContext, req: ToolRequest, call: CallScope | None,
                      tool: str) -> ToolResult:
    """Run a call tool and note it on the call's record (name and result, never arguments)."""
    outcome = "internal"
    try:
        result = await handler(ctx, req, call)
        outcome = "ok"
        return result
    except ToolFailure as failure:
        outcome = failure.code
        raise
    finally:
        if call is not None:
            await _note_use(ctx.pool, call.call_id, tool, outcome)


async def _note_use(pool: asyncpg.Pool, call_id: str, tool: str, outcome: str) -> None:
    try:
        async with pool.acquire() as conn:
            await record_tool_use(conn, call_id, tool, outcome)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError):
        log.warning("noting a tool use failed", extra={"tool": tool})  # the tool's own answer stands


def decode_request(tool: str, data: bytes) -> ToolRequest:
    if len(data) > MAX_REQUEST_BYTES:
        raise ToolFailure("invalid_argument", f"request too large ({len(data)} bytes; at most {MAX_REQUEST_BYTES})")
    try:
        return msgspec.json.decode(data, type=TOOL_REQUESTS[tool])
    except msgspec.ValidationError as exc:
        raise ToolFailure("invalid_argument", f"invalid arguments for {tool}: {exc}") from None
    except msgspec.DecodeError:
        raise ToolFailure("invalid_argument", f"the body of a {tool} request must be a JSON object") from None


def _header_text(message: str) -> str:
    """A header value: one line (a CR/LF would end the header block), bounded."""
    return " ".join(message.split())[:MAX_ERROR_HEADER_CHARS]


class ToolServer:
    """Runs the handlers; each request in its own task (bounded), so one slow call never
    holds up the others on its endpoint."""

    def __init__(self, ctx: ToolContext, metrics: ToolsMetrics, max_in_flight: int = 64) -> None:
        self.ctx, self.metrics = ctx, metrics
        self.slots = asyncio.Semaphore(max_in_flight)
        self.in_flight: set[asyncio.Task] = set()
        self.service: Service | None = None

    async def start(self, nc: NATS) -> None:
        self.service = await add_service(nc, name=subjects.TOOLS_SERVICE, version=VERSION,
                                         description="Fixline agent tools", queue_group=subjects.TOOLS_QUEUE_GROUP)
        calls = self.service.add_group(name=subjects.TOOLS_SERVICE, queue_group=subjects.TOOLS_QUEUE_GROUP)
        for tool in HANDLERS:
            await calls.add_endpoint(name=tool, handler=self._dispatcher(tool, workflow=False))
        workflow = self.service.add_group(name=subjects.TOOLS_WORKFLOW, queue_group=subjects.TOOLS_QUEUE_GROUP)
        for tool in WORKFLOW_HANDLERS:
            await workflow.add_endpoint(name=f"workflow_{tool}", subject=tool,
                                        handler=self._dispatcher(tool, workflow=True))
        await nc.flush()

    async def stop(self) -> None:
        """Stop taking requests, then let the ones in flight finish."""
        if self.service is not None:
            with contextlib.suppress(Exception):
                await self.service.stop()
        if self.in_flight:
            await asyncio.gather(*self.in_flight, return_exceptions=True)

    def _dispatcher(self, tool: str, workflow: bool) -> Callable[[Request], Awaitable[None]]:
        async def dispatch(request: Request) -> None:
            await self.slots.acquire()
            task = asyncio.create_task(self._serve(tool, request, workflow))
            self.in_flight.add(task)
            task.add_done_callback(self._finished)
        return dispatch

    def _finished(self, task: asyncio.Task) -> None:
        self.in_flight.discard(task)
        self.slots.release()

    async def _serve(self, tool: str, request: Request, workflow: bool) -> None:
        started = time.perf_counter()
        result = await self.call(tool, request.data, workflow=workflow)
        label = f"workflow.{tool}" if workflow else tool
        self.metrics.requests.labels(label).inc()
        self.metrics.latency.labels(label).observe(time.perf_counter() - started)
        if isinstance(result, ToolError):
            self.metrics.errors.labels(label, result.code).inc()
        with contextlib.suppress(Exception):  # the requester may have gone away
            if isinstance(result, ToolError):
                await request.respond_error(result.code, _header_text(result.message), data=encode(result))
            else:
                await request.respond(encode(result))

    async def call(self, tool: str, data: bytes, *, workflow: bool = False) -> ToolResult:
        """Decode, authorize, run, and turn every failure into a ToolError."""
        try:
            req = decode_request(tool, data)
            with log_context(call_id=getattr(req, "call_id", None), incident_id=getattr(req, "incident_id", None)):
                if workflow:
                    return await WORKFLOW_HANDLERS[tool](self.ctx, req, None)
                call = await authorize(self.ctx.pool, tool, req)
                result = await _run_logged(HANDLERS[tool], self.ctx, req, call, tool)
                return result
        except ToolFailure as failure:
            if failure.code == "forbidden":  # who tried what, for whoever watches for abuse
                log.warning("tool refused", extra={"tool": tool, "workflow": workflow, "reason": failure.message})
            return failure.to_result()
        except (OSError, asyncpg.InterfaceError, asyncpg.exceptions.ConnectionDoesNotExistError,
                asyncpg.exceptions.CannotConnectNowError, asyncio.TimeoutError):
            log.warning("tool dependency unavailable", extra={"tool": tool}, exc_info=True)
            return ToolError(code="unavailable", message="the system is briefly unavailable; try again",
                             retryable=True)
        except Exception:  # noqa: BLE001 - logged with the stack; the caller gets a clean refusal
            log.exception("tool failed", extra={"tool": tool})
            return ToolError(code="internal", message=f"{tool} failed unexpectedly", retryable=True)
