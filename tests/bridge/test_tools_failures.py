"""Tool-call failure paths over real NATS with no tools service behind the subject (or a
slow one): timeouts, cancellation, nobody listening. Every call id still gets an answer."""

from __future__ import annotations

import asyncio

from fixline_proto import subjects
from services.bridge.metrics import BridgeMetrics
from services.bridge.tools_dispatch import ToolsDispatcher

from .test_tools_dispatch import CTX, Answers, OnCall, fc


async def test_a_tool_that_does_not_answer_in_time_gets_a_timeout_error(nc):
    async def slow(msg):
        await asyncio.sleep(1.0)
        await msg.respond(b"{}")

    sub = await nc.subscribe(subjects.tool("create_incident"), cb=slow)
    answers = Answers()
    metrics = BridgeMetrics()
    d = ToolsDispatcher(nc, OnCall(CTX), metrics, answers, timeout_s=0.2)
    d.on_tool_call([fc("create_incident", {"category": "plumbing", "severity": "low", "description": "Drip"})])
    await answers.wait(1)
    await sub.unsubscribe()
    assert answers.responses[0].response["error"]["code"] == "timeout"
    assert answers.responses[0].response["error"]["retryable"] is True
    assert metrics.tool_latency.labels("create_incident", "timeout")._sum.get() >= 0.2


async def test_cancelled_calls_are_stopped_and_never_answered(nc):
    seen = asyncio.Event()

    async def never(msg):
        seen.set()

    sub = await nc.subscribe(subjects.tool("search_maintenance"), cb=never)
    answers = Answers()
    d = ToolsDispatcher(nc, OnCall(CTX), BridgeMetrics(), answers, timeout_s=5)
    d.on_tool_call([fc("search_maintenance", {"query": "wifi"}, "function-call-9")])
    await asyncio.wait_for(seen.wait(), 2)
    assert d.pending == 1
    d.cancel(["function-call-9"])
    await asyncio.sleep(0.1)
    await sub.unsubscribe()
    assert d.pending == 0 and answers.responses == [] and d.cancelled == ["function-call-9"]


async def test_no_tools_service_is_an_unavailable_error(nc):
    answers = Answers()
    d = ToolsDispatcher(nc, OnCall(CTX), BridgeMetrics(), answers)
    d.on_tool_call([fc("search_maintenance", {"query": "wifi"})])
    await answers.wait(1)
    assert answers.responses[0].response["error"]["code"] in ("unavailable", "timeout")


async def test_an_unreachable_tool_on_a_guest_call_promises_a_call_back(nc):
    """Tools down: the bridge (the system, not the model) promises the call-back and tells the
    agent to say so and end the call; without a promise the error stays retryable."""
    promised: list[str] = []

    def promise(tool: str) -> bool:
        promised.append(tool)
        return True

    answers = Answers()
    d = ToolsDispatcher(nc, OnCall(CTX), BridgeMetrics(), answers, timeout_s=2.0, on_unreachable=promise)
    d.on_tool_call([fc("create_incident", {"category": "plumbing", "severity": "low", "description": "Drip"})])
    await answers.wait(1)
    error = answers.responses[0].response["error"]
    assert promised == ["create_incident"]
    assert error["code"] == "unavailable" and error["retryable"] is False
    assert "scheduled a call-back" in error["message"] and "end_call" in error["message"]


async def test_a_stalled_tool_is_no_promise(nc):
    """A timeout may still complete: the model is told it could not confirm it, no call-back."""
    promised: list[str] = []
    async def never(msg) -> None:
        pass

    sub = await nc.subscribe(subjects.tool("create_incident"), cb=never)
    answers = Answers()
    d = ToolsDispatcher(nc, OnCall(CTX), BridgeMetrics(), answers, timeout_s=0.2,
                        on_unreachable=lambda tool: promised.append(tool) or True)
    d.on_tool_call([fc("create_incident", {"category": "plumbing", "severity": "low", "description": "Drip"})])
    await answers.wait(1)
    await sub.unsubscribe()
    assert answers.responses[0].response["error"]["code"] == "timeout" and promised == []
