"""All configuration, from the environment. The README's configuration table mirrors this."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

DEFAULT_PORTS = {"ingress": 8080, "bridge": 8081, "tools": 8082, "notifier": 8083, "outreach": 8084}

# Values of these never reach logs (see services.common.logs).
SECRET_SETTINGS = ("gemini_api_key", "twilio_auth_token", "dashboard_token", "dashboard_tokens", "media_token_secret")


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
    # tools service
    embedding_provider: str = ""             # local | gemini; "" = gemini when GEMINI_API_KEY is set, else local
    gemini_embedding_model: str = "gemini-embedding-001"
    gemini_embedding_dims: int = 768
    kb_embed_on_start: bool = True
    incident_dedupe_window_s: float = 7200.0
    vendor_code_early_s: float = 3600.0      # a booked vendor may get the code this long before the start
    outbox_poll_interval_s: float = 1.0
    tools_max_in_flight: int = 64
    # ingress
    media_stream_url: str = ""               # wss://…/twilio/media; "" = PUBLIC_BASE_URL with a ws(s) scheme
    media_token_ttl_s: float = 120.0
    overflow_mode: str = "say"               # say (message + hang up) | dial (message + <Dial> the fallback)
    overflow_dial_number: str = ""
    overflow_message: str = ("Thanks for calling. All of our agents are busy right now. "
                             "Please call again in a few minutes.")
    bridge_capacity_ttl_s: float = 15.0      # a bridge report older than this is ignored
    admission_reservation_ttl_s: float = 30.0  # an admitted call counts as reserved until streaming, at most this
    outbound_machine_detection: str = "Enable"  # Enable | DetectMessageEnd | "" (off)
    dial_ring_timeout_s: int = 30
    dialer_consumer: str = "ingress-dialer"  # durable JetStream consumer on calls.dial
    # notifier (SSE + dashboard)
    dashboard_tokens: str = field(default="", repr=False)  # "tokenA=p1,p2;tokenB=p3": per-property tokens
    dashboard_session_ttl_s: float = 12 * 3600.0
    notifier_stream: str = "EVENTS"          # JetStream stream the notifier reads
    notifier_subject_prefix: str = "events"  # events are on <prefix>.<property_id>.<type>
    sse_heartbeat_s: float = 15.0
    sse_retry_ms: int = 3000
    sse_client_queue: int = 256              # frames buffered per client before it is dropped
    sse_send_timeout_s: float = 10.0
    sse_max_clients: int = 5000
    # bridge
    bridge_inbound_rate: int = 16000         # 16000 (FIR upsampled) | 8000 (pass-through, Gemini resamples)
    gemini_live_api_version: str = ""        # "" = GEMINI_API_VERSION; e.g. v1beta for Live only
    gemini_ping_interval_s: float = 20.0     # websockets keepalive; 0 = off
    gemini_ping_timeout_s: float = 60.0      # Gemini pongs take 8-30 s; the 20 s default kills sessions
    gemini_compression_trigger_tokens: int = 25600  # context-window compression; 0 = off
    gemini_compression_target_tokens: int = 12800
    gemini_vad_silence_ms: int = 0           # end-of-speech silence; 0 = Gemini's default
    gemini_non_blocking_tools: str = "auto"  # auto (by model) | on | off
    gemini_tool_scheduling: str = "WHEN_IDLE"  # WHEN_IDLE | INTERRUPT | SILENT (NON_BLOCKING models)
    gemini_reconnect_attempts: int = 4
    bridge_tool_timeout_s: float = 8.0
    playback_lead_ms: float = 300.0          # most agent audio Twilio may hold ahead of playback
    playback_jitter_ms: float = 100.0        # start-of-turn buffer against Gemini's bursts
    fallback_transfer_number: str = ""       # a human to transfer to (transfer_to_human, Gemini failure)
    # outreach (DBOS workflows)
    gemini_flash_model: str = "gemini-3.8-flash"  # quote analysis (structured JSON output)
    outreach_vendors: int = 2                # vendors phoned per incident (best rated first)
    outreach_call_timeout_s: float = 900.0   # how long a call's result is awaited; then "no answer"
    outreach_result_grace_s: float = 10.0    # after a call ended, how long a late quote/decision is awaited
    outreach_analysis_timeout_s: float = 20.0  # one Gemini quote-analysis request
    outreach_executor_id: str = "outreach-0"  # DBOS executor id: stable per replica (recovery is per executor)
    outreach_app_version: str = "outreach-v1"  # DBOS application version (pinned; bump only with a migration plan)
    outreach_dbos_database_url: str = ""     # DBOS system database; "" = <DATABASE_URL's database>_dbos
    outreach_trigger_consumer: str = "outreach-triggers"  # durable consumer on events.*.incident.updated
    outreach_results_consumer: str = "outreach-results"   # durable consumer on call.ended/quote.received/decision.made

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
            embedding_provider=_env("EMBEDDING_PROVIDER").lower(),
            gemini_embedding_model=_env("GEMINI_EMBEDDING_MODEL", "gemini-embedding-001"),
            gemini_embedding_dims=_env_int("GEMINI_EMBEDDING_DIMS", 768),
            kb_embed_on_start=_env("KB_EMBED_ON_START", "1").lower() not in ("0", "false", "no"),
            incident_dedupe_window_s=_env_float("INCIDENT_DEDUPE_WINDOW_S", 7200.0),
            vendor_code_early_s=_env_float("VENDOR_CODE_EARLY_S", 3600.0),
            outbox_poll_interval_s=_env_float("OUTBOX_POLL_INTERVAL_S", 1.0),
            tools_max_in_flight=_env_int("TOOLS_MAX_IN_FLIGHT", 64),
            media_stream_url=_env("MEDIA_STREAM_URL"),
            media_token_ttl_s=_env_float("MEDIA_TOKEN_TTL_S", 120.0),
            overflow_mode=_env("OVERFLOW_MODE", "say").lower(),
            overflow_dial_number=_env("OVERFLOW_DIAL_NUMBER"),
            overflow_message=_env("OVERFLOW_MESSAGE") or Settings.overflow_message,
            bridge_capacity_ttl_s=_env_float("BRIDGE_CAPACITY_TTL_S", 15.0),
            admission_reservation_ttl_s=_env_float("ADMISSION_RESERVATION_TTL_S", 30.0),
            outbound_machine_detection=_env("OUTBOUND_MACHINE_DETECTION", "Enable"),
            dial_ring_timeout_s=_env_int("DIAL_RING_TIMEOUT_S", 30),
            dialer_consumer=_env("DIALER_CONSUMER", "ingress-dialer"),
            dashboard_tokens=_env("DASHBOARD_TOKENS"),
            dashboard_session_ttl_s=_env_float("DASHBOARD_SESSION_TTL_S", 12 * 3600.0),
            notifier_stream=_env("NOTIFIER_STREAM", "EVENTS"),
            notifier_subject_prefix=_env("NOTIFIER_SUBJECT_PREFIX", "events"),
            sse_heartbeat_s=_env_float("SSE_HEARTBEAT_S", 15.0),
            sse_retry_ms=_env_int("SSE_RETRY_MS", 3000),
            sse_client_queue=_env_int("SSE_CLIENT_QUEUE", 256),
            sse_send_timeout_s=_env_float("SSE_SEND_TIMEOUT_S", 10.0),
            sse_max_clients=_env_int("SSE_MAX_CLIENTS", 5000),
            bridge_inbound_rate=_env_int("BRIDGE_INBOUND_RATE", 16000),
            gemini_live_api_version=_env("GEMINI_LIVE_API_VERSION"),
            gemini_ping_interval_s=_env_float("GEMINI_PING_INTERVAL_S", 20.0),
            gemini_ping_timeout_s=_env_float("GEMINI_PING_TIMEOUT_S", 60.0),
            gemini_compression_trigger_tokens=_env_int("GEMINI_COMPRESSION_TRIGGER_TOKENS", 25600),
            gemini_compression_target_tokens=_env_int("GEMINI_COMPRESSION_TARGET_TOKENS", 12800),
            gemini_vad_silence_ms=_env_int("GEMINI_VAD_SILENCE_MS", 0),
            gemini_non_blocking_tools=_env("GEMINI_NON_BLOCKING_TOOLS", "auto").lower(),
            gemini_tool_scheduling=_env("GEMINI_TOOL_SCHEDULING", "WHEN_IDLE").upper(),
            gemini_reconnect_attempts=_env_int("GEMINI_RECONNECT_ATTEMPTS", 4),
            bridge_tool_timeout_s=_env_float("BRIDGE_TOOL_TIMEOUT_S", 8.0),
            playback_lead_ms=_env_float("PLAYBACK_LEAD_MS", 300.0),
            playback_jitter_ms=_env_float("PLAYBACK_JITTER_MS", 100.0),
            fallback_transfer_number=_env("FALLBACK_TRANSFER_NUMBER"),
            gemini_flash_model=_env("GEMINI_FLASH_MODEL", "gemini-3.8-flash"),
            outreach_vendors=_env_int("OUTREACH_VENDORS", 2),
            outreach_call_timeout_s=_env_float("OUTREACH_CALL_TIMEOUT_S", 900.0),
            outreach_result_grace_s=_env_float("OUTREACH_RESULT_GRACE_S", 10.0),
            outreach_analysis_timeout_s=_env_float("OUTREACH_ANALYSIS_TIMEOUT_S", 20.0),
            outreach_executor_id=_env("OUTREACH_EXECUTOR_ID", "outreach-0"),
            outreach_app_version=_env("OUTREACH_APP_VERSION", "outreach-v1"),
            outreach_dbos_database_url=_env("OUTREACH_DBOS_DATABASE_URL"),
            outreach_trigger_consumer=_env("OUTREACH_TRIGGER_CONSUMER", "outreach-triggers"),
            outreach_results_consumer=_env("OUTREACH_RESULTS_CONSUMER", "outreach-results"),
        )

    def secret_values(self) -> list[str]:
        values = [getattr(self, name) for name in SECRET_SETTINGS if getattr(self, name)]
        # each per-property dashboard token on its own, so a single one is scrubbed too
        values += [entry.rpartition("=")[0].strip() for entry in self.dashboard_tokens.split(";") if "=" in entry]
        return [v for v in values if v]

    def public_view(self) -> dict[str, object]:
        """Settings safe to log: secrets shown only as set/unset."""
        view: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            view[f.name] = ("<set>" if value else "<unset>") if f.name in SECRET_SETTINGS else value
        for name in ("database_url", "outreach_dbos_database_url"):
            if getattr(self, name):
                view[name] = _without_password(getattr(self, name))
        return view


def _without_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
