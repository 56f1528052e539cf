"""``python -m fixline run | call | twilio-setup``.

``run`` (what ``make run`` does): embedded NATS + PostgreSQL (unless NATS_URL /
DATABASE_URL are set), migrations and seed, the offline emulators for whatever has no
credentials, then the five services, supervised until Ctrl-C. On a terminal each log event
is one readable line (``--json``, or output to a pipe or file: the services' JSON lines).

``call`` (what ``make call`` does): asks the running Twilio emulator to ring a property's
number with a scripted guest, and follows the call until it ends.

``twilio-setup``: points each property's Twilio number (``--property ID``, repeatable, or all)
at PUBLIC_BASE_URL/twilio/voice and /twilio/status through the Twilio SDK (``twilio_setup.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import asyncpg

from services.common.settings import DEFAULT_PORTS, Settings

from .db.migrate import migrate
from .db.seed import seed
from . import twilio_setup
from .console import Console
from .demo_call import place_demo_call
from .devstack import DevStack, DevStackError
from .offline import local_defaults, offline_world
from .supervisor import install_stop_handlers, os_env, service_env, supervise


async def prepare_database(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        applied = await migrate(conn)
        await seed(conn)
        print(f"[fixline] migrations applied: {applied or 'up to date'}; seed loaded", flush=True)
    finally:
        await conn.close()


def write_run_file(state_dir: Path, env: dict[str, str]) -> Path:
    """What ``python -m fixline call`` needs to find the running system."""
    run_file = state_dir / "run.json"
    keys = ("PUBLIC_BASE_URL", "FIXLINE_TWILIO_EMULATOR_URL", "DASHBOARD_TOKEN")
    run_file.write_text(json.dumps({key: env.get(key, "") for key in keys}))
    run_file.chmod(0o600)
    return run_file


async def run(state_dir: Path, console: Console) -> None:
    started = time.monotonic()
    stack = DevStack(state_dir).start()
    print(f"[fixline] NATS {stack.nats_url}  PostgreSQL {stack.database_url}", flush=True)
    stop = asyncio.Event()
    install_stop_handlers(stop)
    try:
        await prepare_database(stack.database_url)
        base = os_env()
        async with offline_world(base, state_dir) as (emulated, banner):
            env = service_env(base, {**stack.env(), **emulated})
            env.update(local_defaults(env, service_ports(env)))
            for line in banner:
                print(f"[fixline] {line}", flush=True)
            write_run_file(state_dir, env)
            print(f"[fixline] infrastructure up in {time.monotonic() - started:.2f}s", flush=True)
            await supervise(env, stop, on_ready=lambda: _print_next_steps(env), console=console)
    finally:
        stack.stop()
        print("[fixline] stopped", flush=True)


def service_ports(env: dict[str, str]) -> dict[str, int]:
    return {name: int(env.get(f"{name.upper()}_PORT") or port) for name, port in DEFAULT_PORTS.items()}


def _print_next_steps(env: dict[str, str]) -> None:
    notifier = f"http://127.0.0.1:{service_ports(env)['notifier']}"
    print(f"[fixline] dashboard: {notifier}/login?token={env.get('DASHBOARD_TOKEN', '')}", flush=True)
    if env.get("FIXLINE_TWILIO_EMULATOR_URL"):
        print("[fixline] simulate a guest call:  make call   (in another terminal)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fixline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "call", "twilio-setup"])
    parser.add_argument("--state-dir", default=".state", type=Path)
    parser.add_argument("--to", default="+15550100001", help="the property number to ring (call)")
    parser.add_argument("--property", action="append", dest="properties",
                        help="twilio-setup: this property's numbers (repeatable; default: every property)")
    parser.add_argument("--json", action="store_true",
                        help="print the services' JSON log lines as they are (the default when not on a terminal)")
    args = parser.parse_args()
    state_dir = args.state_dir.resolve()
    if args.command == "run":
        try:
            asyncio.run(run(state_dir, Console(pretty=sys.stdout.isatty() and not args.json)))
        except DevStackError as exc:
            raise SystemExit(f"[fixline] {exc}") from None
    elif args.command == "twilio-setup":
        raise SystemExit(asyncio.run(twilio_setup.run(Settings.from_env("ingress"), args.properties)))
    else:
        raise SystemExit(asyncio.run(place_demo_call(state_dir, args.to)))


if __name__ == "__main__":
    main()
