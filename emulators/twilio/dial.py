"""``<Dial>`` as Twilio runs it, for the warm hand-off.

The dialled number's callee script (``emu.set_callee(number, {"dialled": ...})``) decides
whether it answers: ``answer`` (default), ``no-answer`` (rings until the Dial's ``timeout``),
``busy`` or ``failed``. When it answers and its ``<Number url>`` is set, that URL is fetched
(signed, with the child leg's ``CallSid`` and the caller's ``ParentCallSid``) and its TwiML is
played to the callee only (timeline ``dial_whisper``) before the caller is bridged
(``dial_bridged``, for ``dial_duration_s``). Then the Dial's ``action`` gets
``DialCallStatus``/``DialCallSid``/``DialCallDuration`` with the call's parameters and its
answer continues the call; without an action the call goes on after ``</Dial>``.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from .. import audio
from .twiml import TwimlError, TwimlSource, Verb, parse_twiml
from .webhooks import new_sid, send_webhook

DEFAULT_TIMEOUT_S = 30.0
NOT_ANSWERED = ("no-answer", "busy", "failed")


async def run_dial(call: Any, verb: Verb) -> TwimlSource | str | None:
    number = verb.numbers[0] if verb.numbers else ""
    target = verb.number_attrs[0] if verb.number_attrs else {}
    call.log("dial", numbers=list(verb.numbers), caller_id=verb.attrs.get("callerId"))
    child_sid = new_sid("CA")
    status, duration = await _ring_and_talk(call, verb, number, target, child_sid)
    call.log("dial_result", number=number, status=status)
    action = verb.attrs.get("action")
    if not action:
        return None
    params = {**call._params(), "DialCallStatus": status, "DialCallSid": child_sid,
              "DialCallDuration": str(duration)}
    url = urljoin(call.source.url or "", action)
    document = await _fetch(call, url, params, verb.attrs.get("method", "POST"), kind="dial_action")
    if document is None:
        return "end"
    return TwimlSource(url=url, twiml=document)


async def _ring_and_talk(call: Any, verb: Verb, number: str, target: dict[str, str],
                         child_sid: str) -> tuple[str, int]:
    """The dialled leg's ``DialCallStatus`` and how long it was bridged (whole seconds)."""
    scale = call.emu.verb_time_scale
    dialled = call.emu.callee_for(number).dialled
    timeout_s = float(verb.attrs.get("timeout", DEFAULT_TIMEOUT_S))
    if dialled in NOT_ANSWERED:
        await call.interruptible_sleep(timeout_s * scale if dialled == "no-answer" else 0.05)
        return dialled, 0
    await call.interruptible_sleep(min(call.emu.ring_s, timeout_s) * scale)
    if target.get("url") and not await _whisper(call, target, number, child_sid):
        return "failed", 0
    call.log("dial_bridged", number=number)
    await call.interruptible_sleep(call.emu.dial_duration_s)
    return "completed", max(1, round(call.emu.dial_duration_s))


async def _whisper(call: Any, target: dict[str, str], number: str, child_sid: str) -> bool:
    """Play the ``<Number url>`` TwiML to the callee; False when it cannot be fetched or run."""
    params = {"CallSid": child_sid, "ParentCallSid": call.sid, "AccountSid": call.account_sid,
              "From": call.from_, "To": number, "CallStatus": "in-progress", "Direction": "outbound-dial",
              "ApiVersion": "2010-04-01"}
    url = urljoin(call.source.url or "", target["url"])
    document = await _fetch(call, url, params, target.get("method", "POST"), kind="dial_whisper_fetch")
    if document is None:
        return False
    try:
        verbs = parse_twiml(document)
    except TwimlError as err:
        call._app_error(err.code, str(err))
        return False
    for whisper in verbs:
        if whisper.name == "Say":
            call.log("dial_whisper", number=number, text=whisper.text)
            await call.interruptible_sleep(audio.speech_duration(whisper.text) * call.emu.verb_time_scale)
        elif whisper.name == "Hangup":
            call.log("dial_whisper_hangup", number=number)
            return False
    return True


async def _fetch(call: Any, url: str, params: dict[str, str], method: str, kind: str) -> str | None:
    try:
        result = await send_webhook(call.emu.http_session, call.emu.signer, url, params, method,
                                    call.emu.webhook_timeout_s)
    except Exception as err:  # noqa: BLE001 - any transport failure is error 11200
        call._app_error(11200, f"HTTP retrieval failure: {err!r}")
        return None
    call.callbacks.append({"kind": kind, "url": url, "params": params, "status": result.status})
    call.log("webhook", url=url, status=result.status, purpose=kind)
    if result.status >= 400:
        call._app_error(11200, f"HTTP retrieval failure: status {result.status}")
        return None
    return result.body
