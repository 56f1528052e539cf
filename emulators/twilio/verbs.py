"""Execution of individual TwiML verbs for a ``Call``."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urljoin

from .. import audio
from .twiml import TwimlSource, Verb


class VerbTimings(Protocol):
    @property
    def verb_time_scale(self) -> float: ...
    @property
    def dial_duration_s(self) -> float: ...


class Call(Protocol):
    """What a verb does to its call (``call.Call``, which imports this module)."""

    source: TwimlSource
    _final_status: str
    _hangup: bool

    @property
    def emu(self) -> VerbTimings: ...
    def log(self, kind: str, **detail: Any) -> None: ...
    async def interruptible_sleep(self, seconds: float) -> None: ...
    async def run_stream(self, verb: Verb) -> str: ...


def _source(call: "Call", url: str, method: str = "POST") -> "TwimlSource":
    base = call.source.url or ""
    return TwimlSource(url=urljoin(base, url), method=(method or "POST").upper())


async def _say(call: "Call", verb: Verb):
    loops = max(1, int(verb.attrs.get("loop", "1") or 1))
    seconds = audio.speech_duration(verb.text) * loops * call.emu.verb_time_scale
    call.log("say", text=verb.text, voice=verb.attrs.get("voice"), seconds=round(seconds, 3))
    await call.interruptible_sleep(seconds)


async def _play(call: "Call", verb: Verb):
    call.log("play", url=verb.text)
    await call.interruptible_sleep(1.0 * call.emu.verb_time_scale)


async def _pause(call: "Call", verb: Verb):
    seconds = float(verb.attrs.get("length", "1")) * call.emu.verb_time_scale
    call.log("pause", seconds=seconds)
    await call.interruptible_sleep(seconds)


async def _hangup(call: "Call", verb: Verb):
    call.log("hangup", by="twiml")
    return "end"


async def _reject(call: "Call", verb: Verb):
    reason = verb.attrs.get("reason", "rejected")
    call.log("reject", reason=reason)
    call._final_status = "busy" if reason == "busy" else "no-answer"
    return "end"


async def _redirect(call: "Call", verb: Verb):
    return _source(call, verb.text, verb.attrs.get("method", "POST"))


async def _dial(call: "Call", verb: Verb):
    """``dial.run_dial``: ring, whisper, bridge or not, then the action with ``DialCallStatus``."""
    from .dial import run_dial  # dial.py uses this module's Call protocol
    return await run_dial(call, verb)


async def _connect(call: "Call", verb: Verb):
    reason = await call.run_stream(verb)
    if reason in ("hangup",):
        call.log("hangup", by="callee")
        call._hangup = True
        return "end"
    if reason == "stopped" and call._hangup:
        return "end"
    return None  # server closed the socket (or error): continue after </Connect>


async def _unsupported(call: "Call", verb: Verb):
    call.log("unsupported_verb", verb=verb.name)


VERBS: dict[str, Callable[["Call", Verb], Awaitable]] = {
    "Say": _say, "Play": _play, "Pause": _pause, "Hangup": _hangup, "Reject": _reject,
    "Redirect": _redirect, "Dial": _dial, "Connect": _connect,
}


async def run_verb(call: "Call", verb: Verb):
    return await VERBS.get(verb.name, _unsupported)(call, verb)
