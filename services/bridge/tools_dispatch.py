"""Gemini ``toolCall`` -> one NATS request per function call -> ``FunctionResponse``.

Every call id gets exactly one answer carrying the function's name (unknown tools,
invalid arguments, timeouts and tool errors included, as an ``error`` the model can
speak about) unless Gemini cancelled it; cancelled calls have their task cancelled and
are never answered. Arguments are validated against the proto Struct before sending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import msgspec
import nats.errors
from google.genai import types
from nats.aio.client import Client as NATS

from fixline_proto import codec, subjects
from fixline_proto.tools import TOOL_REQUESTS, IncidentRef, ToolError
from services.common.tasks import TaskSet

from .call_context import CallContext, CallContextOwner
from .metrics import BridgeMetrics
from .tool_schema import ALWAYS_FILLED, BRIDGE_TOOLS, default_fields, filled_fields, tools_for

log = logging.getLogger(__name__)

Respond = Callable[[types.FunctionResponse], Awaitable[None]]
BridgeHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
Unreachable = Callable[[str], bool]  # no tools service at all -> True if a call-back was promised
CALLBACK_PROMISED = ("The system has scheduled a call-back for this caller. Tell them we cannot finish this "
                     "right now and the team will call them back shortly, apologise, say goodbye, then call end_call.")


def error_response(code: str, message: str, retryable: bool = False) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "retryable": retryable}}


def result_response(result: msgspec.Struct) -> dict[str, Any]:
    if isinstance(result, ToolError):
        return error_response(result.code, result.message, result.retryable)
    return {"output": msgspec.to_builtins(result)}


def _same_call_key(name: str, args: dict[str, Any]) -> str:
    return name + "\x00" + msgspec.json.encode(args, order="sorted").decode()


def build_request(name: str, args: dict[str, Any] | None, ctx: CallContext) -> msgspec.Struct:
    """Model arguments + the bridge's own ids -> the proto request (raises ValidationError).
    Ids the model must never choose are dropped even when it sends them anyway."""
    given = {k: v for k, v in (args or {}).items() if v not in (None, "") and k not in ALWAYS_FILLED}
    merged = {**default_fields(ctx), **given, **filled_fields(ctx), "tool": name}
    fields = set(TOOL_REQUESTS[name].__struct_fields__)
    return msgspec.convert({k: v for k, v in merged.items() if k in fields or k == "tool"},
                           TOOL_REQUESTS[name], strict=False)


class ToolsDispatcher:
    def __init__(self, nc: NATS, call: CallContextOwner, metrics: BridgeMetrics, respond: Respond, *,
                 timeout_s: float = 8.0, non_blocking: bool = True, scheduling: str = "WHEN_IDLE",
                 bridge_handlers: dict[str, BridgeHandler] | None = None,
                 on_unreachable: Unreachable | None = None) -> None:
        self.nc, self.call, self.metrics, self.respond = nc, call, metrics, respond
        self.timeout_s = timeout_s
        self.non_blocking = non_blocking
        self.scheduling = scheduling
        self.bridge_handlers = bridge_handlers or {}
        self.on_unreachable = on_unreachable
        self.running: dict[str, asyncio.Task[Any]] = {}
        self._tasks = TaskSet("tools")
        self.cancelled: list[str] = []
        self.answered: list[str] = []

    @property
    def ctx(self) -> CallContext:
        """The call's context as it is now (read per request: the incident can arrive mid-call)."""
        return self.call.ctx

    @property
    def pending(self) -> int:
        return len(self.running)

    def on_tool_call(self, calls: list[types.FunctionCall]) -> None:
        """Gemini can repeat a function call in one turn: the same name and arguments run once,
        and every id gets that one answer."""
        if self._tasks.closed:
            return  # the call is shutting down
        firsts: dict[str, asyncio.Task[dict[str, Any]]] = {}
        for fc in calls:
            call_id, name, args = fc.id or "", fc.name or "", dict(fc.args or {})
            key = _same_call_key(name, args)
            first = firsts.get(key)
            coro: Coroutine[Any, Any, Any] = (self._run(call_id, name, args) if first is None
                                              else self._echo(call_id, name, args, first))
            task = self._tasks.spawn(coro, name=f"tool-{name}")
            if first is None:
                firsts[key] = task
            self.running[call_id] = task
            task.add_done_callback(self._forget(call_id))

    def _forget(self, call_id: str) -> Callable[[asyncio.Task[Any]], None]:
        def forget(_task: asyncio.Task[Any]) -> None:
            self.running.pop(call_id, None)
        return forget

    async def _echo(self, call_id: str, name: str, args: dict[str, Any],
                    first: asyncio.Task[dict[str, Any]]) -> None:
        try:
            response = await asyncio.shield(first)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if not first.cancelled() or (me is not None and me.cancelling()):
                raise
            await self._run(call_id, name, args)  # Gemini cancelled the first one only: run this one
            return
        self.metrics.tool_latency.labels(name if self._known(name) else "unknown", "repeated").observe(0.0)
        await self._answer(call_id, name, response)

    def cancel(self, ids: list[str]) -> None:
        for call_id in ids:
            task = self.running.pop(call_id, None)
            self.cancelled.append(call_id)
            if task is not None:
                task.cancel()
                self.metrics.tool_cancelled.inc()
                log.info("tool call cancelled by Gemini", extra={"function_call_id": call_id})

    async def close(self) -> None:
        await self._tasks.close()

    async def _run(self, call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        response, outcome = await self._execute(name, args)
        self.metrics.tool_latency.labels(name if self._known(name) else "unknown", outcome).observe(
            time.perf_counter() - started)
        await self._answer(call_id, name, response)
        return response

    def _known(self, name: str) -> bool:
        return name in TOOL_REQUESTS or name in BRIDGE_TOOLS

    async def _execute(self, name: str, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
        if name in self.bridge_handlers:
            return await self.bridge_handlers[name](args), "ok"
        if name not in TOOL_REQUESTS or name not in tools_for(self.ctx):
            # Declared per persona; a call to a tool this persona was not given is refused too.
            log.warning("model called a tool it was not given", extra={"tool": name[:64]})
            return error_response("unknown_tool", f"There is no tool called {name!r} on this call. "
                                  "Carry on without it."), "unknown_tool"
        try:
            request = build_request(name, args, self.ctx)
        except msgspec.ValidationError as exc:
            return error_response("invalid_argument", f"Invalid arguments for {name}: {exc}"), "invalid_argument"
        return await self._request(name, request)

    async def _request(self, name: str, request: msgspec.Struct) -> tuple[dict[str, Any], str]:
        try:
            reply = await self.nc.request(subjects.tool(name), codec.encode(request), timeout=self.timeout_s)
        except nats.errors.NoRespondersError:
            if self._promised_callback(name):
                return error_response("unavailable", f"{name} is unavailable. {CALLBACK_PROMISED}"), "unavailable"
            return error_response("unavailable", f"{name} is unavailable right now.", True), "unavailable"
        except nats.errors.TimeoutError:
            # Not a promise: the tool may still complete (the model can say so, or try again).
            log.warning("tool timed out", extra={"tool": name, "timeout_s": self.timeout_s})
            return error_response("timeout", f"{name} did not answer in time; it may still complete. "
                                  "Tell the caller you could not confirm it yet.", True), "timeout"
        try:
            result = codec.TOOL_RESULT_DECODER.decode(reply.data)
        except msgspec.DecodeError:
            log.error("tool answered with an undecodable reply", extra={"tool": name})
            return error_response("internal", f"{name} gave an unreadable answer."), "internal"
        self._remember_incident(result)
        return result_response(result), result.code if isinstance(result, ToolError) else "ok"

    def _promised_callback(self, name: str) -> bool:
        return self.on_unreachable is not None and self.on_unreachable(name)

    def _remember_incident(self, result: msgspec.Struct) -> None:
        """After this call opened (or found) an incident, later tools act on that one: the
        model does not have to carry the id, and cannot point at another incident. The call
        keeps it, so its outcome event and a rebuilt prompt name it too."""
        if isinstance(result, IncidentRef):
            self.call.adopt_incident(result.incident_id)

    async def _answer(self, call_id: str, name: str, response: dict[str, Any]) -> None:
        scheduling = None
        if self.non_blocking and name not in BRIDGE_TOOLS:
            scheduling = types.FunctionResponseScheduling(self.scheduling)
        self.answered.append(call_id)
        await self.respond(types.FunctionResponse(id=call_id, name=name, response=response,
                                                  scheduling=scheduling))
