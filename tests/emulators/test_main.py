"""``python -m emulators`` starts all three and prints usable URLs and paths."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import aiohttp


async def test_python_m_emulators_runs_all_three(tmp_path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "emulators", "--gemini-port", "0", "--twilio-port", "0",
        "--calendar-port", "0", "--state-dir", str(tmp_path), stdout=asyncio.subprocess.PIPE,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 20)).decode() for _ in range(8)]
        urls = {line.split()[0]: line.split()[1] for line in lines[:3]}
        assert urls["gemini"].startswith("https://") and urls["calendar"].endswith("/calendar/v3/")
        assert f"SSL_CERT_FILE={tmp_path}/tls/ca.pem" in lines[4]
        sa = json.loads((tmp_path / "service-account.json").read_text())
        assert sa["token_uri"] == urls["calendar"].replace("/calendar/v3/", "/token")
        async with aiohttp.ClientSession() as http:
            async with http.get(urls["twilio"] + "/2010-04-01/Accounts/x/Calls.json") as resp:
                assert resp.status == 401 and (await resp.json())["code"] == 20003
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
