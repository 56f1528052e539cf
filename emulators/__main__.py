"""Run all three emulators for local use / the offline demo.

    python -m emulators [--host 127.0.0.1] [--gemini-port 8443] [--twilio-port 8444]
                        [--calendar-port 8445] [--scenario guest] [--state-dir .state/emulators]

Ports default to the fixed values above (env: EMU_GEMINI_PORT, EMU_TWILIO_PORT,
EMU_CALENDAR_PORT; 0 = any free port). Prints the URLs, the CA file and the service-account
JSON path, plus ready-to-export environment variables, then runs until Ctrl-C.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal

from .calendar import CalendarEmulator
from .gemini import GeminiEmulator
from .twilio import TwilioEmulator

DEFAULT_PORTS = {"gemini": 8443, "twilio": 8444, "calendar": 8445}


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m emulators", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=env("EMU_HOST", "127.0.0.1"))
    for name, port in DEFAULT_PORTS.items():
        p.add_argument(f"--{name}-port", type=int, default=int(env(f"EMU_{name.upper()}_PORT", port)))
    p.add_argument("--scenario", default=env("EMU_SCENARIO", "guest"), help="default Gemini scenario")
    p.add_argument("--api-key", default=env("EMU_GEMINI_API_KEY", "test-key"))
    p.add_argument("--auth-token", default=env("EMU_TWILIO_AUTH_TOKEN", "test-auth-token"))
    p.add_argument("--state-dir", default=env("EMU_STATE_DIR", ".state/emulators"))
    return p.parse_args(argv)


def _banner(gem: GeminiEmulator, tw: TwilioEmulator, cal: CalendarEmulator) -> str:
    return "\n".join([
        f"gemini   {gem.base_url}  (Live + REST; scenario={gem.scenario.name})",
        f"twilio   {tw.base_url}  (REST 2010-04-01; place calls: POST /_emulator/calls)",
        f"calendar {cal.api_endpoint}  (token_uri {cal.token_uri})",
        "",
        f"export SSL_CERT_FILE={gem.ca_file}",
        f"export GEMINI_BASE_URL={gem.base_url} GEMINI_API_KEY={gem.api_key}",
        f"export TWILIO_API_BASE_URL={tw.base_url} TWILIO_ACCOUNT_SID={tw.account_sid} "
        f"TWILIO_AUTH_TOKEN={tw.auth_token}",
        f"export CALENDAR_API_ENDPOINT={cal.api_endpoint} "
        f"GOOGLE_APPLICATION_CREDENTIALS={cal.service_account_file}",
    ])


async def serve(args: argparse.Namespace) -> None:
    os.makedirs(args.state_dir, exist_ok=True)
    gem = GeminiEmulator(args.scenario, api_key=args.api_key, host=args.host, port=args.gemini_port,
                         tls_dir=os.path.join(args.state_dir, "tls"))
    tw = TwilioEmulator(auth_token=args.auth_token, host=args.host, port=args.twilio_port,
                        record_dir=args.state_dir)
    cal = CalendarEmulator(host=args.host, port=args.calendar_port, calendars=("primary",))
    async with gem, tw, cal:
        cal.create_service_account(os.path.join(args.state_dir, "service-account.json"))
        print(_banner(gem, tw, cal), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(_args(argv)))


if __name__ == "__main__":
    main()
