"""``python -m fixline run`` (what ``make run`` does), as a user runs it."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from fixline.devstack import free_port

SERVICES = ("ingress", "bridge", "tools", "notifier", "outreach")


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_make_run_brings_every_service_to_ready_and_stops_cleanly(tmp_path, repo_root):
    ports = {name: free_port() for name in SERVICES}
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    env.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    for secret in ("GEMINI_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS"):
        env.pop(secret, None)
    log = tmp_path / "run.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fixline", "run", "--state-dir", str(tmp_path / "state")],
                                cwd=repo_root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(_ready(p) for p in ports.values()):
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        assert all(_ready(p) for p in ports.values()), log.read_text()[-3000:]
        print(f"all five services ready {time.monotonic() - started:.1f}s after `fixline run`")
        while time.monotonic() < deadline and "simulate a guest call" not in log.read_text():
            time.sleep(0.1)  # the supervisor polls /readyz itself before it prints
        text = log.read_text()
        assert "all 5 services ready" in text
        assert "gemini emulator" in text and "twilio emulator" in text and "calendar emulator" in text
        assert f"http://127.0.0.1:{ports['notifier']}/login?token=" in text
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "[fixline] stopped" in text
    assert not any(_ready(p) for p in ports.values())
