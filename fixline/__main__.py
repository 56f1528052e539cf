"""``python -m fixline run``: the whole system on the embedded default (what ``make run`` does).

Starts embedded NATS + PostgreSQL (unless NATS_URL / DATABASE_URL are set), applies the
migrations and seed, starts the offline emulators when no Gemini/Twilio credentials are
set, then the five services, and supervises them until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import asyncpg

from .db.migrate import migrate
from .db.seed import seed
from .devstack import DevStack
from .supervisor import install_stop_handlers, os_env, service_env, supervise


async def prepare_database(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        applied = await migrate(conn)
        await seed(conn)
        print(f"[fixline] migrations applied: {applied or 'up to date'}; seed loaded", flush=True)
    finally:
        await conn.close()


async def run(state_dir: Path) -> None:
    started = time.monotonic()
    stack = DevStack(state_dir).start()
    print(f"[fixline] NATS {stack.nats_url}  PostgreSQL {stack.database_url}", flush=True)
    stop = asyncio.Event()
    install_stop_handlers(stop)
    try:
        await prepare_database(stack.database_url)
        env = service_env(os_env(), stack.env())
        print(f"[fixline] infrastructure up in {time.monotonic() - started:.2f}s", flush=True)
        await supervise(env, stop)
    finally:
        stack.stop()
        print("[fixline] stopped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fixline", description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--state-dir", default=".state", type=Path)
    args = parser.parse_args()
    asyncio.run(run(args.state_dir.resolve()))


if __name__ == "__main__":
    main()
