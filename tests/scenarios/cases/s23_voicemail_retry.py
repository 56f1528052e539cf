"""Tideline's answering machine takes a voicemail; Bay Rooter declines and Harbor Pipe does not
pick up, so nobody has quoted: after OUTREACH_RETRY_DELAY_S Tideline is phoned again (the
fourth vendor call of OUTREACH_MAX_VENDORS = 4), a person answers, quotes, and the story ends
booked. (s04: the machine is not called again because others quoted.)"""
import asyncio
import contextlib

from ..parts import LANDLORD_PHONE, LEAK, STILL, VENDOR_PHONE, caller, guest_callback, guest_reports, \
    landlord_decides, no_quiet_hours, vendor_declines, vendor_quotes, voicemail
from ..story import GuestCall, Scenario

MACHINE = {"answered_by": "machine_end_beep", "steps": [], "max_duration_s": 8}


async def _person_answers_the_retry(world) -> None:
    """Once the machine took the first call, a person picks up the next one."""
    number = VENDOR_PHONE["v-plumb-1"]
    while not await world.pool.fetchval("SELECT EXISTS (SELECT 1 FROM calls WHERE to_number = $1"
                                        " AND answered_by LIKE 'machine%' AND ended_at > now() - interval '5 min')",
                                        number):
        await asyncio.sleep(0.2)
    world.twilio.set_callee(number, caller("Sure, I can quote now."))


async def _before(world, run) -> None:
    await no_quiet_hours(world, "p1")
    run.notes["switch"] = asyncio.get_running_loop().create_task(_person_answers_the_retry(world))


async def _after(world, run) -> None:
    task = run.notes["switch"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


SCENARIO = Scenario(
    name="voicemail retry",
    story="Machine, decline, no answer: nobody quoted; the machine's vendor is called again later and quotes.",
    calls=[GuestCall(caller(LEAK, STILL))],
    agents={"guest": [guest_reports()], "voicemail": [voicemail()], "vendor:v-plumb-1": [vendor_quotes(230.0)],
            "vendor:v-plumb-2": [vendor_declines()], "landlord": [landlord_decides(True)],
            "guest_callback": [guest_callback()]},
    callees={VENDOR_PHONE["v-plumb-1"]: MACHINE, VENDOR_PHONE["v-plumb-2"]: caller("Sorry, we are fully booked."),
             VENDOR_PHONE["v-plumb-5"]: {"steps": [{"hangup": True, "at": 0.2}], "max_duration_s": 2},
             LANDLORD_PHONE["p1"]: caller("Yes.")},
    before=_before, after=_after, timeout_s=150.0,
    expect={"machine": ["v-plumb-1"], "vendors": ["v-plumb-1", "v-plumb-1", "v-plumb-2", "v-plumb-5"],
            "quotes": 1, "status": "scheduled", "dialled": {"vendor": 4, "landlord": 1, "guest": 1},
            "bookings": 1, "calls_open": 0,
            "stages": ["started", "calling_vendor", "calling_vendor", "no_answer", "calling_vendor", "no_answer",
                       "no_answer", "voicemail_retry", "calling_vendor", "quote_received", "analysing",
                       "recommended", "calling_landlord", "approved", "scheduled", "calling_guest", "done"]},
)
