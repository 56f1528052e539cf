"""The google-genai client and each session's ``LiveConnectConfig`` (see specs/gemini-live.md)."""

from __future__ import annotations


from dataclasses import dataclass

from google import genai
from google.genai import types

from services.common import gemini
from services.common.settings import Settings

from . import personas, tool_schema
from .call_context import CallContext

# Models whose function calling is asynchronous (NON_BLOCKING + scheduling), spec §5.4/§8.
_NON_BLOCKING_PREFIXES = ("gemini-3.8-live", "gemini-2.5-flash-native-audio")


def supports_non_blocking(model: str, override: str = "auto") -> bool:
    if override in ("on", "true", "1"):
        return True
    if override in ("off", "false", "0"):
        return False
    name = model.removeprefix("models/")
    return name.startswith(_NON_BLOCKING_PREFIXES)


def make_client(settings: Settings) -> genai.Client:
    """One client per process. Keepalive tolerates Gemini's slow pongs (8-30 s measured):
    websockets' default 20 s ping timeout would kill healthy sessions."""
    return gemini.make_client(
        settings, api_version=settings.gemini_live_api_version,
        websocket_args={
            "ping_interval": settings.gemini_ping_interval_s or None,
            "ping_timeout": settings.gemini_ping_timeout_s or None,
            "compression": None,  # base64 PCM barely compresses; deflate per frame costs CPU
        })


@dataclass(frozen=True)
class LiveOptions:
    model: str
    voice: str
    inbound_rate: int = 16_000
    non_blocking: bool = True
    compression_trigger_tokens: int = 25_600
    compression_target_tokens: int = 12_800
    vad_silence_ms: int = 0
    language_code: str = ""
    inbound_batch_ms: int = 20   # caller audio per realtime_input message (20 = every frame)

    @classmethod
    def from_settings(cls, s: Settings) -> "LiveOptions":
        return cls(model=s.gemini_live_model, voice=s.gemini_voice, inbound_rate=s.bridge_inbound_rate,
                   non_blocking=supports_non_blocking(s.gemini_live_model, s.gemini_non_blocking_tools),
                   compression_trigger_tokens=s.gemini_compression_trigger_tokens,
                   compression_target_tokens=s.gemini_compression_target_tokens,
                   vad_silence_ms=s.gemini_vad_silence_ms, language_code=s.gemini_language_code,
                   inbound_batch_ms=inbound_batch_ms(s.bridge_inbound_batch_ms))


def inbound_batch_ms(value: int) -> int:
    """``BRIDGE_INBOUND_BATCH_MS``: whole 20 ms frames, 20..100 ms."""
    if value % 20 or not 20 <= value <= 100:
        raise ValueError(f"BRIDGE_INBOUND_BATCH_MS must be a multiple of 20 between 20 and 100, not {value}")
    return value


def live_config(opts: LiveOptions, ctx: CallContext, handle: str | None = None,
                resume_note: str = "") -> types.LiveConnectConfig:
    speech = types.SpeechConfig(voice_config=types.VoiceConfig(
        prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=opts.voice)),
        language_code=opts.language_code or None)
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        system_instruction=personas.system_prompt(ctx) + resume_note,
        tools=[types.Tool(function_declarations=tool_schema.declarations(ctx, opts.non_blocking))],
        speech_config=speech,
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        session_resumption=types.SessionResumptionConfig(handle=handle),
    )
    if opts.compression_trigger_tokens > 0:
        config.context_window_compression = types.ContextWindowCompressionConfig(
            trigger_tokens=opts.compression_trigger_tokens,
            sliding_window=types.SlidingWindow(target_tokens=opts.compression_target_tokens or None))
    if opts.vad_silence_ms > 0:
        config.realtime_input_config = types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(silence_duration_ms=opts.vad_silence_ms))
    return config
