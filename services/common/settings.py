"""All configuration, from the environment. The README's configuration table mirrors this."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

DEFAULT_PORTS = {"ingress": 8080, "bridge": 8081, "tools": 8082, "notifier": 8083, "outreach": 8084}

# Values of these never reach logs (see services.common.logs).
SECRET_SETTINGS = ("gemini_api_key", "twilio_auth_token", "dashboard_token", "media_token_secret")


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    service: str
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"
    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = ""
    db_statement_cache_size: int = 100       # 0 behind a transaction pooler (PgBouncer, Supavisor)
    public_base_url: str = "http://127.0.0.1:8080"
    gemini_api_key: str = field(default="", repr=False)
    gemini_base_url: str = ""
    gemini_api_version: str = "v1"
    gemini_live_model: str = "gemini-3.8-live"
    gemini_voice: str = "Charon"
    gemini_ca_file: str = ""                 # extra CA to trust (the emulator's), optional
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_api_base_url: str = ""
    google_calendar_id: str = "primary"
    google_calendar_api_endpoint: str = ""
    google_application_credentials: str = ""
    dashboard_token: str = field(default="", repr=False)
    media_token_secret: str = field(default="", repr=False)
    drain_timeout_s: float = 840.0
    max_calls: int = 200

    @classmethod
    def from_env(cls, service: str) -> "Settings":
        return cls(
            service=service,
            http_host=_env("HTTP_HOST", "127.0.0.1"),
            http_port=_env_int(f"{service.upper()}_PORT", _env_int("HTTP_PORT", DEFAULT_PORTS.get(service, 0))),
            log_level=_env("LOG_LEVEL", "INFO").upper(),
            nats_url=_env("NATS_URL", "nats://127.0.0.1:4222"),
            database_url=_env("DATABASE_URL"),
            db_statement_cache_size=_env_int("DB_STATEMENT_CACHE_SIZE", 100),
            public_base_url=_env("PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/"),
            gemini_api_key=_env("GEMINI_API_KEY"),
            gemini_base_url=_env("GEMINI_BASE_URL"),
            gemini_api_version=_env("GEMINI_API_VERSION", "v1"),
            gemini_live_model=_env("GEMINI_LIVE_MODEL", "gemini-3.8-live"),
            gemini_voice=_env("GEMINI_VOICE", "Charon"),
            gemini_ca_file=_env("GEMINI_CA_FILE"),
            twilio_account_sid=_env("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=_env("TWILIO_AUTH_TOKEN"),
            twilio_api_base_url=_env("TWILIO_API_BASE_URL"),
            google_calendar_id=_env("GOOGLE_CALENDAR_ID", "primary"),
            google_calendar_api_endpoint=_env("GOOGLE_CALENDAR_API_ENDPOINT"),
            google_application_credentials=_env("GOOGLE_APPLICATION_CREDENTIALS"),
            dashboard_token=_env("DASHBOARD_TOKEN"),
            media_token_secret=_env("MEDIA_TOKEN_SECRET"),
            drain_timeout_s=_env_float("DRAIN_TIMEOUT_S", 840.0),
            max_calls=_env_int("MAX_CALLS", 200),
        )

    def secret_values(self) -> list[str]:
        return [getattr(self, name) for name in SECRET_SETTINGS if getattr(self, name)]

    def public_view(self) -> dict[str, object]:
        """Settings safe to log: secrets shown only as set/unset."""
        view: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            view[f.name] = ("<set>" if value else "<unset>") if f.name in SECRET_SETTINGS else value
        if self.database_url:
            view["database_url"] = _without_password(self.database_url)
        return view


def _without_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
