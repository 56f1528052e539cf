"""``make call``: ring a property through the running Twilio emulator with a scripted guest."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp

from .offline import DEMO_GUEST_NUMBER

GUEST_SCRIPT = Path(__file__).with_name("demo") / "guest_caller.json"
TERMINAL = {"completed", "busy", "failed", "no-answer", "canceled"}


async def place_demo_call(state_dir: Path, to: str, timeout_s: float = 120.0) -> int:
    run_file = state_dir / "run.json"
    if not run_file.exists():
        print("no running system found: start it with `make run` first")
        return 2
    run = json.loads(run_file.read_text())
    emulator = run.get("FIXLINE_TWILIO_EMULATOR_URL")
    if not emulator:
        print("`make run` is using real Twilio credentials; call the property's number from a phone instead")
        return 2
    request = {"to": to, "from": DEMO_GUEST_NUMBER, "voice_url": f"{run['PUBLIC_BASE_URL']}/twilio/voice",
               "callee_script": json.loads(GUEST_SCRIPT.read_text())}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emulator}/_emulator/calls", json=request) as resp:
            if resp.status != 201:
                print(f"the emulator refused the call: {resp.status} {await resp.text()}")
                return 1
            sid = (await resp.json())["sid"]
        print(f"ringing {to} as a guest (call {sid}); watch it live on the dashboard")
        return await _follow(http, emulator, sid, timeout_s)


async def _follow(http: aiohttp.ClientSession, emulator: str, sid: str, timeout_s: float) -> int:
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        async with http.get(f"{emulator}/_emulator/calls/{sid}") as resp:
            call = await resp.json() if resp.status == 200 else {}
        status = call.get("status")
        if status != last:
            print(f"  call status: {status}")
            last = status
        if status in TERMINAL:
            for line in call.get("transcript", []):
                print(f"  {line}")
            if call.get("recording"):
                print(f"  what the caller heard: {call['recording']}")
            return 0 if status == "completed" else 1
        await asyncio.sleep(0.5)
    print("the call did not finish in time")
    return 1
