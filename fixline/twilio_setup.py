"""``python -m fixline twilio-setup``: point each property's Twilio number at the voice webhook
and the status callback (IncomingPhoneNumbers, through the official SDK), so inbound calls
reach ingress and Twilio reports how they ended.

    VoiceUrl       = PUBLIC_BASE_URL/twilio/voice    (POST)
    StatusCallback = PUBLIC_BASE_URL/twilio/status   (POST)

Idempotent: a number already pointed there is left alone. Every number is looked up before
anything changes: an unknown property, or a number the Twilio account does not own, is refused
with nothing changed. The API base URL is TWILIO_API_BASE_URL (as ingress uses it).
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

import asyncpg
from twilio.base.exceptions import TwilioException, TwilioRestException

from services.common.settings import Settings
from services.ingress.twilio_rest import create_client

VOICE_PATH, STATUS_PATH = "/twilio/voice", "/twilio/status"


class SetupError(Exception):
    """Refused before anything changed."""


@dataclasses.dataclass(frozen=True)
class Change:
    property_id: str
    phone_number: str
    sid: str
    before: dict[str, str | None]
    after: dict[str, str]

    @property
    def changed(self) -> bool:
        return any(self.before.get(k) != v for k, v in self.after.items())

    def describe(self) -> str:
        if not self.changed:
            return f"{self.property_id} {self.phone_number} ({self.sid}): unchanged"
        diffs = [f"{k}: {self.before.get(k) or '(none)'} -> {v}" for k, v in self.after.items()
                 if self.before.get(k) != v]
        return f"{self.property_id} {self.phone_number} ({self.sid}): " + "; ".join(diffs)


def wanted(settings: Settings) -> dict[str, str]:
    base = settings.public_base_url.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SetupError(f"PUBLIC_BASE_URL must be an http(s) URL, not {base!r}")
    return {"voice_url": base + VOICE_PATH, "voice_method": "POST",
            "status_callback": base + STATUS_PATH, "status_callback_method": "POST"}


async def property_numbers(database_url: str, property_ids: list[str] | None) -> list[tuple[str, str]]:
    """(property id, number) of the given properties (all when None); refuses an unknown one."""
    conn = await asyncpg.connect(database_url)
    try:
        known = {r["id"] for r in await conn.fetch("SELECT id FROM properties")}
        unknown = sorted(set(property_ids or ()) - known)
        if unknown:
            raise SetupError(f"unknown property {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        rows = await conn.fetch("SELECT property_id, phone_number FROM property_phone_numbers"
                                " WHERE $1::text[] IS NULL OR property_id = ANY($1) ORDER BY property_id, phone_number",
                                property_ids)
    finally:
        await conn.close()
    missing = sorted(set(property_ids or ()) - {r["property_id"] for r in rows})
    if missing:
        raise SetupError(f"property {', '.join(missing)} has no phone number")
    return [(r["property_id"], r["phone_number"]) for r in rows]


async def point_numbers(settings: Settings, property_ids: list[str] | None) -> list[Change]:
    """Look every number up first (refuse if one is not in the account), then update the ones
    not yet pointed at this deployment."""
    if not settings.twilio_account_sid or not settings.twilio_auth_token:
        raise SetupError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required")
    after = wanted(settings)
    numbers = await property_numbers(settings.database_url, property_ids)
    client, http = create_client(settings)
    try:
        plan = []
        for property_id, phone in numbers:
            try:
                found = await client.incoming_phone_numbers.list_async(phone_number=phone, limit=1)
            except TwilioRestException as exc:
                raise SetupError(f"Twilio refused the lookup of {phone}: {exc.status} {exc.msg}") from None
            if not found:
                raise SetupError(f"{phone} (property {property_id}) is not a number of Twilio account "
                                 f"{settings.twilio_account_sid}")
            number = found[0]
            before = {k: getattr(number, k) for k in after}
            plan.append(Change(property_id, phone, str(number.sid), before, after))
        for change in plan:
            if change.changed:
                await client.incoming_phone_numbers(change.sid).update_async(**after)
        return plan
    finally:
        await http.close()


async def run(settings: Settings, property_ids: list[str] | None) -> int:
    try:
        changes = await point_numbers(settings, property_ids)
    except SetupError as exc:
        print(f"[fixline] twilio-setup refused, nothing changed: {exc}", flush=True)
        return 2
    except TwilioException as exc:
        print(f"[fixline] twilio-setup failed part-way ({exc}); it is safe to run again", flush=True)
        return 1
    for change in changes:
        print(f"[fixline] {change.describe()}", flush=True)
    print(f"[fixline] {sum(c.changed for c in changes)} of {len(changes)} number(s) changed", flush=True)
    return 0
