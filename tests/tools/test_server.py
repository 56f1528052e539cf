"""The nats.micro service: discovery, replicas sharing one queue group, metrics, drain."""

import asyncio
import json

import aiohttp

from fixline_proto import subjects
from fixline_proto.codec import TOOL_RESULT_DECODER
from fixline_proto.tools import IncidentStatusChanged, ToolError
from services.tools.app import ToolsService
from services.tools.server import HANDLERS, WORKFLOW_HANDLERS, _header_text
from tests.support.services import running, settings_for
from tests.tools.call_rows import insert_call


def _served(service: ToolsService) -> float:
    return sum(sample.value for metric in service.metrics.requests.collect() for sample in metric.samples
               if sample.name.endswith("_total"))


async def test_service_is_discoverable_with_one_endpoint_per_tool(tools, nc):
    info = json.loads((await nc.request("$SRV.INFO.tools", b"", timeout=2)).data)
    endpoints = {e["name"]: (e["subject"], e["queue_group"]) for e in info["endpoints"]}
    assert endpoints == {name: (f"tools.{name}", "tools") for name in HANDLERS} | {
        f"workflow_{name}": (f"tools.workflow.{name}", "tools") for name in WORKFLOW_HANDLERS}
    assert set(WORKFLOW_HANDLERS) == {"update_incident_status", "schedule_repair"}


async def test_replicas_share_the_load(tools, tools_service):
    second = ToolsService()
    async with running(second, settings_for("tools", kb_embed_on_start=False)):
        before = (_served(tools_service), _served(second))
        results = await asyncio.gather(*(tools.workflow("update_incident_status", incident_id=f"inc-none-{i}",
                                                        status="resolved") for i in range(60)))
        after = (_served(tools_service), _served(second))
    assert all(isinstance(r, ToolError) and r.code == "not_found" for r in results)
    assert after[0] - before[0] > 0 and after[1] - before[1] > 0
    assert sum(after) - sum(before) == 60


async def test_metrics_cover_tools_and_the_outbox(tools, tools_service):
    incident_id, _ = await tools.open_incident(property_id="p3", category="hvac", severity="medium",
                                               description="Furnace clicks but no heat")
    assert isinstance(await tools.workflow("update_incident_status", incident_id=incident_id,
                                           status="troubleshooting"), IncidentStatusChanged)
    await tools.workflow("update_incident_status", incident_id=incident_id, status="open")
    await tools.call("update_incident_status", incident_id=incident_id, status="cancelled")  # no call: refused
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{tools_service.runtime.port}/metrics") as resp:
            text = await resp.text()
    assert 'fixline_tool_requests_total{tool="create_incident"}' in text
    assert 'fixline_tool_errors_total{code="illegal_transition",tool="workflow.update_incident_status"}' in text
    assert 'fixline_tool_errors_total{code="forbidden",tool="update_incident_status"}' in text
    assert 'fixline_tool_latency_seconds_bucket{le="0.005",tool="workflow.update_incident_status"}' in text
    for name in ("fixline_outbox_unpublished_rows", "fixline_outbox_lag_seconds", "outbox_published_total"):
        assert name in text


async def test_slow_request_does_not_block_others(tools, tools_service):
    """Each request runs in its own task: a search (embedding) and status reads overlap."""
    searches = [tools.on_guest_call("search_maintenance", query=f"the wifi is down {i}") for i in range(5)]
    reads = [tools.workflow("update_incident_status", incident_id="inc-missing", status="open") for _ in range(20)]
    results = await asyncio.gather(*searches, *reads)
    assert all(not isinstance(r, ToolError) for r in results[:5])
    assert all(isinstance(r, ToolError) and r.code == "not_found" for r in results[5:])


async def test_a_tool_error_also_carries_the_micro_error_headers(tools, nc):
    reply = await nc.request(subjects.workflow_tool("update_incident_status"),
                             b'{"incident_id": "inc-missing", "status": "open"}', timeout=10)
    result = TOOL_RESULT_DECODER.decode(reply.data)
    assert isinstance(result, ToolError) and result.code == "not_found"
    assert reply.headers["Nats-Service-Error-Code"] == "not_found"
    assert reply.headers["Nats-Service-Error"] == result.message


def test_an_error_header_is_one_bounded_line_whatever_the_message():
    header = _header_text("bad\r\nNats-Service-Error-Code: 200\r\n" + "y" * 500)
    assert header.startswith("bad Nats-Service-Error-Code: 200 y")
    assert "\r" not in header and "\n" not in header and len(header) == 200


async def test_a_success_carries_no_error_headers(tools, nc):
    incident_id, _ = await tools.open_incident(property_id="p3", category="hvac", severity="low",
                                               description="Thermostat display is blank")
    body = b'{"incident_id": "%s", "status": "troubleshooting"}' % incident_id.encode()
    reply = await nc.request(subjects.workflow_tool("update_incident_status"), body, timeout=10)
    assert isinstance(TOOL_RESULT_DECODER.decode(reply.data), IncidentStatusChanged)
    assert "Nats-Service-Error-Code" not in (reply.headers or {})


async def endpoint_stats(nc, service: ToolsService, endpoint: str) -> dict:
    """``$SRV.STATS`` of this service instance (by id: other replicas may be running)."""
    assert service.server is not None and service.server.service is not None
    reply = await nc.request(f"$SRV.STATS.tools.{service.server.service.id}", b"", timeout=2)
    return next(e for e in json.loads(reply.data)["endpoints"] if e["name"] == endpoint)


async def test_srv_stats_count_the_errors_the_work_returned(tools, tools_service, nc):
    before = await endpoint_stats(nc, tools_service, "workflow_update_incident_status")
    for _ in range(3):
        await tools.workflow("update_incident_status", incident_id="inc-missing", status="open")
    incident_id, _ = await tools.open_incident(property_id="p3", description="Dryer will not start")
    assert isinstance(await tools.workflow("update_incident_status", incident_id=incident_id,
                                           status="troubleshooting"), IncidentStatusChanged)
    after = await endpoint_stats(nc, tools_service, "workflow_update_incident_status")
    assert after["num_requests"] - before["num_requests"] == 4
    assert after["num_errors"] - before["num_errors"] == 3
    assert after["last_error"].startswith("not_found: ")
    assert after["data"]["completed"] - before["data"]["completed"] == 4 and after["data"]["in_flight"] == 0
    assert after["average_processing_time"] == after["processing_time"] // after["data"]["completed"]


async def test_srv_stats_processing_time_is_the_work_not_the_hand_off(tools, tools_service, nc, pool):
    """create_incident held up in PostgreSQL for 0.5 s: micro's processing time includes those 0.5 s."""
    call_id = await insert_call(pool, property_id="p3")
    before = await endpoint_stats(nc, tools_service, "create_incident")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
        pending = asyncio.create_task(tools.call("create_incident", property_id="p3", category="hvac",
                                                 severity="low", description="Vent rattles", call_id=call_id))
        await asyncio.sleep(0.5)
        during = await endpoint_stats(nc, tools_service, "create_incident")
    assert not isinstance(await pending, ToolError)
    after = await endpoint_stats(nc, tools_service, "create_incident")
    assert during["data"]["in_flight"] == 1 and during["processing_time"] == before["processing_time"]
    assert after["processing_time"] - before["processing_time"] >= 0.5e9
    assert after["num_errors"] == before["num_errors"]
