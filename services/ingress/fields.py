"""Every field of a signed webhook checked before anything touches the database.

Twilio's signature proves who sent a request, not that its fields are sane: a NUL in a
CallSid, a SequenceNumber past 32 bits or a CallDuration of ``nan`` must be a 400 naming
the field and the rule — never a 500, a traceback or an event nobody can read. Messages
never echo the value (it may be huge, binary or a caller's number).
"""

from __future__ import annotations

import re

from multidict import MultiMapping

from . import call_status
from .callbacks import STREAM_EVENTS, StatusCallback, StreamCallback
from .recording_status import RECORDING_STATUSES, RecordingCallback
from .voice import VoiceRequest

Fields = MultiMapping[str]  # a form or a query string (both may repeat keys)

CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
STREAM_SID = re.compile(r"MZ[0-9a-fA-F]{32}")
RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
RECORDING_URL = re.compile(r"https?://[!-~]{1,500}")
ERROR_CODE = re.compile(r"[0-9]{1,6}")
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
STATUS = re.compile(r"[a-z][a-z-]{0,19}")
ANSWERED_BY = re.compile(r"[a-z][a-z_]{0,31}")
SEQUENCE = re.compile(r"[0-9]{1,10}")
DURATION = re.compile(r"[0-9]{1,7}")
CALL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
WITHHELD = frozenset({"anonymous", "restricted", "unknown", "private", "unavailable", "blocked"})
MAX_SEQUENCE = 2**31 - 1           # calls.last_sequence is a 32-bit integer
MAX_FIELDS = 200
MAX_FIELD_CHARS = 8192
MAX_STREAM_ERROR_CHARS = 500


class BadWebhook(ValueError):
    """A signed request whose fields break a rule; the message names the field and the rule."""


def check_all(form: Fields, query: Fields) -> None:
    """Rules for every field, also those ingress does not read: no NUL or control
    characters, bounded length and count."""
    if len(form) > MAX_FIELDS:
        raise BadWebhook(f"more than {MAX_FIELDS} fields")
    for source, fields in (("form", form), ("query", query)):
        for name, value in fields.items():
            if len(name) > 64 or CONTROL.search(name):
                raise BadWebhook(f"a {source} field name is not printable or too long")
            if len(value) > MAX_FIELD_CHARS:
                raise BadWebhook(f"{name} is longer than {MAX_FIELD_CHARS} characters")
            if CONTROL.search(value):
                raise BadWebhook(f"{name} contains control characters")


def _optional(form: Fields, name: str) -> str | None:
    values = form.getall(name, [])
    if len(values) > 1:
        raise BadWebhook(f"{name} given more than once")
    return (values[0] or None) if values else None  # an empty value counts as missing


def _required(form: Fields, name: str) -> str:
    value = _optional(form, name)
    if value is None:
        raise BadWebhook(f"missing {name}")
    return value


def _check(name: str, value: str, pattern: re.Pattern[str], rule: str) -> str:
    if not pattern.fullmatch(value):
        raise BadWebhook(f"{name} is not {rule}")
    return value


def _matching(form: Fields, name: str, pattern: re.Pattern[str], rule: str) -> str:
    return _check(name, _required(form, name), pattern, rule)


def _matching_if_given(form: Fields, name: str, pattern: re.Pattern[str], rule: str) -> str | None:
    value = _optional(form, name)
    return None if value is None else _check(name, value, pattern, rule)


def _caller(form: Fields) -> str:
    """``From``: an E.164 number, or a withheld caller ID (kept as ``anonymous``)."""
    value = _required(form, "From")
    if value.lower().lstrip("+") in WITHHELD or value == "+266696687":  # Twilio's "anonymous" number
        return "anonymous"
    if not PHONE.fullmatch(value):
        raise BadWebhook("From is not an E.164 phone number")
    return value


def _call_id(query: Fields) -> str | None:
    return _matching_if_given(query, "call_id", CALL_ID, "a call id")


def voice_request(form: Fields, query: Fields) -> VoiceRequest:
    check_all(form, query)
    sid = _matching(form, "CallSid", CALL_SID, "a Twilio call SID (CA + 32 hex digits)")
    from_number = _caller(form)
    to_number = _matching(form, "To", PHONE, "an E.164 phone number")
    status = _matching_if_given(form, "CallStatus", STATUS, "a call status")
    return VoiceRequest(sid=sid, from_number=from_number, to_number=to_number,
                        status=status if status in call_status.RANK else "",
                        answered_by=_matching_if_given(form, "AnsweredBy", ANSWERED_BY, "an AMD result"),
                        call_id=_call_id(query))


def status_callback(form: Fields, query: Fields) -> StatusCallback:
    check_all(form, query)
    sid = _matching(form, "CallSid", CALL_SID, "a Twilio call SID (CA + 32 hex digits)")
    status = _matching(form, "CallStatus", STATUS, "a call status")
    sequence = _matching_if_given(form, "SequenceNumber", SEQUENCE, "a whole number")
    if sequence is not None and int(sequence) > MAX_SEQUENCE:
        raise BadWebhook(f"SequenceNumber is beyond {MAX_SEQUENCE}")
    duration = _matching_if_given(form, "CallDuration", DURATION, "a whole number of seconds")
    return StatusCallback(sid=sid, status=status, sequence=None if sequence is None else int(sequence),
                          answered_by=_matching_if_given(form, "AnsweredBy", ANSWERED_BY, "an AMD result"),
                          duration_s=float(duration or 0), call_id=_call_id(query))


def stream_callback(form: Fields, query: Fields) -> StreamCallback:
    check_all(form, query)
    sid = _matching(form, "CallSid", CALL_SID, "a Twilio call SID (CA + 32 hex digits)")
    stream_event = _required(form, "StreamEvent")
    if stream_event not in STREAM_EVENTS:
        raise BadWebhook(f"StreamEvent is not one of {', '.join(STREAM_EVENTS)}")
    error = _optional(form, "StreamError") or ""
    if len(error) > MAX_STREAM_ERROR_CHARS:
        raise BadWebhook(f"StreamError is longer than {MAX_STREAM_ERROR_CHARS} characters")
    stream_sid = _matching_if_given(form, "StreamSid", STREAM_SID, "a Twilio stream SID (MZ + 32 hex digits)")
    return StreamCallback(sid=sid, stream_event=stream_event, stream_sid=stream_sid or "", error=error,
                          call_id=_call_id(query))


def recording_callback(form: Fields, query: Fields) -> RecordingCallback:
    check_all(form, query)
    sid = _matching(form, "CallSid", CALL_SID, "a Twilio call SID (CA + 32 hex digits)")
    recording_sid = _matching(form, "RecordingSid", RECORDING_SID, "a Twilio recording SID (RE + 32 hex digits)")
    status = _required(form, "RecordingStatus")
    if status not in RECORDING_STATUSES:
        raise BadWebhook(f"RecordingStatus is not one of {', '.join(RECORDING_STATUSES)}")
    duration = _optional(form, "RecordingDuration")
    if duration is not None and duration != "-1":  # -1: not known yet (in progress)
        _check("RecordingDuration", duration, DURATION, "a whole number of seconds")
    channels = _optional(form, "RecordingChannels") or "2"
    if channels not in ("1", "2"):
        raise BadWebhook("RecordingChannels is not 1 or 2")
    error_code = _matching_if_given(form, "ErrorCode", ERROR_CODE, "a numeric error code") or ""
    return RecordingCallback(
        sid=sid, recording_sid=recording_sid, status=status,
        duration_s=int(duration) if duration not in (None, "-1") else None, channels=int(channels),
        url=_matching_if_given(form, "RecordingUrl", RECORDING_URL, "an http(s) URL of at most 500 characters") or "",
        error_code="" if error_code == "0" else error_code, call_id=_call_id(query))
