"""All configuration, from the environment. The README's configuration table mirrors this."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields
from typing import Any, cast

DEFAULT_PORTS = {"ingress": 8080, "bridge": 8081, "tools": 8082, "notifier": 8083, "outreach": 8084}

# Values of these never reach logs (see services.common.logs).
SECRET_SETTINGS = ("gemini_api_key", "twilio_auth_token", "dashboard_token", "dashboard_tokens", "media_token_secret",
                   "report_webhook_secret")


_NOT_FROM_ENV = {"service", "http_port"}
_NORMALISE = {"public_base_url": lambda v: v.rstrip("/"), "log_level": str.upper, "event_loop": str.lower,
              "embedding_provider": str.lower, "overflow_mode": str.lower,
              "gemini_non_blocking_tools": str.lower, "gemini_tool_scheduling": str.upper}
_EMPTY_MEANS_DEFAULT = {"overflow_message"}  # other strings: set-but-empty means "off"/"none"


def _read_number(name: str, kind: Callable[[str], float], default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r}") from None


def _read(f: Field[Any]) -> Any:
    name = f.name.upper()
    if f.type in ("int", "float"):
        return _read_number(name, int if f.type == "int" else float, cast(float, f.default))
    raw = os.environ.get(name)
    if raw is None or (raw == "" and f.name in _EMPTY_MEANS_DEFAULT):
        return f.default
    if f.type == "bool":
        return raw.strip().lower() not in ("0", "false", "no", "off", "")
    return _NORMALISE.get(f.name, str)(raw)


def environment_variables() -> dict[str, object]:
    """Every variable the services read, with its default (the README table mirrors this)."""
    names: dict[str, object] = {f.name.upper(): f.default for f in fields(Settings) if f.name not in _NOT_FROM_ENV}
    names["HTTP_PORT"] = 0
    names.update({f"{service.upper()}_PORT": port for service, port in DEFAULT_PORTS.items()})
    return names


@dataclass(frozen=True)
class Settings:
    service: str
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"
    event_loop: str = "uvloop"               # uvloop (C loop and TLS; asyncio's if not installed) | asyncio
    nats_url: str = "nats://127.0.0.1:4222"
    nats_credentials_dir: str = ""           # holds <service>.nk (NKey seed); "" = anonymous (refused by a secured bus)
    nats_ca_file: str = ""                   # CA of a tls:// NATS server, optional
    nats_stream_replicas: int = 1            # JetStream copies of EVENTS/CALLS (3 on a cluster); never lowered
    database_url: str = ""
    db_statement_cache_size: int = 100       # 0 behind a transaction pooler (PgBouncer, Supavisor)
    public_base_url: str = "http://127.0.0.1:8080"
    gemini_api_key: str = field(default="", repr=False)
    gemini_base_url: str = ""
    gemini_api_version: str = "v1"
    gemini_live_model: str = "gemini-3.8-live"
    gemini_voice: str = "Charon"
    gemini_language_code: str = ""           # BCP-47 speech language; "" = the model picks (native-audio models)
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
    # call records (tools service): end-of-call reports, cost, report webhook
    records_consumer: str = "tools-call-records"  # durable consumer on the call events (turns, outcome, end)
    report_settle_s: float = 2.0             # after a call's end, wait this long for its last events
    report_outcome_wait_s: float = 20.0      # a call ended without the bridge's CallOutcome is reported after this
    report_timeout_s: float = 20.0           # one Gemini report request (then the plain fallback)
    report_webhook_url: str = ""             # POST each report here (signed); "" = off
    report_webhook_secret: str = field(default="", repr=False)  # HMAC-SHA256 key of the webhook signature
    report_webhook_max_attempts: int = 8     # then the delivery is given up (left in call_report_deliveries)
    report_webhook_backoff_s: float = 2.0    # first retry delay; doubles per attempt (max 10 min)
    price_currency: str = "USD"
    price_inbound_per_min: float = 0.0085    # Twilio, per started minute of an inbound call
    price_outbound_per_min: float = 0.014    # Twilio, per started minute of an outbound call
    price_gemini_input_audio_per_m: float = 3.0    # Gemini Live, per 1M input audio tokens
    price_gemini_input_text_per_m: float = 0.5
    price_gemini_output_audio_per_m: float = 12.0
    price_gemini_output_text_per_m: float = 2.0
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
    stream_end_consumer: str = "ingress-stream-end"  # durable consumer on call.outcome / call.stream.changed
    stream_end_grace_s: float = 15.0         # after the media stream ended, how long a status callback may take
    dial_allowed_prefixes: str = "+1"        # comma-separated E.164 prefixes outbound calls may go to
    dial_blocked_prefixes: str = "+1900,+1976,+449,+4487,+4470,+44118,+979,+870,+881,+882,+883"  # premium-rate
    webhook_body_timeout_s: float = 10.0     # a webhook body must arrive within this (slow senders get 408)
    webhook_max_unverified_per_source: int = 32  # requests per peer address still sending their body
    recording_retention_days: int = 30       # recordings older than this are deleted at Twilio and here; 0 = kept
    recording_sweep_interval_s: float = 3600.0  # how often ingress looks for expired recordings
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
    media_start_timeout_s: float = 5.0       # an upgraded media stream must send a valid start within this
    media_max_pending: int = 100             # upgraded streams waiting for start; the oldest is closed beyond
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
    playback_jitter_ms: float = 0.0          # start-of-turn buffer's floor; it grows only on measured underruns
    playback_jitter_max_ms: float = 100.0    # ceiling of the adaptive start-of-turn buffer (the old fixed size)
    playback_mark_ms: float = 200.0          # agent audio between marks; 0 = a mark after every batch
    bridge_inbound_batch_ms: int = 20        # caller audio per Gemini message: 20 (every frame)..100, ×20
    fallback_transfer_number: str = ""       # a human to transfer to (transfer_to_human, Gemini failure)
    max_call_s: float = 780.0                # every call ends by then; below DRAIN_TIMEOUT_S so a drain never cuts one
    call_wrap_up_s: float = 45.0             # this long before MAX_CALL_S the agent is asked to wrap up
    # outreach (DBOS workflows)
    gemini_flash_model: str = "gemini-3.8-flash"  # quote analysis (structured JSON output)
    outreach_vendors: int = 2                # vendors phoned at once per incident (best rated first)
    outreach_landlord_attempts: int = 2      # calls to the owner without a decision before escalating
    outreach_retry_delay_s: float = 600.0    # wait before calling an unanswered owner (or a vendor's machine) again
    outreach_quiet_hours: str = "21:00-08:00"  # no outbound calls then (property-local; per property in the DB); "off"
    outreach_max_vendors: int = 4            # vendors tried in all (no answer/decline -> next), then escalate
    outreach_callback_delay_s: float = 300.0  # a promised call-back is dialled this long after the promise
    outreach_callback_retry_delay_s: float = 900.0  # an unanswered call-back is tried once more after this
    outreach_call_timeout_s: float = 900.0   # how long a call's result is awaited; then "no answer"
    outreach_result_grace_s: float = 10.0    # after a call ended, how long a late quote/decision is awaited
    outreach_analysis_timeout_s: float = 20.0  # one Gemini quote-analysis request
    outreach_executor_id: str = "outreach-0"  # DBOS executor id: stable per replica (recovery is per executor)
    outreach_app_version: str = "outreach-v4"  # DBOS application version (pinned; bump only with a migration plan)
    outreach_dbos_database_url: str = ""     # DBOS system database; "" = <DATABASE_URL's database>_dbos
    outreach_trigger_consumer: str = "outreach-triggers"  # durable consumer on events.*.incident.{created,updated}
    outreach_results_consumer: str = "outreach-results"   # durable consumer on call.ended/quote.received/decision.made

    @classmethod
    def from_env(cls, service: str) -> "Settings":
        """Every field from the variable of its name in upper case (``nats_url`` <- NATS_URL);
        the listen port from ``<SERVICE>_PORT``, else HTTP_PORT, else the service's default."""
        values = {f.name: _read(f) for f in fields(cls) if f.name not in _NOT_FROM_ENV}
        port = _read_number("HTTP_PORT", int, DEFAULT_PORTS.get(service, 0))
        port = _read_number(f"{service.upper()}_PORT", int, port)
        return cls(service=service, http_port=int(port), **values)

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
