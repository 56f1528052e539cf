"""Outreach is restarted (drained, then started again with the same executor id) while the
plumbers' calls are under way: the story still finishes, everyone phoned exactly once, one booking.
(A graceful restart; SIGKILL at each step: s30-s34.)"""
import asyncio

from services.outreach.app import OutreachService
from tests.support.services import running

from ..parts import HUMAN_SAYS_SURE, LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, \
    guest_reports, landlord_decides, vendor_quotes
from ..story import GuestCall, Scenario

TASKS: list = []


async def restart_during_vendor_calls(world, run) -> None:
    async def restart() -> None:
        for _ in range(600):
            if await world.pool.fetchval("SELECT count(*) FROM calls c JOIN incidents i ON i.id = c.incident_id"
                                         " WHERE i.caller_phone = $1 AND c.call_type = 'vendor'", run.guests[0]):
                break
            await asyncio.sleep(0.1)
        old = world.services["outreach"]
        settings = old.runtime.settings
        old.stopping.set()
        await asyncio.wait_for(old.task, 30)
        context = running(OutreachService(), settings)
        world.services["outreach"] = await context.__aenter__()
        world.restarted.append(context)

    TASKS.append(asyncio.create_task(restart()))


async def restarted(world, run) -> dict:
    done = bool(TASKS) and TASKS[-1].done() and TASKS[-1].exception() is None
    return {"outreach_restarted": done and bool(world.restarted)}


SCENARIO = Scenario(
    name="outreach restarts mid-story",
    story="While Tideline and Bay Rooter are on the phone, outreach drains and starts again.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "vendor": [vendor_quotes(260.0)],
            "landlord": [landlord_decides(True)], "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: HUMAN_SAYS_SURE, VENDOR_PHONE["v-plumb-2"]: HUMAN_SAYS_SURE,
             LANDLORD_PHONE["p1"]: caller("Yes.")},
    before=restart_during_vendor_calls, extra=restarted,
    expect={"outreach_restarted": True, "status": "scheduled", "dialled": {"vendor": 2, "landlord": 1, "guest": 1},
            "bookings": 1, "calls_open": 0},
    timeout_s=150.0,
)
