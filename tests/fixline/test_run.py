"""``python -m fixline run`` and ``python -m fixline call`` (``make run`` / ``make call``), as a user runs
them: the whole system offline, then one scripted guest call that drives the whole product."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from zoneinfo import ZoneInfo

import asyncpg

from fixline.devstack import free_port

SERVICES = ("ingress", "bridge", "tools", "notifier", "outreach")


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def _wait(predicate, timeout: float, what: str, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:.0f}s\n{log.read_text()[-3000:]}")


def _emulated_calls(emulator_url: str) -> list[dict]:
    with urllib.request.urlopen(f"{emulator_url}/_emulator/calls", timeout=2) as resp:
        return json.loads(resp.read())


def _env(ports: dict[str, int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    env.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    for secret in ("GEMINI_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS"):
        env.pop(secret, None)
    return env


def _check_the_whole_flow(state, env, log, repo_root) -> None:
    """make call: guest -> incident -> two vendors quote -> landlord approves -> booking -> guest called back."""
    call = subprocess.run([sys.executable, "-m", "fixline", "call", "--state-dir", str(state)], cwd=repo_root,
                          env=env, capture_output=True, text=True, timeout=150)
    assert call.returncode == 0, call.stdout + call.stderr
    assert "what the caller heard:" in call.stdout
    emulator = json.loads((state / "run.json").read_text())["FIXLINE_TWILIO_EMULATOR_URL"]
    _wait(lambda: len([c for c in _emulated_calls(emulator) if c["status"] == "completed"]) >= 5, 150,
          "guest, two vendors, landlord and guest call-back completed", log)
    dialled = [c["to"] for c in _emulated_calls(emulator)]
    assert dialled.count("+15557770123") == 1 and dialled.count("+15550109001") == 1  # call-back, landlord
    assert len([n for n in dialled if n.startswith("+1555020")]) == 2                 # two vendors, once each
    database_url = re.search(r"PostgreSQL (\S+)", log.read_text())[1]
    booking = asyncio.run(_booking(database_url))
    assert booking is not None and booking["status"] == "scheduled", booking
    local = [t.astimezone(ZoneInfo("America/Los_Angeles")) for t in (booking["starts_at"], booking["ends_at"])]
    assert local[0].hour >= 8 and (local[1].hour, local[1].minute) <= (18, 0), local  # inside working hours
    _wait(lambda: asyncio.run(_open_calls(database_url)) == 0, 40, "every call ended in `calls`", log)


async def _booking(database_url: str):
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchrow("SELECT i.status, b.vendor_id, b.starts_at, b.ends_at FROM incidents i"
                                   " JOIN repair_bookings b"
                                   " ON b.incident_id = i.id ORDER BY b.created_at DESC LIMIT 1")
    finally:
        await conn.close()


async def _open_calls(database_url: str) -> int:
    """Calls still live: the guest's inbound call gets no status callback and must end anyway."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM calls WHERE ended_at IS NULL")
    finally:
        await conn.close()


def test_make_run_then_make_call_drives_the_whole_product_offline(tmp_path, repo_root):
    ports = {name: free_port() for name in SERVICES}
    env, state, log = _env(ports), tmp_path / "state", tmp_path / "run.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fixline", "run", "--state-dir", str(state)],
                                cwd=repo_root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: all(_ready(p) for p in ports.values()), 90, "every service ready", log)
        print(f"all five services ready {time.monotonic() - started:.1f}s after `fixline run`")
        _wait(lambda: "simulate a guest call" in log.read_text(), 30, "the supervisor's banner", log)
        text = log.read_text()
        assert "all 5 services ready" in text
        assert "gemini emulator" in text and "twilio emulator" in text and "calendar emulator" in text
        assert f"http://127.0.0.1:{ports['notifier']}/login?token=" in text
        _check_the_whole_flow(state, env, log, repo_root)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "[fixline] stopped" in text
    assert not any(_ready(p) for p in ports.values())
