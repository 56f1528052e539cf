"""Pure Live-protocol helpers: key lookup in either casing, base64, client-frame parsing,
setup interpretation and server-frame builders. No I/O.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..audio import VadConfig

CLIENT_KINDS = ("setup", "client_content", "realtime_input", "tool_response", "context_update")
REASON_INVALID = "Request contains an invalid argument."
REASON_BAD_KEY = "API key not valid. Please pass a valid API key."
REASON_DEADLINE = "Deadline expired before operation could complete."
REASON_INTERNAL = "Internal error encountered."
REASON_ENTITY_NOT_FOUND = "Requested entity was not found."
REASON_ABORTED = "The operation was aborted."

LIVE_MODELS = frozenset({
    "gemini-3.8-live", "gemini-3.8-live-extended-thinking", "gemini-3.1-flash-live-preview",
    "gemini-2.5-flash-native-audio-preview-12-2025", "gemini-2.5-flash-native-audio-preview-09-2025",
    "gemini-3.5-live-translate-preview",
})


class ProtocolError(Exception):
    """A client frame the real service would answer with a close frame."""

    def __init__(self, code: int = 1007, reason: str = REASON_INVALID):
        super().__init__(f"{code} {reason}")
        self.code, self.reason = code, reason


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` trying the snake_case and camelCase spellings of ``key``."""
    if not isinstance(obj, dict):
        return default
    for k in (key, camel(key), snake(key)):
        if k in obj:
            return obj[k]
    return default


def has(obj: Any, key: str) -> bool:
    return isinstance(obj, dict) and any(k in obj for k in (key, camel(key), snake(key)))


def b64decode(data: str) -> bytes:
    """Standard or URL-safe base64, with or without padding."""
    s = data.replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError() from exc


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_frame(raw: str | bytes) -> tuple[str, Any]:
    """Decode one client frame into ``(kind, body)``; exactly one known kind allowed."""
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError() from exc
    if not isinstance(msg, dict):
        raise ProtocolError()
    kinds = [k for k in CLIENT_KINDS if has(msg, k)]
    if len(kinds) != 1:
        raise ProtocolError()
    return kinds[0], get(msg, kinds[0])


def mime_rate(mime_type: str | None, default: int = 16000) -> int:
    """Sample rate from ``audio/pcm;rate=N``."""
    m = re.search(r"rate=(\d+)", mime_type or "")
    return int(m.group(1)) if m else default


def format_duration(seconds: float) -> str:
    """protobuf Duration JSON (``"50s"``, ``"0.600s"``)."""
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:.3f}s"


# ---------------------------------------------------------------- setup


@dataclass
class SetupConfig:
    """What the emulator needs from a ``setup`` message."""

    model: str
    response_modalities: list[str] = field(default_factory=lambda: ["AUDIO"])
    input_transcription: bool = False
    output_transcription: bool = False
    resumption: bool = False
    resume_handle: str | None = None
    auto_vad: bool = True
    vad: VadConfig = field(default_factory=VadConfig)
    activity_handling: str = "START_OF_ACTIVITY_INTERRUPTS"
    tools: dict[str, dict] = field(default_factory=dict)  # name -> behavior, description, parameters
    system_instruction: str = ""
    voice: str = ""
    language_code: str = ""
    raw: dict = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return self.model.split("/", 1)[1] if "/" in self.model else self.model


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = get(content, "parts") or []
    return " ".join(get(p, "text") or "" for p in parts if isinstance(p, dict)).strip()


def _vad_config(aad: dict) -> VadConfig:
    cfg = VadConfig()
    cfg.start_sensitivity = get(aad, "start_of_speech_sensitivity") or cfg.start_sensitivity
    cfg.end_sensitivity = get(aad, "end_of_speech_sensitivity") or cfg.end_sensitivity
    cfg.prefix_padding_ms = int(get(aad, "prefix_padding_ms", cfg.prefix_padding_ms))
    cfg.silence_duration_ms = int(get(aad, "silence_duration_ms", cfg.silence_duration_ms))
    return cfg


def _tools(setup: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for tool in get(setup, "tools") or []:
        for decl in get(tool, "function_declarations") or []:
            if not isinstance(decl, dict) or not get(decl, "name"):
                raise ProtocolError()
            params = get(decl, "parameters_json_schema") or get(decl, "parameters") or {}
            out[get(decl, "name")] = {"behavior": get(decl, "behavior") or "UNSPECIFIED",
                                      "description": get(decl, "description") or "", "parameters": params}
    return out


def _speech(gen: dict) -> tuple[str, str]:
    """(voice name, language code) of ``generation_config.speech_config``."""
    speech = get(gen, "speech_config") or {}
    voice = get(get(get(speech, "voice_config") or {}, "prebuilt_voice_config") or {}, "voice_name") or ""
    return voice, get(speech, "language_code") or ""


def _check_model_features(model_id: str, gen: dict, setup: dict) -> None:
    """gemini-3.8-live rejects thinking_config, affective dialog and proactive_audio=false."""
    if not model_id.startswith("gemini-3.8-live"):
        return
    proactivity = get(setup, "proactivity") or {}
    if has(gen, "thinking_config") or has(gen, "enable_affective_dialog") \
            or get(proactivity, "proactive_audio") is False:
        raise ProtocolError()


def parse_setup(setup: Any) -> SetupConfig:
    if not isinstance(setup, dict) or not isinstance(get(setup, "model"), str):
        raise ProtocolError()
    gen = get(setup, "generation_config") or {}
    rtc = get(setup, "realtime_input_config") or {}
    aad = get(rtc, "automatic_activity_detection") or {}
    resumption = get(setup, "session_resumption")
    cfg = SetupConfig(model=get(setup, "model"), raw=setup)
    _check_model_features(cfg.model_id, gen, setup)
    cfg.response_modalities = [m.upper() for m in get(gen, "response_modalities") or ["AUDIO"]]
    cfg.input_transcription = has(setup, "input_audio_transcription")
    cfg.output_transcription = has(setup, "output_audio_transcription")
    cfg.resumption = resumption is not None
    cfg.resume_handle = get(resumption, "handle") if isinstance(resumption, dict) else None
    cfg.auto_vad = not bool(get(aad, "disabled", False))
    cfg.vad = _vad_config(aad)
    cfg.activity_handling = get(rtc, "activity_handling") or cfg.activity_handling
    cfg.tools = _tools(setup)
    cfg.voice, cfg.language_code = _speech(gen)
    cfg.system_instruction = _text_of(get(setup, "system_instruction") or "")
    return cfg


# ---------------------------------------------------------------- client bodies


def content_text(client_content: dict) -> str:
    turns = get(client_content, "turns") or []
    if isinstance(turns, dict):
        turns = [turns]
    return " ".join(_text_of(t) for t in turns if get(t, "role", "user") == "user").strip()


def function_responses(tool_response: Any) -> list[dict]:
    """Normalised ``[{id, name, response, scheduling, will_continue}]``."""
    items = get(tool_response, "function_responses")
    if not isinstance(items, list):
        raise ProtocolError()
    out = []
    for fr in items:
        if not isinstance(fr, dict) or not get(fr, "id"):
            raise ProtocolError()
        response = get(fr, "response") or {}
        out.append({
            "id": get(fr, "id"), "name": get(fr, "name"), "response": response,
            "scheduling": get(fr, "scheduling") or get(response, "scheduling") or "WHEN_IDLE",
            "will_continue": bool(get(fr, "will_continue", False)),
        })
    return out


# ---------------------------------------------------------------- server frames


def setup_complete(session_id: str | None = None) -> dict:
    return {"setupComplete": {"sessionId": session_id} if session_id else {}}


def audio_chunk(pcm24k: bytes) -> dict:
    part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": b64encode(pcm24k)}}
    return {"serverContent": {"modelTurn": {"role": "model", "parts": [part]}}}


def text_chunk(text: str) -> dict:
    return {"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": text}]}}}


def output_transcription(text: str) -> dict:
    return {"serverContent": {"outputTranscription": {"text": text}}}


def input_transcription(text: str, finished: bool = True) -> dict:
    return {"serverContent": {"inputTranscription": {"text": text, "finished": finished}}}


def flag(name: str) -> dict:
    """``interrupted`` / ``generationComplete`` as a serverContent flag."""
    return {"serverContent": {name: True}}


def turn_complete(usage: dict | None = None) -> dict:
    msg: dict = {"serverContent": {"turnComplete": True}}
    if usage:
        msg["usageMetadata"] = usage
    return msg


def usage_metadata(in_audio_s: float, in_text_tokens: int, out_audio_s: float) -> dict:
    audio_in, audio_out = int(in_audio_s * 25), int(out_audio_s * 25)
    prompt = audio_in + in_text_tokens
    return {
        "promptTokenCount": prompt, "responseTokenCount": audio_out,
        "totalTokenCount": prompt + audio_out,
        "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": audio_in},
                                {"modality": "TEXT", "tokenCount": in_text_tokens}],
        "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": audio_out}],
    }


def tool_call(calls: list[dict]) -> dict:
    return {"toolCall": {"functionCalls": calls}}


def tool_call_cancellation(ids: list[str]) -> dict:
    return {"toolCallCancellation": {"ids": ids}}


def go_away(time_left_s: float) -> dict:
    return {"goAway": {"timeLeft": format_duration(time_left_s)}}


def resumption_update(handle: str, resumable: bool = True) -> dict:
    return {"sessionResumptionUpdate": {"newHandle": handle if resumable else "", "resumable": resumable}}


def truncate_reason(reason: str) -> str:
    """WebSocket close reasons are limited to 123 bytes."""
    data = reason.encode()[:123]
    return data.decode(errors="ignore")


def model_not_found_reason(model: str, version: str) -> str:
    return truncate_reason(
        f"{model} is not found for API version {version}, or is not supported for "
        "bidiGenerateContent. Call ListModels to see the list of available models and their "
        "supported methods.")


SERVER_KINDS = ("setupComplete", "serverContent", "toolCall", "toolCallCancellation", "goAway",
                "sessionResumptionUpdate", "voiceActivityDetectionSignal", "voiceActivity")
MAX_FRAME_BYTES = 1 << 20


def check_server_frame(msg: dict) -> list[str]:
    """Problems that would break the real SDK (empty list = fine). Used by the tests on
    every frame the emulator sends: exactly one known kind, no ``error``, < 1 MiB."""
    problems = []
    kinds = [k for k in SERVER_KINDS if k in msg]
    if len(kinds) != 1:
        problems.append(f"expected exactly one of {SERVER_KINDS}, got keys {sorted(msg)}")
    if "error" in msg:
        problems.append("'error' frames crash the SDK; errors must be close frames")
    if set(msg) - set(SERVER_KINDS) - {"usageMetadata"}:
        problems.append(f"unexpected top-level keys {sorted(set(msg) - set(SERVER_KINDS))}")
    if len(json.dumps(msg)) >= MAX_FRAME_BYTES:
        problems.append("frame exceeds the SDK's 1 MiB max_size")
    return problems
