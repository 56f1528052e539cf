"""The emulated outside world of ``make deploy-check``, run inside the check's pod (so the
services reach it on 127.0.0.1 like ``make run`` does): the Gemini, Twilio and Calendar
emulators, writing what the services need to ``<state>/world.json`` and the ``run.json`` that
``python -m fixline call`` reads. Runs until SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from fixline.__main__ import write_run_file
from fixline.offline import offline_world

INGRESS_URL = "http://127.0.0.1:8080"


async def main(state_dir: Path, dashboard_token: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with offline_world({}, state_dir) as (added, banner):
        write_run_file(state_dir, {**added, "PUBLIC_BASE_URL": INGRESS_URL, "DASHBOARD_TOKEN": dashboard_token})
        (state_dir / "run.json").chmod(0o644)
        partial = state_dir / "world.json.partial"
        partial.write_text(json.dumps(added))
        partial.rename(state_dir / "world.json")
        for line in banner:
            print(line, flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
