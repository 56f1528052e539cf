"""The offline world ``make run`` starts when no real credentials are configured:
the Gemini, Twilio and Google Calendar emulators, in-process, and the environment that
points the services at them."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from emulators.calendar import CalendarEmulator
from emulators.gemini import GeminiEmulator
from emulators.gemini.protocol import SetupConfig
from emulators.twilio import TwilioEmulator

from .db.seed import load_directory
from .demo.report_summary import REPORT_PROMPT, report_answer

OFFLINE_AUTH_TOKEN = "offline-twilio-auth-token"


DEMO_DIR = Path(__file__).with_name("demo")
DEMO_GUEST_NUMBER = "+15557770123"  # the scripted guest of ``make call``


def persona_scenario(setup: SetupConfig) -> str:
    """Pick the scripted conversation by the tools the bridge declared for the call, and
    (for guests) whether it is a call back with a briefing."""
    if "record_quote" in setup.tools:
        return str(DEMO_DIR / "agent_vendor.json")
    if "record_decision" in setup.tools:
        return str(DEMO_DIR / "agent_landlord.json")
    if "Briefing:" in setup.system_instruction:
        return str(DEMO_DIR / "agent_guest_update.json")
    return str(DEMO_DIR / "agent_guest.json")


def answer_outbound_calls(twilio: TwilioEmulator) -> None:
    """Who picks up when outreach phones a vendor, a landlord or the demo guest."""
    directory = load_directory()
    for vendor in directory["vendors"]:
        twilio.set_callee(vendor["phone"], _demo_script("callee_vendor.json"))
    for prop in directory["properties"]:
        twilio.set_callee(prop["landlord"]["phone"], _demo_script("callee_landlord.json"))
    twilio.set_callee(DEMO_GUEST_NUMBER, _demo_script("callee_guest_update.json"))


def _demo_script(name: str) -> dict[str, Any]:
    script: dict[str, Any] = json.loads((DEMO_DIR / name).read_text())
    return script


def needs_emulators(env: dict[str, str]) -> dict[str, bool]:
    return {
        "gemini": not env.get("GEMINI_API_KEY"),
        "twilio": not (env.get("TWILIO_ACCOUNT_SID") and env.get("TWILIO_AUTH_TOKEN")),
        "calendar": not env.get("GOOGLE_APPLICATION_CREDENTIALS"),
    }


def local_defaults(env: dict[str, str], ports: dict[str, int]) -> dict[str, str]:
    """Secrets and URLs a single-machine run needs and an operator has not set."""
    defaults = {
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['ingress']}",
        "MEDIA_STREAM_URL": f"ws://127.0.0.1:{ports['bridge']}/twilio/media",
        "MEDIA_TOKEN_SECRET": secrets.token_urlsafe(32),
        "DASHBOARD_TOKEN": secrets.token_urlsafe(18),
    }
    return {key: value for key, value in defaults.items() if not env.get(key)}


@contextlib.asynccontextmanager
async def offline_world(env: dict[str, str], state_dir: Path) -> AsyncIterator[tuple[dict[str, str], list[str]]]:
    """Start the emulators the environment lacks; yield (env additions, banner lines)."""
    wanted = needs_emulators(env)
    added: dict[str, str] = {}
    banner: list[str] = []
    emu_dir = state_dir / "emulators"
    emu_dir.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        if wanted["gemini"]:
            gemini = await stack.enter_async_context(GeminiEmulator(
                str(DEMO_DIR / "agent_guest.json"), selector=persona_scenario, tls_dir=str(emu_dir / "tls")))
            gemini.script_generate(REPORT_PROMPT, json=report_answer)   # end-of-call reports read like ones
            added.update(GEMINI_API_KEY=gemini.api_key, GEMINI_BASE_URL=gemini.base_url,
                         GEMINI_CA_FILE=gemini.ca_file, SSL_CERT_FILE=gemini.ca_file)
            # The emulator's embeddings are synthetic; offline search uses the local model.
            added.setdefault("EMBEDDING_PROVIDER", env.get("EMBEDDING_PROVIDER") or "local")
            banner.append(f"gemini emulator   {gemini.base_url}")
        if wanted["twilio"]:
            (emu_dir / "calls").mkdir(exist_ok=True)
            twilio = await stack.enter_async_context(
                TwilioEmulator(auth_token=OFFLINE_AUTH_TOKEN, record_dir=str(emu_dir / "calls")))
            added.update(TWILIO_ACCOUNT_SID=twilio.account_sid, TWILIO_AUTH_TOKEN=twilio.auth_token,
                         TWILIO_API_BASE_URL=twilio.base_url, FIXLINE_TWILIO_EMULATOR_URL=twilio.base_url)
            answer_outbound_calls(twilio)
            if not env.get("OUTREACH_QUIET_HOURS"):  # emulated phones wake nobody: the demo runs at any hour
                added["OUTREACH_QUIET_HOURS"] = "off"
                banner.append("quiet hours       off for the emulated phones (set OUTREACH_QUIET_HOURS to try them)")
            banner.append(f"twilio emulator   {twilio.base_url}  (recordings in {emu_dir / 'calls'})")
        if wanted["calendar"]:
            calendar = await stack.enter_async_context(CalendarEmulator())
            calendar.create_service_account(str(emu_dir / "service-account.json"))
            added.update(GOOGLE_APPLICATION_CREDENTIALS=calendar.service_account_file,
                         GOOGLE_CALENDAR_API_ENDPOINT=calendar.api_endpoint)
            banner.append(f"calendar emulator {calendar.api_endpoint}")
        yield added, banner


def os_environ() -> dict[str, str]:
    return dict(os.environ)
