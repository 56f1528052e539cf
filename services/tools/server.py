"""The tools as a ``nats.micro`` service, one queue group so replicas share the load:

- call tools, ``tools.<name>``: used by the bridge for a live call; every request names its
  call and is authorized against that call's row (``calls.authorize``);
- workflow tools, ``tools.workflow.<name>``: used by outreach, no call.

Body in: the tool's request Struct (JSON); body out: a ToolResult union member, a ToolError
on any failure (never a stack trace). A ToolError reply also carries nats.micro's error headers
(``Nats-Service-Error-Code``: the ToolError code, ``Nats-Service-Error``: its message), so
``nats micro``/``nats req`` show it as an error. Each request runs in its own task: nats.py runs an
endpoint's handler one message at a time, so awaiting the work there would serialize every call on
that endpoint (bench/tools_bench.py measures it). $SRV.STATS still report the work, its time and its
errors, not the hand-off: see micro_stats.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import msgspec
from nats.aio.client import Client as NATS
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service

from fixline_proto import encode, subjects
from fixline_proto.tools import (
    CALL_TYPES_OF_TOOL, TOOL_REQUESTS, WORKFLOW_TOOLS, CreateIncident, GetVendorCode, RecordDecision, RecordQuote,
    ScheduleRepair, SearchMaintenance, ToolError, ToolRequest, ToolResult, UpdateIncidentStatus)
from services.common.logs import log_context
from services.common.tasks import TaskSet

from .calls import CallScope, authorize
from .context import ToolContext
from .errors import ToolFailure
from .incidents import create_incident, update_incident_status
from .metrics import ToolsMetrics
from .micro_stats import WorkStats
from .outreach_records import record_decision, record_quote
from .records.facts import record_tool_use
from .scheduling import schedule_repair
from .search import search_maintenance
from .vendor_codes import get_vendor_code

log = logging.getLogger(__name__)
VERSION = "1.0.0"
MAX_REQUEST_BYTES = 64 * 1024
MAX_ERROR_HEADER_CHARS = 200

Request_ = TypeVar("Request_", bound=ToolRequest)
Handler = Callable[[ToolContext, ToolRequest, CallScope | None], Awaitable[ToolResult]]


def call_tool(request_type: type[Request_],
              run: Callable[[ToolContext, Request_, CallScope], Awaitable[ToolResult]]) -> Handler:
    """``run`` as a call tool: it gets the request type it was written for and the authorized call."""
    async def handle(ctx: ToolContext, req: ToolRequest, call: CallScope | None) -> ToolResult:
        if not isinstance(req, request_type) or call is None:  # a wiring mistake, never the caller's
            raise TypeError(f"{request_type.__name__} handler given {type(req).__name__}, call {call!r}")
        return await run(ctx, req, call)
    return handle


def workflow_tool(request_type: type[Request_],
                  run: Callable[[ToolContext, Request_, CallScope | None], Awaitable[ToolResult]]) -> Handler:
    """``run`` as a workflow tool too: outreach calls it with no call (``None``)."""
    async def handle(ctx: ToolContext, req: ToolRequest, call: CallScope | None) -> ToolResult:
        if not isinstance(req, request_type):
            raise TypeError(f"{request_type.__name__} handler given {type(req).__name__}")
        return await run(ctx, req, call)
    return handle


async def _search(ctx: ToolContext, req: SearchMaintenance, call: CallScope) -> ToolResult:
    return await search_maintenance(ctx, req)  # the property was checked against the call


WORKFLOW_HANDLERS: dict[str, Handler] = {  # also for outreach, with call = None
    "update_incident_status": workflow_tool(UpdateIncidentStatus, update_incident_status),
    "schedule_repair": workflow_tool(ScheduleRepair, schedule_repair),
}
HANDLERS: dict[str, Handler] = {  # call tools: the handler gets the authorized call
    "search_maintenance": call_tool(SearchMaintenance, _search),
    "get_vendor_code": call_tool(GetVendorCode, get_vendor_code),
    "create_incident": call_tool(CreateIncident, create_incident),
    "record_quote": call_tool(RecordQuote, record_quote),
    "record_decision": call_tool(RecordDecision, record_decision),
    **WORKFLOW_HANDLERS,
}
assert set(HANDLERS) == set(TOOL_REQUESTS) == set(CALL_TYPES_OF_TOOL), "every tool contract needs a handler"
assert set(WORKFLOW_HANDLERS) == set(WORKFLOW_TOOLS), "every workflow tool needs a handler that takes no call"


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
        self.in_flight = TaskSet("tool-requests")
        self.work = WorkStats()
        self.service: Service | None = None

    async def start(self, nc: NATS) -> None:
        self.service = await add_service(nc, name=subjects.TOOLS_SERVICE, version=VERSION,
                                         description="Fixline agent tools", queue_group=subjects.TOOLS_QUEUE_GROUP,
                                         stats_handler=self.work.report)
        calls = self.service.add_group(name=subjects.TOOLS_SERVICE, queue_group=subjects.TOOLS_QUEUE_GROUP)
        for tool in HANDLERS:
            await calls.add_endpoint(name=tool, handler=self._dispatcher(tool, workflow=False))
        workflow = self.service.add_group(name=subjects.TOOLS_WORKFLOW, queue_group=subjects.TOOLS_QUEUE_GROUP)
        for tool in WORKFLOW_HANDLERS:
            await workflow.add_endpoint(name=f"workflow_{tool}", subject=tool,
                                        handler=self._dispatcher(tool, workflow=True))
        await nc.flush()

    async def stop(self) -> None:
        """Stop taking requests, then let the ones in flight finish. Safe to call twice."""
        if self.service is not None:
            with contextlib.suppress(Exception):
                await self.service.stop()
        await self.in_flight.wait()

    def _dispatcher(self, tool: str, workflow: bool) -> Callable[[Request], Awaitable[None]]:
        async def dispatch(request: Request) -> None:
            await self.slots.acquire()
            task = self.in_flight.spawn(self._serve(tool, request, workflow), name=f"tool:{tool}")
            task.add_done_callback(lambda _: self.slots.release())
        return dispatch

    async def _serve(self, tool: str, request: Request, workflow: bool) -> None:
        started = time.perf_counter_ns()
        result = await self.call(tool, request.data, workflow=workflow)
        self._count(tool, workflow, time.perf_counter_ns() - started, result)
        with contextlib.suppress(Exception):  # the requester may have gone away
            if isinstance(result, ToolError):
                await request.respond_error(result.code, _header_text(result.message), data=encode(result))
            else:
                await request.respond(encode(result))

    def _count(self, tool: str, workflow: bool, elapsed_ns: int, result: ToolResult) -> None:
        """Before the reply goes out: whoever got it and then asks $SRV.STATS sees it counted."""
        label = f"workflow.{tool}" if workflow else tool
        self.metrics.requests.labels(label).inc()
        self.metrics.latency.labels(label).observe(elapsed_ns / 1e9)
        error = None
        if isinstance(result, ToolError):
            self.metrics.errors.labels(label, result.code).inc()
            error = _header_text(f"{result.code}: {result.message}")
        self.work.record(f"workflow_{tool}" if workflow else tool, elapsed_ns, error)

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
